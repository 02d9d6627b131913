// Gather along the last axis by int32 indices (torch.gather(x, -1, idx)): x (…, V), idx (…, K) with
// the same leading dims → y (…, K), y[r, k] = x[r, idx[r, k]]. An index of rank one less than x
// (…) picks one entry per row → y (…) — the token log-prob pick of a language-model loss.
// Backward: dx[r, idx[r, k]] += dy[r, k] (scatter-add; repeated indices add up).
namespace SharpLM.Tensors.Autograd;

public static unsafe partial class Ops
{
    /// <summary>y = x gathered along the last axis at <paramref name="index"/> (int32); see the file header. The index must stay alive until Backward.</summary>
    public static Variable Gather(Variable x, Tensor index)
    {
        var xs = x.Shape; var isz = index.Shape;
        string Desc() => $"Gather: x {Tensor.Format(x.Shape)}, index {Tensor.Format(index.Shape)}";
        if (index.DType != DType.I32) throw new ArgumentException($"{Desc()}: index must be int32, got {DTypeInfo.Name(index.DType)}");
        if (!index.IsContiguous) throw new ArgumentException($"{Desc()}: index must be contiguous");
        if (xs.Length == 0) throw new ArgumentException($"{Desc()}: x must have at least one dimension");
        int lead = xs.Length - 1, k;
        if (isz.Length == xs.Length) k = isz[^1];
        else if (isz.Length == xs.Length - 1) k = 1;
        else throw new ArgumentException($"{Desc()}: index rank must be x's rank or one less");
        for (int i = 0; i < lead; i++)
            if (isz[i] != xs[i]) throw new ArgumentException($"{Desc()}: leading dimension {i} differs");
        int v = xs[^1], rows = checked((int)Prod(xs, 0, lead));
        int* idx = (int*)index.RawPointer;
        for (long i = 0; i < (long)rows * k; i++)
            if ((uint)idx[i] >= (uint)v) throw new ArgumentOutOfRangeException(nameof(index), $"{Desc()}: index {idx[i]} at flat position {i} is outside [0, {v})");

        var tape = Autograd.CurrentTape;
        bool rg = Track(tape, x);
        var y = tape.NewOutput(isz, rg);
        float* px = P(x), py = P(y);
        for (int r = 0; r < rows; r++)
        {
            float* xr = px + (long)r * v; int* ir = idx + (long)r * k; float* yr = py + (long)r * k;
            for (int j = 0; j < k; j++) yr[j] = xr[ir[j]];
        }
        if (rg) tape.Record(new GatherNode { X = x, Index = index, Rows = rows, V = v, K = k, Output = y });
        return y;
    }

    private sealed class GatherNode : Node
    {
        public Variable X = null!; public Tensor Index = null!; public int Rows, V, K;
        public override void Backward()
        {
            if (!X.RequiresGrad) return;
            float* g = Dy, dx = G(X); int* idx = (int*)Index.RawPointer;
            for (int r = 0; r < Rows; r++)
            {
                float* dr = dx + (long)r * V; int* ir = idx + (long)r * K; float* gr = g + (long)r * K;
                for (int j = 0; j < K; j++) dr[ir[j]] += gr[j];
            }
        }
    }
}
