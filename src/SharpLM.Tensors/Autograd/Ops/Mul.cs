// Mul: y = a ⊙ b (same shapes). Backward: da += dy ⊙ b, db += dy ⊙ a.
using System.Numerics.Tensors;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>y = a ⊙ b (element-wise, same shapes).</summary>
    public static Variable Mul(Variable a, Variable b)
    {
        SameShape(a, b, "Mul");
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, a, b);
        var y = tape.NewOutput(a.Shape, rg);
        var f = new MulFwd { A = P(a), B = P(b), Y = P(y) };
        Pointwise.Run(y.Length, ref f);
        if (rg) tape.Record(new MulNode { A = a, B = b, Output = y });
        return y;
    }

    private struct MulFwd : IBlockOp
    {
        public float* A, B, Y;
        public readonly void Run(int s, int n) => TensorPrimitives.Multiply(Pointwise.S(A, s, n), Pointwise.S(B, s, n), Pointwise.S(Y, s, n));
    }

    private sealed class MulNode : Node
    {
        public Variable A = null!, B = null!;
        public override void Backward()
        {
            long n = Output.Length;
            if (A.RequiresGrad) Pointwise.AddProductInto(Dy, P(B), G(A), n);
            if (B.RequiresGrad) Pointwise.AddProductInto(Dy, P(A), G(B), n);
        }
    }
}
