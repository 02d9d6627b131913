// Minimum / Maximum: element-wise min(a, b) / max(a, b) of same-shaped operands (PPO's clipped
// objective is a minimum). Backward: the selected operand gets dy; on ties each gets dy/2, as
// torch.minimum / torch.maximum do.
using System.Numerics;
using System.Numerics.Tensors;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>y = min(a, b) element-wise (same shapes).</summary>
    public static Variable Minimum(Variable a, Variable b) => MinMax(a, b, false);

    /// <summary>y = max(a, b) element-wise (same shapes).</summary>
    public static Variable Maximum(Variable a, Variable b) => MinMax(a, b, true);

    private static Variable MinMax(Variable a, Variable b, bool max)
    {
        SameShape(a, b, max ? "Maximum" : "Minimum");
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, a, b);
        var y = tape.NewOutput(a.Shape, rg);
        var f = new MinMaxFwd { A = P(a), B = P(b), Y = P(y), Max = max };
        Pointwise.Run(y.Length, ref f);
        if (rg) tape.Record(new MinMaxNode { A = a, B = b, Max = max, Output = y });
        return y;
    }

    private struct MinMaxFwd : IBlockOp
    {
        public float* A, B, Y; public bool Max;
        public readonly void Run(int s, int n)
        {
            if (Max) TensorPrimitives.Max(Pointwise.S(A, s, n), Pointwise.S(B, s, n), Pointwise.S(Y, s, n));
            else TensorPrimitives.Min(Pointwise.S(A, s, n), Pointwise.S(B, s, n), Pointwise.S(Y, s, n));
        }
    }

    private struct MinMaxBwd : IBlockOp
    {
        public float* Dy, A, B, DA, DB; public bool Max;
        public readonly void Run(int s, int n)
        {
            // "a wins" where a < b (min) or a > b (max); swapping the compare operands handles max.
            float* a = (Max ? B : A) + s, b = (Max ? A : B) + s, g = Dy + s;
            float* da = DA == null ? null : DA + s, db = DB == null ? null : DB + s;
            var half = new Vector<float>(0.5f);
            int i = 0, w = Vector<float>.Count;
            for (; i <= n - w; i += w)
            {
                var av = Vector.Load(a + i); var bv = Vector.Load(b + i); var gv = Vector.Load(g + i);
                var tie = Vector.ConditionalSelect(Vector.Equals(av, bv), gv * half, Vector<float>.Zero);
                if (da != null) (Vector.Load(da + i) + Vector.ConditionalSelect(Vector.LessThan(av, bv), gv, tie)).Store(da + i);
                if (db != null) (Vector.Load(db + i) + Vector.ConditionalSelect(Vector.LessThan(bv, av), gv, tie)).Store(db + i);
            }
            for (; i < n; i++)
            {
                float ga = a[i] < b[i] ? g[i] : a[i] == b[i] ? 0.5f * g[i] : 0f;
                float gb = b[i] < a[i] ? g[i] : a[i] == b[i] ? 0.5f * g[i] : 0f;
                if (da != null) da[i] += ga;
                if (db != null) db[i] += gb;
            }
        }
    }

    private sealed class MinMaxNode : Node
    {
        public Variable A = null!, B = null!; public bool Max;
        public override void Backward()
        {
            var f = new MinMaxBwd { Dy = Dy, A = P(A), B = P(B), Max = Max, DA = A.RequiresGrad ? G(A) : null, DB = B.RequiresGrad ? G(B) : null };
            Pointwise.Run(Output.Length, ref f);
        }
    }
}
