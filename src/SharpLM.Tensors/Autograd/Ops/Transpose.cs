// Transpose: swaps two axes, materialised dense (so every op downstream sees contiguous data; for a
// matrix product prefer MatMul's transA/transB flags, which cost nothing). Backward: dx += dyᵀ, the
// same swap applied to the gradient.
namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>x with axes <paramref name="d0"/> and <paramref name="d1"/> swapped (dense copy).</summary>
    public static Variable Transpose(Variable x, int d0, int d1)
    {
        int r = x.Shape.Length;
        int a0 = Axis(d0, r, "Transpose"), a1 = Axis(d1, r, "Transpose");
        var ys = x.Shape.ToArray(); (ys[a0], ys[a1]) = (ys[a1], ys[a0]);
        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, x);
        var y = tape.NewOutput(ys, rg);
        using (var view = x.Data.Transpose(a0, a1)) Strided.Apply(view, P(y), accumulate: false);
        if (rg) tape.Record(new TransposeNode { X = x, D0 = a0, D1 = a1, Output = y });
        return y;
    }

    private sealed class TransposeNode : Node
    {
        public Variable X = null!; public int D0, D1;
        public override void Backward()
        {
            if (!X.RequiresGrad) return;
            using var gt = Output.RawGrad!.Transpose(D0, D1);
            Strided.Apply(gt, G(X), accumulate: true);
        }
    }
}

/// <summary>Strided view → dense buffer in logical row-major order (copy or +=), innermost axis in the inner loop.</summary>
internal static unsafe class Strided
{
    public static void Apply(Tensor src, float* dst, bool accumulate)
    {
        int rank = src.Rank;
        if (rank == 0 || src.Length == 0) { if (src.Length == 1) { if (accumulate) *dst += *src.Data; else *dst = *src.Data; } return; }
        var shape = src.Shape; var strides = src.Strides;
        int inner = shape[rank - 1]; long ist = strides[rank - 1];
        float* basePtr = src.Data;
        Span<int> idx = stackalloc int[rank];
        long rows = src.Length / inner;
        for (long row = 0; row < rows; row++)
        {
            long off = 0;
            for (int k = 0; k < rank - 1; k++) off += idx[k] * strides[k];
            float* s = basePtr + off; float* d = dst + row * inner;
            if (accumulate) for (int i = 0; i < inner; i++) d[i] += s[i * ist];
            else for (int i = 0; i < inner; i++) d[i] = s[i * ist];
            for (int k = rank - 2; k >= 0; k--)
            {
                if (++idx[k] < shape[k]) break;
                idx[k] = 0;
            }
        }
    }
}
