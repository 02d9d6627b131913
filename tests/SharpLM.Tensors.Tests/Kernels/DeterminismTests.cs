// Determinism across thread counts: every parallel kernel and autograd op must give the same bits
// with 1, 2 and 3 worker threads (3 > cores here, so chunks are also scheduled out of order). The
// tests run in a non-parallel collection so no other test holds the pool (a busy pool makes For run
// serially, which would hide a thread-dependent result). Sizes are large enough to cut into several
// chunks and odd so the tails differ between thread counts.
using SharpLM.Tensors.Autograd;
using SharpLM.Tensors.Kernels;
using SharpLM.Tensors.Threading;
using static SharpLM.Tensors.Tests.Kernels.KernelAssert;

namespace SharpLM.Tensors.Tests.Kernels;

/// <summary>Tests that change <see cref="WorkerPool.Threads"/> and need the pool to themselves.</summary>
[CollectionDefinition("WorkerPool exclusive", DisableParallelization = true)]
public sealed class WorkerPoolExclusive;

[Collection("WorkerPool exclusive")]
public sealed unsafe class DeterminismTests
{
    /// <summary>Runs <paramref name="run"/> with 1, 2 and 3 threads and asserts identical output bits.</summary>
    private static void SameBits(string what, Func<float[]> run)
    {
        int prev = WorkerPool.Threads;
        try
        {
            WorkerPool.Threads = 1; var one = run();
            foreach (int t in new[] { 2, 3 })
            {
                WorkerPool.Threads = t;
                var other = run();
                Assert.Equal(one.Length, other.Length);
                for (int i = 0; i < one.Length; i++)
                    if (BitConverter.SingleToInt32Bits(one[i]) != BitConverter.SingleToInt32Bits(other[i]))
                        Assert.Fail($"{what}: element {i} is {other[i]:R} with {t} threads but {one[i]:R} with 1");
            }
        }
        finally { WorkerPool.Threads = prev; }
    }

    [Fact]
    public void ActivationKernels()
    {
        const int N = 300_007;
        var x = Randn(N, 1, 3f); var b = Randn(N, 2); var g = Randn(N, 3);
        SameBits("gelu", () => { var o = new float[2 * N]; fixed (float* po = o, px = x, pg = g) { Activations.GeluForward(po, px, N); Activations.GeluBackward(po + N, px, pg, N); } return o; });
        SameBits("silu", () => { var o = new float[2 * N]; fixed (float* po = o, px = x, pg = g) { Activations.SiluForward(po, px, N); Activations.SiluBackward(po + N, px, pg, N); } return o; });
        SameBits("swiglu", () => { var o = new float[3 * N]; fixed (float* po = o, px = x, pb = b, pg = g) { Activations.SwiGluForward(po, px, pb, N); Activations.SwiGluBackward(po + N, po + 2 * N, px, pb, pg, N); } return o; });
    }

    [Fact]
    public void SoftmaxAndCrossEntropy()
    {
        const int BT = 37, V = 5011;
        var x = Randn(BT * V, 4, 2f); var g = Randn(BT * V, 5);
        var t = new int[BT]; var r = new Random(6); for (int i = 0; i < BT; i++) t[i] = i % 5 == 0 ? CrossEntropy.DefaultIgnoreIndex : r.Next(V);
        SameBits("softmax", () => { var o = new float[2 * BT * V]; fixed (float* po = o, px = x, pg = g) { Softmax.Forward(po, px, BT, V); Softmax.Backward(po + BT * V, po, pg, BT, V); } return o; });
        SameBits("cross-entropy", () =>
        {
            var o = new float[BT * V + 2 * BT + 1];
            fixed (float* po = o, px = x) fixed (int* pt = t)
            {
                o[^1] = CrossEntropy.Forward(po + BT * V, po + BT * V + BT, px, pt, BT, V);
                CrossEntropy.Backward(po, px, po + BT * V + BT, pt, BT, V);
            }
            return o;
        });
    }

    [Fact]
    public void ChunkedLmHead()
    {
        const int BT = 67, C = 48, V = 1001;
        var h = Randn(BT * C, 7); var W = Randn(V * C, 8, 0.3f);
        var t = new int[BT]; var r = new Random(9); for (int i = 0; i < BT; i++) t[i] = r.Next(V);
        SameBits("lm head", () =>
        {
            var o = new float[BT * C + V * C + 1];
            fixed (float* po = o, ph = h, pw = W) fixed (int* pt = t) o[^1] = CrossEntropy.LmHead(po, po + BT * C, ph, pw, pt, BT, C, V, chunkRows: 16);
            return o;
        });
    }

    [Fact]
    public void EmbeddingScatterAddWithRepeatedIds()
    {
        const int BT = 2049, C = 65, V = 17; // 2049 rows over 17 ids: every id repeats ~120 times
        var ids = new int[BT]; var r = new Random(10); for (int i = 0; i < BT; i++) ids[i] = r.Next(V);
        var wte = Randn(V * C, 11); var g = Randn(BT * C, 12);
        SameBits("embedding", () =>
        {
            var o = new float[BT * C + V * C];
            fixed (float* po = o, pw = wte, pg = g) fixed (int* pid = ids) { Embedding.Forward(po, pid, pw, BT, C, V); Embedding.Backward(po + BT * C, pg, pid, BT, C, V); }
            return o;
        });
    }

    [Fact]
    public void RopeAndAdamW()
    {
        const int B = 3, T = 65, NH = 5, HS = 34;
        var cos = new float[T * HS / 2]; var sin = new float[T * HS / 2]; Rope.BuildTables(cos, sin, T, HS);
        var x = Randn(B * T * NH * HS, 13);
        foreach (var style in new[] { RopeStyle.RotateHalf, RopeStyle.Interleaved })
            SameBits($"rope {style}", () =>
            {
                var o = new float[2 * x.Length];
                fixed (float* po = o, px = x, pc = cos, ps = sin) { Rope.Forward(po, px, pc, ps, B, T, NH, HS, style); Rope.Backward(po + x.Length, px, pc, ps, B, T, NH, HS, style); }
                return o;
            });
        const int N = 250_001;
        var p0 = Randn(N, 14); var grads = Randn(N, 15, 0.1f);
        SameBits("adamw", () =>
        {
            var o = new float[3 * N]; p0.CopyTo(o, 0);
            fixed (float* po = o, pg = grads) for (int s = 1; s <= 3; s++) Optim.AdamW(po, pg, po + N, po + 2 * N, N, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, s);
            return o;
        });
    }

    [Fact]
    public void AutogradOps()
    {
        // Large enough that every op uses the pool: pointwise over > 8 blocks, reductions and
        // log-softmax over many rows, matmul backward in both operands.
        const int R = 129, C = 1031;
        var xs = Randn(R * C, 16); var ws = Randn(C * 33, 17, 0.1f);
        SameBits("autograd", () =>
        {
            using var xt = Tensor.FromArray(xs, R, C); using var wt = Tensor.FromArray(ws, C, 33);
            using var x = Variable.Parameter(xt); using var w = Variable.Parameter(wt);
            using var tape = new Tape();
            float loss;
            using (SharpLM.Tensors.Autograd.Autograd.UseTape(tape))
            {
                var h = Ops.Tanh(x) * x + Ops.Exp(Ops.Clamp(x, -2f, 2f));
                var a = Ops.Mean(Ops.LogSoftmax(h), 0);                                  // (C)
                var b = Ops.Sum(Ops.MatMul(h, w), 1);                                    // (R)
                var l = Ops.Sum(a) + Ops.Mean(Ops.LogSigmoid(b));
                loss = l.Item();
                l.Backward();
            }
            return [loss, .. x.Grad!.ToArray(), .. w.Grad!.ToArray()];
        });
    }
    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void GemmAcrossColumnBlocksEqualsTheFmaChain(bool ta, bool tb)
    {
        // N spans two 4096-column blocks with a ragged edge, K two KC slices (row blocks are swept by GemmTests); every
        // thread count and the accumulate form must equal the per-element FMA chain bit for bit.
        const int M = 43, N = 4096 + 45, K = 300;
        var A = Randn(M * K, 30, 0.5f); var B = Randn(K * N, 31, 0.5f); var c0 = Randn(M * N, 32);
        var chain = (float[])c0.Clone();
        Gemm.FmaChain(ta, tb, M, N, K, A, ta ? M : K, B, tb ? K : N, chain, N, true);
        SameBits($"gemm ta={ta} tb={tb}", () =>
        {
            var c = (float[])c0.Clone();
            Gemm.Run(ta, tb, M, N, K, A, B, c, accumulate: true);
            for (int i = 0; i < c.Length; i++)
                if (BitConverter.SingleToInt32Bits(c[i]) != BitConverter.SingleToInt32Bits(chain[i]))
                    Assert.Fail($"gemm ta={ta} tb={tb} threads={WorkerPool.Threads}: C[{i / N},{i % N}] = {c[i]:R}, FMA chain {chain[i]:R}");
            return c;
        });
    }
}

public sealed unsafe class EmbeddingStreamingTests
{
    [Fact]
    public void LargeAlignedOutputsTakeTheStreamingPathAndCopyRowsExactly()
    {
        // 3001 × 768 floats = 9.2 MB into 64-byte aligned storage: the streaming-store path.
        const int BT = 3001, C = 768, V = 97;
        var ids = new int[BT]; var r = new Random(41); for (int i = 0; i < BT; i++) ids[i] = r.Next(V);
        var wte = Randn(V * C, 42);
        using var o = Tensor.Zeros(DType.F32, BT, C);
        fixed (float* pw = wte) fixed (int* pid = ids) Embedding.Forward(o.Data, pid, pw, BT, C, V);
        var got = o.AsSpan<float>();
        for (int t = 0; t < BT; t++)
            for (int c = 0; c < C; c++)
                if (got[t * C + c] != wte[ids[t] * C + c]) Assert.Fail($"row {t} channel {c}: {got[t * C + c]} vs wte[{ids[t]}, {c}] = {wte[ids[t] * C + c]}");
    }
}
