// Clamp: y = min(max(x, lo), hi). Backward: dx += dy where lo ≤ x ≤ hi (bounds inclusive, matching
// torch.clamp), 0 elsewhere — the PPO ratio clip.
using System.Numerics;
using System.Numerics.Tensors;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>y = clamp(x, lo, hi).</summary>
    public static Variable Clamp(Variable x, float lo, float hi)
    {
        if (!(lo <= hi)) throw new ArgumentException($"Clamp: lo {lo} must be ≤ hi {hi}");
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, x);
        var y = tape.NewOutput(x.Shape, rg);
        var f = new ClampFwd { X = P(x), Y = P(y), Lo = lo, Hi = hi };
        Pointwise.Run(y.Length, ref f);
        if (rg) tape.Record(new ClampNode { X = x, Lo = lo, Hi = hi, Output = y });
        return y;
    }

    private struct ClampFwd : IBlockOp
    {
        public float* X, Y; public float Lo, Hi;
        public readonly void Run(int s, int n)
        {
            TensorPrimitives.Max(Pointwise.S(X, s, n), Lo, Pointwise.S(Y, s, n));
            TensorPrimitives.Min(Pointwise.S(Y, s, n), Hi, Pointwise.S(Y, s, n));
        }
    }

    private struct ClampBwd : IBlockOp
    {
        public float* Dy, X, Dx; public float Lo, Hi;
        public readonly void Run(int s, int n)
        {
            float* x = X + s, g = Dy + s, d = Dx + s;
            var lo = new Vector<float>(Lo); var hi = new Vector<float>(Hi);
            int i = 0, w = Vector<float>.Count;
            for (; i <= n - w; i += w)
            {
                var xv = Vector.Load(x + i);
                var m = Vector.GreaterThanOrEqual(xv, lo) & Vector.LessThanOrEqual(xv, hi);
                (Vector.Load(d + i) + Vector.ConditionalSelect(m, Vector.Load(g + i), Vector<float>.Zero)).Store(d + i);
            }
            for (; i < n; i++) if (x[i] >= Lo && x[i] <= Hi) d[i] += g[i];
        }
    }

    private sealed class ClampNode : Node
    {
        public Variable X = null!; public float Lo, Hi;
        public override void Backward()
        {
            if (!X.RequiresGrad) return;
            var f = new ClampBwd { Dy = Dy, X = P(X), Dx = G(X), Lo = Lo, Hi = Hi };
            Pointwise.Run(Output.Length, ref f);
        }
    }
}
