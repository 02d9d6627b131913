// Where: y = mask ? a : b element-wise. The mask is a non-differentiable tensor of the same shape,
// f32 (true where ≠ 0) or int32 (true where ≠ 0) — e.g. a padding/prompt mask. Backward:
// da += dy where mask, db += dy elsewhere. The scalar overload fills with a constant (masked_fill).
using System.Numerics;

namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>y = mask ? a : b (mask: f32 or int32, same shape; true where non-zero). The mask must stay alive until Backward.</summary>
    public static Variable Where(Tensor mask, Variable a, Variable b)
    {
        SameShape(a, b, "Where");
        CheckMask(mask, a);
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, a, b);
        var y = tape.NewOutput(a.Shape, rg);
        var f = new WhereFwd { M = (int*)mask.RawPointer, IntMask = mask.DType == DType.I32, A = P(a), B = P(b), Y = P(y) };
        Pointwise.Run(y.Length, ref f);
        if (rg) tape.Record(new WhereNode { Mask = mask, A = a, B = b, Output = y });
        return y;
    }

    /// <summary>y = mask ? a : value (masked fill; gradient flows to a where mask is true).</summary>
    public static Variable Where(Tensor mask, Variable a, float value)
    {
        CheckMask(mask, a);
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, a);
        var y = tape.NewOutput(a.Shape, rg);
        var f = new WhereFwd { M = (int*)mask.RawPointer, IntMask = mask.DType == DType.I32, A = P(a), B = null, Fill = value, Y = P(y) };
        Pointwise.Run(y.Length, ref f);
        if (rg) tape.Record(new WhereNode { Mask = mask, A = a, B = null, Output = y });
        return y;
    }

    private static void CheckMask(Tensor mask, Variable a)
    {
        if (mask.DType is not (DType.F32 or DType.I32)) throw new ArgumentException($"Where: mask must be f32 or int32, got {DTypeInfo.Name(mask.DType)}");
        if (!mask.IsContiguous) throw new ArgumentException($"Where: mask of shape {Tensor.Format(mask.Shape)} must be contiguous");
        if (!mask.Shape.SequenceEqual(a.Shape)) throw new ArgumentException($"Where: mask shape {Tensor.Format(mask.Shape)} and value shape {Tensor.Format(a.Shape)} differ (no broadcasting)");
    }

    /// <summary>Vector of "true" lanes: int mask ≠ 0, or float mask ≠ 0 (so −0 counts as false).</summary>
    private static Vector<int> MaskVec(int* m, bool intMask)
        => intMask ? ~Vector.Equals(Vector.Load(m), Vector<int>.Zero)
                   : ~Vector.Equals(Vector.Load((float*)m), Vector<float>.Zero);

    private static bool MaskAt(int* m, bool intMask, int i) => intMask ? m[i] != 0 : ((float*)m)[i] != 0f;

    private struct WhereFwd : IBlockOp
    {
        public int* M; public bool IntMask; public float* A, B, Y; public float Fill;
        public readonly void Run(int s, int n)
        {
            int* m = M + s; float* a = A + s, y = Y + s; float* b = B == null ? null : B + s;
            var fill = new Vector<float>(Fill);
            int i = 0, w = Vector<float>.Count;
            for (; i <= n - w; i += w)
                Vector.ConditionalSelect(MaskVec(m + i, IntMask), Vector.Load(a + i), b == null ? fill : Vector.Load(b + i)).Store(y + i);
            for (; i < n; i++) y[i] = MaskAt(m, IntMask, i) ? a[i] : b == null ? Fill : b[i];
        }
    }

    private struct WhereBwd : IBlockOp
    {
        public int* M; public bool IntMask; public float* Dy, DA, DB;
        public readonly void Run(int s, int n)
        {
            int* m = M + s; float* g = Dy + s;
            float* da = DA == null ? null : DA + s, db = DB == null ? null : DB + s;
            int i = 0, w = Vector<float>.Count;
            for (; i <= n - w; i += w)
            {
                var mv = MaskVec(m + i, IntMask); var gv = Vector.Load(g + i);
                if (da != null) (Vector.Load(da + i) + Vector.ConditionalSelect(mv, gv, Vector<float>.Zero)).Store(da + i);
                if (db != null) (Vector.Load(db + i) + Vector.ConditionalSelect(mv, Vector<float>.Zero, gv)).Store(db + i);
            }
            for (; i < n; i++)
            {
                bool t = MaskAt(m, IntMask, i);
                if (da != null && t) da[i] += g[i];
                if (db != null && !t) db[i] += g[i];
            }
        }
    }

    private sealed class WhereNode : Node
    {
        public Tensor Mask = null!; public Variable A = null!; public Variable? B;
        public override void Backward()
        {
            var f = new WhereBwd
            {
                M = (int*)Mask.RawPointer,
                IntMask = Mask.DType == DType.I32,
                Dy = Dy,
                DA = A.RequiresGrad ? G(A) : null,
                DB = B is { RequiresGrad: true } ? G(B) : null,
            };
            Pointwise.Run(Output.Length, ref f);
        }
    }
}
