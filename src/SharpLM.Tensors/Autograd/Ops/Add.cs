// Add and Sub: y = a ± b for same-shaped operands. Backward: da += dy, db += ±dy.
using System.Numerics.Tensors;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>y = a + b (same shapes).</summary>
    public static Variable Add(Variable a, Variable b) => AddSub(a, b, false);

    /// <summary>y = a − b (same shapes).</summary>
    public static Variable Sub(Variable a, Variable b) => AddSub(a, b, true);

    private static Variable AddSub(Variable a, Variable b, bool sub)
    {
        SameShape(a, b, sub ? "Sub" : "Add");
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, a, b);
        var y = tape.NewOutput(a.Shape, rg);
        var f = new AddFwd { A = P(a), B = P(b), Y = P(y), Sub = sub };
        Pointwise.Run(y.Length, ref f);
        if (rg) tape.Record(new AddNode { A = a, B = b, Sub = sub, Output = y });
        return y;
    }

    private struct AddFwd : IBlockOp
    {
        public float* A, B, Y; public bool Sub;
        public readonly void Run(int s, int n)
        {
            if (Sub) TensorPrimitives.Subtract(Pointwise.S(A, s, n), Pointwise.S(B, s, n), Pointwise.S(Y, s, n));
            else TensorPrimitives.Add(Pointwise.S(A, s, n), Pointwise.S(B, s, n), Pointwise.S(Y, s, n));
        }
    }

    private sealed class AddNode : Node
    {
        public Variable A = null!, B = null!; public bool Sub;
        public override void Backward()
        {
            float* g = Dy;
            long n = Output.Length;
            if (A.RequiresGrad) Pointwise.AddInto(g, G(A), n);
            if (B.RequiresGrad) Pointwise.AddScaledInto(g, Sub ? -1f : 1f, G(B), n);
        }
    }
}
