// Sigmoid: y = 1 / (1 + e⁻ˣ). Backward: dx += dy ⊙ y ⊙ (1 − y).
using System.Numerics.Tensors;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>y = σ(x).</summary>
    public static Variable Sigmoid(Variable x)
    {
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, x);
        var y = tape.NewOutput(x.Shape, rg);
        var f = new SigmoidFwd { X = P(x), Y = P(y) };
        Pointwise.Run(y.Length, ref f);
        if (rg) tape.Record(new SigmoidNode { X = x, Output = y });
        return y;
    }

    private struct SigmoidFwd : IBlockOp
    {
        public float* X, Y;
        public readonly void Run(int s, int n) => TensorPrimitives.Sigmoid(Pointwise.S(X, s, n), Pointwise.S(Y, s, n));
    }

    private struct SigmoidBwd : IBlockOp
    {
        public float* Dy, Y, Dx;
        public readonly void Run(int s, int n)
        {
            Span<float> t = stackalloc float[n];
            var y = Pointwise.S(Y, s, n);
            TensorPrimitives.Subtract(1f, y, t);                 // 1 − y
            TensorPrimitives.Multiply(t, y, t);                  // y(1 − y)
            TensorPrimitives.MultiplyAdd(t, Pointwise.S(Dy, s, n), Pointwise.S(Dx, s, n), Pointwise.S(Dx, s, n));
        }
    }

    private sealed class SigmoidNode : Node
    {
        public Variable X = null!;
        public override void Backward()
        {
            if (!X.RequiresGrad) return;
            var f = new SigmoidBwd { Dy = Dy, Y = P(Output), Dx = G(X) };
            Pointwise.Run(Output.Length, ref f);
        }
    }
}
