// Sum and Mean, over all elements (→ a 0-d scalar) or over one axis (the axis removed, or kept with
// size 1). Mean is Sum scaled by 1/count in the same node. The tensor is viewed as (outer, D, inner)
// around the reduced axis; each output element is reduced in a fixed order, so results do not depend
// on the thread count. Backward: dx[o, d, i] += scale · dy[o, i] (a broadcast back over the axis).
using System.Numerics.Tensors;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>Sum of all elements, as a 0-d variable.</summary>
    public static Variable Sum(Variable x) => ReduceAll(x, 1f);

    /// <summary>Mean of all elements, as a 0-d variable.</summary>
    public static Variable Mean(Variable x) => ReduceAll(x, x.Length == 0 ? float.NaN : 1f / x.Length);

    /// <summary>Sum over <paramref name="axis"/> (negative counts from the end).</summary>
    public static Variable Sum(Variable x, int axis, bool keepDim = false) => ReduceAxis(x, axis, keepDim, mean: false);

    /// <summary>Mean over <paramref name="axis"/> (negative counts from the end).</summary>
    public static Variable Mean(Variable x, int axis, bool keepDim = false) => ReduceAxis(x, axis, keepDim, mean: true);

    private static Variable ReduceAll(Variable x, float scale)
    {
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, x);
        var y = tape.NewOutput(ReadOnlySpan<int>.Empty, rg);
        *P(y) = TensorPrimitives.Sum(x.Data.AsSpan<float>()) * scale;
        if (rg) tape.Record(new ReduceNode { X = x, Outer = 1, D = checked((int)x.Length), Inner = 1, Scale = scale, Output = y });
        return y;
    }

    private static Variable ReduceAxis(Variable x, int axis, bool keepDim, bool mean)
    {
        var shape = x.Shape;
        int ax = Axis(axis, shape.Length, mean ? "Mean" : "Sum");
        int outer = checked((int)Prod(shape, 0, ax)), d = shape[ax], inner = checked((int)Prod(shape, ax + 1, shape.Length));
        Span<int> ys = stackalloc int[keepDim ? shape.Length : shape.Length - 1];
        for (int i = 0, j = 0; i < shape.Length; i++)
        {
            if (i == ax) { if (keepDim) ys[j++] = 1; }
            else ys[j++] = shape[i];
        }
        float scale = mean ? (d == 0 ? float.NaN : 1f / d) : 1f;
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, x);
        var y = tape.NewOutput(ys, rg);
        var body = new ReduceFwd { X = P(x), Y = P(y), D = d, Inner = inner, Scale = scale };
        WorkerPool.For(outer, Math.Max(1, 32768 / Math.Max(1, d * inner)), ref body);
        if (rg) tape.Record(new ReduceNode { X = x, Outer = outer, D = d, Inner = inner, Scale = scale, Output = y });
        return y;
    }

    /// <summary>Rows [start, end) of the outer dimension: y[o, :] = scale · Σ_d x[o, d, :], summed in d order.</summary>
    private struct ReduceFwd : IParallelBody
    {
        public float* X, Y; public int D, Inner; public float Scale;
        public readonly void Execute(int start, int end)
        {
            for (int o = start; o < end; o++)
            {
                float* x = X + (long)o * D * Inner;
                if (Inner == 1) { Y[o] = TensorPrimitives.Sum(new ReadOnlySpan<float>(x, D)) * Scale; continue; }
                var y = new Span<float>(Y + (long)o * Inner, Inner);
                y.Clear();
                for (int d = 0; d < D; d++) TensorPrimitives.Add(y, new ReadOnlySpan<float>(x + (long)d * Inner, Inner), y);
                if (Scale != 1f) TensorPrimitives.Multiply(y, Scale, y);
            }
        }
    }

    private struct ReduceBwd : IParallelBody
    {
        public float* Dy, Dx; public int D, Inner; public float Scale;
        public readonly void Execute(int start, int end)
        {
            for (int o = start; o < end; o++)
            {
                float* dx = Dx + (long)o * D * Inner;
                if (Inner == 1)
                {
                    var row = new Span<float>(dx, D);
                    TensorPrimitives.Add(row, Dy[o] * Scale, row);
                    continue;
                }
                var g = new ReadOnlySpan<float>(Dy + (long)o * Inner, Inner);
                for (int d = 0; d < D; d++)
                {
                    var row = new Span<float>(dx + (long)d * Inner, Inner);
                    TensorPrimitives.MultiplyAdd(g, Scale, row, row);
                }
            }
        }
    }

    private sealed class ReduceNode : Node
    {
        public Variable X = null!; public int Outer, D, Inner; public float Scale;
        public override void Backward()
        {
            if (!X.RequiresGrad) return;
            var body = new ReduceBwd { Dy = Dy, Dx = G(X), D = D, Inner = Inner, Scale = Scale };
            WorkerPool.For(Outer, Math.Max(1, 32768 / Math.Max(1, D * Inner)), ref body);
        }
    }
}
