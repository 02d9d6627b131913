// Finite-difference checks (float64 references) of the autograd primitives that mix elements: matmul
// in every layout (2-D, batched 3-D, 3-D against a shared 2-D weight), sum/mean over all elements and
// over each axis, log-softmax, gather, concat, narrow (slice), reshape, transpose and the row-vector
// bias add. Sizes include 1, 7 and 33 so every GEMM edge tile and reduction tail is reached.
using SharpLM.Tensors.Autograd;
using static SharpLM.Tensors.Tests.Autograd.GradCheck;

namespace SharpLM.Tensors.Tests.Autograd;

public sealed class StructuralGradTests
{
    /// <summary>op(A)·op(B) in double for one batch slice; a is (M, K) or (K, M), b is (K, N) or (N, K).</summary>
    private static void MatMulRef(double[] a, int ao, double[] b, int bo, double[] c, int co, int m, int n, int k, bool ta, bool tb)
    {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++)
                    s += (ta ? a[ao + p * m + i] : a[ao + i * k + p]) * (tb ? b[bo + j * k + p] : b[bo + p * n + j]);
                c[co + i * n + j] = s;
            }
    }

    public static TheoryData<int, int, int, bool, bool> MatMulCases()
    {
        var d = new TheoryData<int, int, int, bool, bool>();
        foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 5, 3), (33, 17, 9), (3, 40, 33) })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    d.Add(m, n, k, ta, tb);
        return d;
    }

    [Theory, MemberData(nameof(MatMulCases))]
    public void MatMul2D(int m, int n, int k, bool ta, bool tb)
    {
        int[] sa = ta ? [k, m] : [m, k], sb = tb ? [n, k] : [k, n];
        Check($"matmul {m}x{n}x{k} ta={ta} tb={tb}", [In(m * 100 + k, sa), In(n * 100 + k, sb)], v => Ops.MatMul(v[0], v[1], ta, tb),
            x => { var c = new double[m * n]; MatMulRef(x[0], 0, x[1], 0, c, 0, m, n, k, ta, tb); return c; }, atol: 2e-5, fwdAtol: 2e-5);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void MatMulBatched(bool ta, bool tb)
    {
        const int B = 3, m = 5, n = 7, k = 4;
        int[] sa = ta ? [B, k, m] : [B, m, k], sb = tb ? [B, n, k] : [B, k, n];
        Check($"bmm ta={ta} tb={tb}", [In(31, sa), In(32, sb)], v => Ops.MatMul(v[0], v[1], ta, tb),
            x => { var c = new double[B * m * n]; for (int i = 0; i < B; i++) MatMulRef(x[0], i * m * k, x[1], i * k * n, c, i * m * n, m, n, k, ta, tb); return c; });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MatMulSharedWeight(bool tb)
    {
        // (B, T, C)·W: the linear layer, W shared by every batch row (its gradient sums over B·T).
        const int B = 2, T = 7, C = 5, N = 3;
        Check($"linear tb={tb}", [In(33, B, T, C), In(34, tb ? [N, C] : [C, N])], v => Ops.MatMul(v[0], v[1], transB: tb),
            x => { var c = new double[B * T * N]; MatMulRef(x[0], 0, x[1], 0, c, 0, B * T, N, C, false, tb); return c; });
    }

    /// <summary>Reference reduction over <paramref name="axis"/> of a row-major tensor (all axes when null).</summary>
    private static double[] ReduceRef(double[] x, int[] shape, int? axis, bool mean)
    {
        if (axis is null) { double s = 0; foreach (double v in x) s += v; return [mean ? s / x.Length : s]; }
        int ax = axis.Value < 0 ? axis.Value + shape.Length : axis.Value;
        int outer = 1, inner = 1, d = shape[ax];
        for (int i = 0; i < ax; i++) outer *= shape[i];
        for (int i = ax + 1; i < shape.Length; i++) inner *= shape[i];
        var y = new double[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double s = 0;
                for (int j = 0; j < d; j++) s += x[(o * d + j) * inner + i];
                y[o * inner + i] = mean ? s / d : s;
            }
        return y;
    }

    public static TheoryData<int[], int> ReduceCases() => new()
    {
        { new[] { 7 }, 0 }, { new[] { 1, 33 }, 1 }, { new[] { 33, 1 }, 0 },
        { new[] { 3, 5, 7 }, 0 }, { new[] { 3, 5, 7 }, 1 }, { new[] { 3, 5, 7 }, 2 }, { new[] { 3, 5, 7 }, -1 },
        { new[] { 2, 300, 65 }, 1 },
    };

    [Theory, MemberData(nameof(ReduceCases))]
    public void SumMeanOverAxis(int[] shape, int axis)
    {
        foreach (bool keep in new[] { false, true })
        {
            Check($"sum axis {axis} keep={keep}", [In(40, shape)], v => Ops.Sum(v[0], axis, keep), x => ReduceRef(x[0], shape, axis, false), fwdAtol: 2e-5);
            Check($"mean axis {axis} keep={keep}", [In(41, shape)], v => Ops.Mean(v[0], axis, keep), x => ReduceRef(x[0], shape, axis, true));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(33)]
    [InlineData(4099)]
    public void SumMeanAll(int n)
    {
        Check("sum", [In(42, n)], v => Ops.Sum(v[0]), x => ReduceRef(x[0], [n], null, false), fwdAtol: 1e-4);
        Check("mean", [In(43, n)], v => Ops.Mean(v[0]), x => ReduceRef(x[0], [n], null, true));
    }

    [Fact]
    public void ReducedShapes()
    {
        using var t = Tensor.Zeros(DType.F32, 3, 5, 7);
        using var x = Variable.Constant(t);
        using var tape = new Tape();
        using var _ = SharpLM.Tensors.Autograd.Autograd.UseTape(tape);
        Assert.Equal(new[] { 3, 7 }, Ops.Sum(x, 1).Shape.ToArray());
        Assert.Equal(new[] { 3, 1, 7 }, Ops.Mean(x, 1, keepDim: true).Shape.ToArray());
        Assert.Equal(new[] { 3, 5 }, Ops.Sum(x, -1).Shape.ToArray());
        Assert.Empty(Ops.Sum(x).Shape.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Sum(x, 3));
    }

    private static double[] LogSoftmaxRef(double[] x, int v)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / v; r++)
        {
            double max = double.NegativeInfinity, s = 0;
            for (int j = 0; j < v; j++) max = Math.Max(max, x[r * v + j]);
            for (int j = 0; j < v; j++) s += Math.Exp(x[r * v + j] - max);
            double lse = max + Math.Log(s);
            for (int j = 0; j < v; j++) y[r * v + j] = x[r * v + j] - lse;
        }
        return y;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(5, 33)]
    [InlineData(2, 1100)]
    public void LogSoftmax(int rows, int v)
    {
        // Logits with a large common offset: the max shift must keep exp from overflowing.
        var x = Randn(rows * v, 44 + v, 3f, 50f);
        Check($"log_softmax {rows}x{v}", [new GradInput([rows, v], x)], q => Ops.LogSoftmax(q[0]), z => LogSoftmaxRef(z[0], v), atol: 2e-5, fwdAtol: 3e-5);
    }

    [Fact]
    public void GatherPicksAndScatterAdds()
    {
        // Index (…, K) with repeated entries: their gradients add up in dx.
        const int R = 4, V = 9, K = 5;
        var idx = new int[R * K];
        var r = new Random(45);
        for (int i = 0; i < idx.Length; i++) idx[i] = r.Next(V);
        idx[1] = idx[0]; idx[2] = idx[0];
        using var index = Tensor.FromArray(idx, R, K);
        Check("gather (R, K)", [In(46, R, V)], q => Ops.Gather(q[0], index), x => { var y = new double[R * K]; for (int i = 0; i < R; i++) for (int j = 0; j < K; j++) y[i * K + j] = x[0][i * V + idx[i * K + j]]; return y; });
    }

    [Fact]
    public void GatherOnePerRow()
    {
        // Index of rank one less: the token log-prob pick, (B, T, V) at (B, T) → (B, T).
        const int B = 2, T = 3, V = 7;
        int[] idx = [0, 6, 3, 3, 1, 5];
        using var index = Tensor.FromArray(idx, B, T);
        Check("gather (B, T)", [In(47, B, T, V)], q => Ops.Gather(q[0], index), x => { var y = new double[B * T]; for (int i = 0; i < B * T; i++) y[i] = x[0][i * V + idx[i]]; return y; });
        using var bad = Tensor.FromArray([0, 7, 0, 0, 0, 0], B, T);
        using var t = Tensor.Zeros(DType.F32, B, T, V);
        using var xv = Variable.Constant(t);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Gather(xv, bad));
        Assert.Contains("index 7", e.Message);
    }

    /// <summary>Row-major copy of <paramref name="x"/> (shape <paramref name="s"/>) with axes a0 and a1 swapped.</summary>
    private static double[] TransposeRef(double[] x, int[] s, int a0, int a1)
    {
        int rank = s.Length;
        var ys = (int[])s.Clone(); (ys[a0], ys[a1]) = (ys[a1], ys[a0]);
        var xst = new int[rank]; xst[rank - 1] = 1;
        for (int i = rank - 2; i >= 0; i--) xst[i] = xst[i + 1] * s[i + 1];
        var y = new double[x.Length];
        var idx = new int[rank];
        for (int f = 0; f < y.Length; f++)
        {
            int rem = f;
            for (int i = rank - 1; i >= 0; i--) { idx[i] = rem % ys[i]; rem /= ys[i]; }
            (idx[a0], idx[a1]) = (idx[a1], idx[a0]);
            int off = 0; for (int i = 0; i < rank; i++) off += idx[i] * xst[i];
            y[f] = x[off];
        }
        return y;
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 2)]
    [InlineData(0, 2)]
    [InlineData(-1, -2)]
    public void Transpose(int d0, int d1)
    {
        int[] s = [3, 5, 7];
        int a0 = d0 < 0 ? d0 + 3 : d0, a1 = d1 < 0 ? d1 + 3 : d1;
        Check($"transpose {d0},{d1}", [In(48, s)], q => Ops.Transpose(q[0], d0, d1), x => TransposeRef(x[0], s, a0, a1));
    }

    [Fact]
    public void ReshapeThenTransposeIsTheHeadSplit()
    {
        // (B·T, C) → (B, T, NH, HS) → (B, NH, T, HS), the attention head split, then a weighted sum.
        const int B = 2, T = 3, NH = 2, HS = 5;
        Check("reshape+transpose", [In(49, B * T, NH * HS)], q => Ops.Transpose(Ops.Reshape(q[0], B, T, NH, HS), 1, 2), x => TransposeRef(x[0], [B, T, NH, HS], 1, 2));
        Check("reshape -1", [In(50, 6, 7)], q => Ops.Reshape(q[0], 3, -1) * Ops.Reshape(q[0], 3, 14), x => Array.ConvertAll(x[0], a => a * a));
    }

    private static double[] ConcatRef(double[][] xs, int[][] shapes, int ax)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < ax; i++) outer *= shapes[0][i];
        for (int i = ax + 1; i < shapes[0].Length; i++) inner *= shapes[0][i];
        var y = new List<double>();
        for (int o = 0; o < outer; o++)
            for (int q = 0; q < xs.Length; q++)
            {
                int row = shapes[q][ax] * inner;
                for (int j = 0; j < row; j++) y.Add(xs[q][o * row + j]);
            }
        return y.ToArray();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Concat(int ax)
    {
        int[][] shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]];
        shapes[1][ax] = 1; shapes[2][ax] = 5;
        Check($"concat axis {ax}", [In(51, shapes[0]), In(52, shapes[1]), In(53, shapes[2])], q => Ops.Concat(ax, q), x => ConcatRef(x, shapes, ax));
    }

    [Theory]
    [InlineData(0, 0, 1)]
    [InlineData(1, 2, 3)]
    [InlineData(2, 6, 1)]
    [InlineData(-1, 0, 7)]
    public void NarrowSlice(int axis, int start, int length)
    {
        int[] s = [3, 5, 7];
        int ax = axis < 0 ? axis + 3 : axis;
        Check($"narrow axis {axis} [{start}, +{length})", [In(54, s)], q => Ops.Narrow(q[0], axis, start, length), x =>
        {
            int outer = 1, inner = 1;
            for (int i = 0; i < ax; i++) outer *= s[i];
            for (int i = ax + 1; i < 3; i++) inner *= s[i];
            var y = new List<double>();
            for (int o = 0; o < outer; o++) for (int j = start; j < start + length; j++) for (int i = 0; i < inner; i++) y.Add(x[0][(o * s[ax] + j) * inner + i]);
            return y.ToArray();
        });
    }

    [Fact]
    public void AddRowVectorIsABias()
    {
        const int R = 7, N = 33;
        Check("x + bias", [In(55, 1, R, N), In(56, N)], q => Ops.AddRowVector(q[0], q[1]), x => { var y = new double[R * N]; for (int i = 0; i < y.Length; i++) y[i] = x[0][i] + x[1][i % N]; return y; });
    }
}
