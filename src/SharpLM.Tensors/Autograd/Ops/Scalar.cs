// Scalar ops: y = x + c, y = c·x, y = −x. Backward: dx += dy, dx += c·dy, dx −= dy.
using System.Numerics.Tensors;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>y = x + c.</summary>
    public static Variable AddScalar(Variable x, float c) => Affine(x, 1f, c);

    /// <summary>y = c·x.</summary>
    public static Variable MulScalar(Variable x, float c) => Affine(x, c, 0f);

    /// <summary>y = −x.</summary>
    public static Variable Neg(Variable x) => Affine(x, -1f, 0f);

    /// <summary>y = scale·x + shift (one node).</summary>
    public static Variable Affine(Variable x, float scale, float shift)
    {
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, x);
        var y = tape.NewOutput(x.Shape, rg);
        var f = new AffineFwd { X = P(x), Y = P(y), Scale = scale, Shift = shift };
        Pointwise.Run(y.Length, ref f);
        if (rg) tape.Record(new AffineNode { X = x, Scale = scale, Output = y });
        return y;
    }

    private struct AffineFwd : IBlockOp
    {
        public float* X, Y; public float Scale, Shift;
        public readonly void Run(int s, int n)
        {
            if (Scale == 1f) TensorPrimitives.Add(Pointwise.S(X, s, n), Shift, Pointwise.S(Y, s, n));
            else if (Shift == 0f) TensorPrimitives.Multiply(Pointwise.S(X, s, n), Scale, Pointwise.S(Y, s, n));
            else
            {
                TensorPrimitives.Multiply(Pointwise.S(X, s, n), Scale, Pointwise.S(Y, s, n));
                TensorPrimitives.Add(Pointwise.S(Y, s, n), Shift, Pointwise.S(Y, s, n));
            }
        }
    }

    private sealed class AffineNode : Node
    {
        public Variable X = null!; public float Scale;
        public override void Backward()
        {
            if (!X.RequiresGrad) return;
            if (Scale == 1f) Pointwise.AddInto(Dy, G(X), Output.Length);
            else Pointwise.AddScaledInto(Dy, Scale, G(X), Output.Length);
        }
    }
}
