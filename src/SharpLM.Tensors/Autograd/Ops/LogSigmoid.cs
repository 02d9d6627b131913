// LogSigmoid: y = log σ(x), computed stably as min(x, 0) − log(1 + e^−|x|) so large |x| neither
// overflows nor loses the result (the DPO loss is −logσ(β·margin)). Backward: dx += dy ⊙ σ(−x).
using System.Numerics.Tensors;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>y = log σ(x), numerically stable for any x.</summary>
    public static Variable LogSigmoid(Variable x)
    {
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, x);
        var y = tape.NewOutput(x.Shape, rg);
        var f = new LogSigmoidFwd { X = P(x), Y = P(y) };
        Pointwise.Run(y.Length, ref f);
        if (rg) tape.Record(new LogSigmoidNode { X = x, Output = y });
        return y;
    }

    private struct LogSigmoidFwd : IBlockOp
    {
        public float* X, Y;
        public readonly void Run(int s, int n)
        {
            var x = Pointwise.S(X, s, n); var y = Pointwise.S(Y, s, n);
            Span<float> t = stackalloc float[n];
            TensorPrimitives.Abs(x, t);
            TensorPrimitives.Negate(t, t);
            TensorPrimitives.Exp(t, t);                          // e^−|x| ∈ (0, 1]
            TensorPrimitives.LogP1(t, t);                        // log(1 + e^−|x|)
            TensorPrimitives.Min(x, 0f, y);
            TensorPrimitives.Subtract(y, t, y);
        }
    }

    private struct LogSigmoidBwd : IBlockOp
    {
        public float* Dy, X, Dx;
        public readonly void Run(int s, int n)
        {
            Span<float> t = stackalloc float[n];
            TensorPrimitives.Negate(Pointwise.S(X, s, n), t);
            TensorPrimitives.Sigmoid(t, t);                      // σ(−x) = 1 − σ(x)
            TensorPrimitives.MultiplyAdd(t, Pointwise.S(Dy, s, n), Pointwise.S(Dx, s, n), Pointwise.S(Dx, s, n));
        }
    }

    private sealed class LogSigmoidNode : Node
    {
        public Variable X = null!;
        public override void Backward()
        {
            if (!X.RequiresGrad) return;
            var f = new LogSigmoidBwd { Dy = Dy, X = P(X), Dx = G(X) };
            Pointwise.Run(Output.Length, ref f);
        }
    }
}
