// Relu: y = max(x, 0). Backward: dx += dy where x > 0 (the subgradient at 0 is taken as 0, as in PyTorch).
using System.Numerics;
using System.Numerics.Tensors;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>y = max(x, 0).</summary>
    public static Variable Relu(Variable x)
    {
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, x);
        var y = tape.NewOutput(x.Shape, rg);
        var f = new ReluFwd { X = P(x), Y = P(y) };
        Pointwise.Run(y.Length, ref f);
        if (rg) tape.Record(new ReluNode { X = x, Output = y });
        return y;
    }

    private struct ReluFwd : IBlockOp
    {
        public float* X, Y;
        public readonly void Run(int s, int n) => TensorPrimitives.Max(Pointwise.S(X, s, n), 0f, Pointwise.S(Y, s, n));
    }

    private struct ReluBwd : IBlockOp
    {
        public float* Dy, X, Dx;
        public readonly void Run(int s, int n)
        {
            float* x = X + s, g = Dy + s, d = Dx + s;
            int i = 0, w = Vector<float>.Count;
            for (; i <= n - w; i += w)
            {
                var m = Vector.GreaterThan(Vector.Load(x + i), Vector<float>.Zero);
                (Vector.Load(d + i) + Vector.ConditionalSelect(m, Vector.Load(g + i), Vector<float>.Zero)).Store(d + i);
            }
            for (; i < n; i++) if (x[i] > 0f) d[i] += g[i];
        }
    }

    private sealed class ReluNode : Node
    {
        public Variable X = null!;
        public override void Backward()
        {
            if (!X.RequiresGrad) return;
            var f = new ReluBwd { Dy = Dy, X = P(X), Dx = G(X) };
            Pointwise.Run(Output.Length, ref f);
        }
    }
}
