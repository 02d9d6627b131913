// Div: y = a / b (same shapes). Backward: da += dy / b, db += −(dy / b) ⊙ y  (= −dy·a/b²).
using System.Numerics.Tensors;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>y = a / b (element-wise, same shapes).</summary>
    public static Variable Div(Variable a, Variable b)
    {
        SameShape(a, b, "Div");
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, a, b);
        var y = tape.NewOutput(a.Shape, rg);
        var f = new DivFwd { A = P(a), B = P(b), Y = P(y) };
        Pointwise.Run(y.Length, ref f);
        if (rg) tape.Record(new DivNode { A = a, B = b, Output = y });
        return y;
    }

    private struct DivFwd : IBlockOp
    {
        public float* A, B, Y;
        public readonly void Run(int s, int n) => TensorPrimitives.Divide(Pointwise.S(A, s, n), Pointwise.S(B, s, n), Pointwise.S(Y, s, n));
    }

    private struct DivBwd : IBlockOp
    {
        public float* Dy, B, Y, DA, DB;
        public readonly void Run(int s, int n)
        {
            Span<float> t = stackalloc float[n];
            TensorPrimitives.Divide(Pointwise.S(Dy, s, n), Pointwise.S(B, s, n), t);          // dy / b
            if (DA != null) TensorPrimitives.Add(Pointwise.S(DA, s, n), t, Pointwise.S(DA, s, n));
            if (DB != null)
            {
                TensorPrimitives.Multiply(t, Pointwise.S(Y, s, n), t);                          // (dy / b)·(a / b)
                TensorPrimitives.Subtract(Pointwise.S(DB, s, n), t, Pointwise.S(DB, s, n));
            }
        }
    }

    private sealed class DivNode : Node
    {
        public Variable A = null!, B = null!;
        public override void Backward()
        {
            var f = new DivBwd { Dy = Dy, B = P(B), Y = P(Output), DA = A.RequiresGrad ? G(A) : null, DB = B.RequiresGrad ? G(B) : null };
            Pointwise.Run(Output.Length, ref f);
        }
    }
}
