// Tanh: y = tanh x. Backward: dx += dy ⊙ (1 − y²).
using System.Numerics.Tensors;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>y = tanh(x).</summary>
    public static Variable Tanh(Variable x)
    {
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, x);
        var y = tape.NewOutput(x.Shape, rg);
        var f = new TanhFwd { X = P(x), Y = P(y) };
        Pointwise.Run(y.Length, ref f);
        if (rg) tape.Record(new TanhNode { X = x, Output = y });
        return y;
    }

    private struct TanhFwd : IBlockOp
    {
        public float* X, Y;
        public readonly void Run(int s, int n) => TensorPrimitives.Tanh(Pointwise.S(X, s, n), Pointwise.S(Y, s, n));
    }

    private struct TanhBwd : IBlockOp
    {
        public float* Dy, Y, Dx;
        public readonly void Run(int s, int n)
        {
            Span<float> t = stackalloc float[n];
            var y = Pointwise.S(Y, s, n);
            TensorPrimitives.Multiply(y, y, t);                  // y²
            TensorPrimitives.Subtract(1f, t, t);                 // 1 − y²
            TensorPrimitives.MultiplyAdd(t, Pointwise.S(Dy, s, n), Pointwise.S(Dx, s, n), Pointwise.S(Dx, s, n));
        }
    }

    private sealed class TanhNode : Node
    {
        public Variable X = null!;
        public override void Backward()
        {
            if (!X.RequiresGrad) return;
            var f = new TanhBwd { Dy = Dy, Y = P(Output), Dx = G(X) };
            Pointwise.Run(Output.Length, ref f);
        }
    }
}
