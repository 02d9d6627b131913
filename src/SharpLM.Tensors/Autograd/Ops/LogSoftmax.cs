// LogSoftmax over the last axis: y = x − max − log Σ exp(x − max) (max-shifted, so no overflow).
// Backward: dx += dy − softmax ⊙ Σ dy, with softmax = exp(y) recomputed from the saved output (no
// extra activation kept). Rows are independent and run in parallel; each row in a fixed order.
using System.Numerics.Tensors;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>y = log softmax(x) over the last axis.</summary>
    public static Variable LogSoftmax(Variable x)
    {
        if (x.Shape.Length == 0) throw new ArgumentException("LogSoftmax: needs at least one dimension, got a 0-d variable");
        int v = x.Shape[^1];
        if (v == 0) throw new ArgumentException($"LogSoftmax: last dimension of {Tensor.Format(x.Shape)} is empty");
        int rows = checked((int)(x.Length / v));
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, x);
        var y = tape.NewOutput(x.Shape, rg);
        var body = new LogSoftmaxFwd { X = P(x), Y = P(y), V = v };
        WorkerPool.For(rows, Math.Max(1, 16384 / v), ref body);
        if (rg) tape.Record(new LogSoftmaxNode { X = x, Rows = rows, V = v, Output = y });
        return y;
    }

    private struct LogSoftmaxFwd : IParallelBody
    {
        public float* X, Y; public int V;
        public readonly void Execute(int start, int end)
        {
            for (int r = start; r < end; r++)
            {
                var x = new ReadOnlySpan<float>(X + (long)r * V, V);
                var y = new Span<float>(Y + (long)r * V, V);
                float max = TensorPrimitives.Max(x);
                TensorPrimitives.Subtract(x, max, y);
                TensorPrimitives.Exp(y, y);
                float lse = max + MathF.Log(TensorPrimitives.Sum(y));
                TensorPrimitives.Subtract(x, lse, y);
            }
        }
    }

    private struct LogSoftmaxBwd : IParallelBody
    {
        public float* Dy, Y, Dx; public int V;
        public readonly void Execute(int start, int end)
        {
            const int Blk = 1024;
            Span<float> t = stackalloc float[Blk];
            for (int r = start; r < end; r++)
            {
                float* g = Dy + (long)r * V, y = Y + (long)r * V, dx = Dx + (long)r * V;
                float sg = TensorPrimitives.Sum(new ReadOnlySpan<float>(g, V));
                for (int s = 0; s < V; s += Blk)
                {
                    int n = Math.Min(Blk, V - s);
                    var tn = t[..n];
                    TensorPrimitives.Exp(new ReadOnlySpan<float>(y + s, n), tn);                       // softmax
                    TensorPrimitives.MultiplyAdd(tn, -sg, new ReadOnlySpan<float>(g + s, n), tn);      // dy − p·Σdy
                    var d = new Span<float>(dx + s, n);
                    TensorPrimitives.Add(d, tn, d);
                }
            }
        }
    }

    private sealed class LogSoftmaxNode : Node
    {
        public Variable X = null!; public int Rows, V;
        public override void Backward()
        {
            if (!X.RequiresGrad) return;
            var body = new LogSoftmaxBwd { Dy = Dy, Y = P(Output), Dx = G(X), V = V };
            WorkerPool.For(Rows, Math.Max(1, 16384 / V), ref body);
        }
    }
}
