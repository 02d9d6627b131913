// Log: y = ln x. Backward: dx += dy / x.
using System.Numerics.Tensors;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>y = ln(x) (natural log; x ≤ 0 gives NaN/−∞ as in IEEE).</summary>
    public static Variable Log(Variable x)
    {
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, x);
        var y = tape.NewOutput(x.Shape, rg);
        var f = new LogFwd { X = P(x), Y = P(y) };
        Pointwise.Run(y.Length, ref f);
        if (rg) tape.Record(new LogNode { X = x, Output = y });
        return y;
    }

    private struct LogFwd : IBlockOp
    {
        public float* X, Y;
        public readonly void Run(int s, int n) => TensorPrimitives.Log(Pointwise.S(X, s, n), Pointwise.S(Y, s, n));
    }

    private struct LogBwd : IBlockOp
    {
        public float* Dy, X, Dx;
        public readonly void Run(int s, int n)
        {
            Span<float> t = stackalloc float[n];
            TensorPrimitives.Divide(Pointwise.S(Dy, s, n), Pointwise.S(X, s, n), t);
            TensorPrimitives.Add(Pointwise.S(Dx, s, n), t, Pointwise.S(Dx, s, n));
        }
    }

    private sealed class LogNode : Node
    {
        public Variable X = null!;
        public override void Backward()
        {
            if (!X.RequiresGrad) return;
            var f = new LogBwd { Dy = Dy, X = P(X), Dx = G(X) };
            Pointwise.Run(Output.Length, ref f);
        }
    }
}
