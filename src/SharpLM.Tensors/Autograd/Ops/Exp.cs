// Exp: y = eˣ. Backward: dx += dy ⊙ y (the saved output).
using System.Numerics.Tensors;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>y = exp(x).</summary>
    public static Variable Exp(Variable x)
    {
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, x);
        var y = tape.NewOutput(x.Shape, rg);
        var f = new ExpFwd { X = P(x), Y = P(y) };
        Pointwise.Run(y.Length, ref f);
        if (rg) tape.Record(new ExpNode { X = x, Output = y });
        return y;
    }

    private struct ExpFwd : IBlockOp
    {
        public float* X, Y;
        public readonly void Run(int s, int n) => TensorPrimitives.Exp(Pointwise.S(X, s, n), Pointwise.S(Y, s, n));
    }

    private sealed class ExpNode : Node
    {
        public Variable X = null!;
        public override void Backward()
        {
            if (X.RequiresGrad) Pointwise.AddProductInto(Dy, P(Output), G(X), Output.Length);
        }
    }
}
