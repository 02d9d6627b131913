// Softmax + cross-entropy over the vocabulary, fused, as torch.nn.functional.cross_entropy with
// reduction="mean" and ignore_index (default −100): loss = mean over rows whose target ≠ ignore_index
// of (logsumexp(logits) − logits[target]); dlogits = (softmax − onehot(target)) · dloss / count, zero on
// ignored rows. Two forms:
//   • over given logits (BT, V): Forward saves the per-row logsumexp, Backward accumulates dlogits;
//   • LmHead: from hidden states (BT, C) and the LM head weight W (V, C), logits = hidden·Wᵀ are built
//     chunk by chunk (Gemm.Run), turned into dlogits in place, and pushed back to dhidden += dlogits·W and
//     dW += dlogitsᵀ·hidden before the next chunk — memory O(chunkRows·V), never (BT, V).
// Rows are processed in a fixed order and each row's math depends only on that row: deterministic.
// What it is not: label smoothing, class weights, or z-loss.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Kernels;

/// <summary>Fused softmax + cross-entropy with ignore-index.</summary>
public static unsafe class CrossEntropy
{
    /// <summary>PyTorch's default ignore index.</summary>
    public const int DefaultIgnoreIndex = -100;

    /// <summary>Number of rows whose target is not <paramref name="ignoreIndex"/>; validates the others lie in [0, V).</summary>
    public static int CountTargets(int* targets, int BT, int V, int ignoreIndex = DefaultIgnoreIndex)
    {
        int n = 0;
        for (int r = 0; r < BT; r++)
        {
            int t = targets[r];
            if (t == ignoreIndex) continue;
            if ((uint)t >= (uint)V) throw new ArgumentOutOfRangeException(nameof(targets), $"cross-entropy: target {t} at row {r} is outside [0, {V}) and is not the ignore index {ignoreIndex}");
            n++;
        }
        return n;
    }

    /// <summary>
    /// losses[r] = lse[r] − logits[r, target[r]] (0 for ignored rows); saves lse (BT). Returns the mean
    /// over non-ignored rows (NaN when every row is ignored, as PyTorch).
    /// </summary>
    public static float Forward(float* losses, float* lse, float* logits, int* targets, int BT, int V, int ignoreIndex = DefaultIgnoreIndex)
    {
        int count = CountTargets(targets, BT, V, ignoreIndex);
        var body = new Fwd { Losses = losses, Lse = lse, Logits = logits, Targets = targets, V = V, Ignore = ignoreIndex };
        WorkerPool.For(BT, 1, ref body);
        double sum = 0;
        for (int r = 0; r < BT; r++) sum += losses[r];
        return (float)(sum / count);
    }

    private struct Fwd : IParallelBody
    {
        public float* Losses, Lse, Logits; public int* Targets; public int V, Ignore;
        public readonly void Execute(int start, int end)
        {
            for (int r = start; r < end; r++)
            {
                float* x = Logits + (long)r * V;
                float l = RowLse(x, V);
                Lse[r] = l;
                Losses[r] = Targets[r] == Ignore ? 0f : l - x[Targets[r]];
            }
        }
    }

    // logsumexp of a row without writing it, in one sweep over memory: e^(x − m) is summed against a
    // reference m (the max of the first 64 logits) while the bound on the row max is checked in the same loop
    // (Simd.ExpSubRef). logsumexp = m + log Σ e^(x − m) holds for any m; only if some block's max
    // exceeds m by more than Simd.ExpHeadroom (where e^(x − m) could overflow) is that block redone
    // against its own max, the sum so far rescaled. A 50k-logit row is thus read from DRAM once with
    // the loads overlapping the exponentials, where a max pass and then an exp pass serialise them.
    private const int Blk = 4096; // floats per block: 16 KB

    private static float RowLse(float* x, int V)
    {
        if (!Avx512F.IsSupported || V < 64) return RowLseTwoPass(x, V);
        float m = Simd.Max(x, 64);
        if (!float.IsFinite(m)) return RowLseTwoPass(x, V); // ±∞/NaN first logits: the plain form decides
        float s = 0;
        for (int b0 = 0; b0 < V; b0 += Blk)
        {
            int n = Math.Min(Blk, V - b0);
            float bs = Simd.ExpSubRef(x + b0, m, null, n, out bool redo);
            if (redo) // the block may have overflowed: redo it against its max, rescale the sum so far
            {
                float bm = Simd.Max(x + b0, n);
                s *= FastMath.Exp(m - bm);
                m = bm;
                bs = Simd.ExpSum(x + b0, m, n);
            }
            s += bs;
        }
        return m + MathF.Log(s);
    }

    // The same without AVX-512: max pass, then Σ e^(x − max).
    private static float RowLseTwoPass(float* x, int V)
    {
        float m = Simd.Max(x, V);
        int i = 0; float s = 0;
        if (Vector256.IsHardwareAccelerated && V >= 8)
        {
            var a = Vector256<float>.Zero; var mv = Vector256.Create(m);
            for (; i + 8 <= V; i += 8) a += FastMath.Exp(Vector256.Load(x + i) - mv);
            s = Vector256.Sum(a);
        }
        for (; i < V; i++) s += FastMath.Exp(x[i] - m);
        return m + MathF.Log(s);
    }

    /// <summary>dlogits += (softmax(logits) − onehot(target))·dloss/count per non-ignored row (count = non-ignored rows).</summary>
    public static void Backward(float* dlogits, float* logits, float* lse, int* targets, int BT, int V, float dloss = 1f, int ignoreIndex = DefaultIgnoreIndex)
    {
        int count = CountTargets(targets, BT, V, ignoreIndex);
        if (count == 0) return;
        var body = new Bwd { Dlogits = dlogits, Logits = logits, Lse = lse, Targets = targets, V = V, Ignore = ignoreIndex, Scale = dloss / count, Accumulate = true };
        WorkerPool.For(BT, 1, ref body);
    }

    private struct Bwd : IParallelBody
    {
        public float* Dlogits, Logits, Lse; public int* Targets; public int V, Ignore; public float Scale; public bool Accumulate;
        public readonly void Execute(int start, int end)
        {
            for (int r = start; r < end; r++)
            {
                float* x = Logits + (long)r * V, d = Dlogits + (long)r * V;
                int t = Targets[r];
                if (t == Ignore)
                {
                    if (!Accumulate) new Span<float>(d, V).Clear();
                    continue;
                }
                float l = Lse[r], sc = Scale;
                int i = 0;
                if (Vector512.IsHardwareAccelerated)
                {
                    var lv = Vector512.Create(l); var sv = Vector512.Create(sc);
                    for (; i + 16 <= V; i += 16)
                    {
                        var p = FastMath.Exp(Vector512.Load(x + i) - lv) * sv;
                        (Accumulate ? p + Vector512.Load(d + i) : p).Store(d + i);
                    }
                }
                if (Vector256.IsHardwareAccelerated)
                {
                    var lv = Vector256.Create(l); var sv = Vector256.Create(sc);
                    for (; i + 8 <= V; i += 8)
                    {
                        var p = FastMath.Exp(Vector256.Load(x + i) - lv) * sv;
                        (Accumulate ? p + Vector256.Load(d + i) : p).Store(d + i);
                    }
                }
                for (; i < V; i++) { float p = FastMath.Exp(x[i] - l) * sc; d[i] = Accumulate ? d[i] + p : p; }
                d[t] -= sc;
            }
        }
    }

    /// <summary>
    /// Loss of an LM head without materialising (BT, V): logits = hidden·Wᵀ per chunk of
    /// <paramref name="chunkRows"/> rows. When <paramref name="dhidden"/> and <paramref name="dW"/> are not null,
    /// also accumulates dhidden (BT, C) += dlogits·W and dW (V, C) += dlogitsᵀ·hidden for dloss = 1.
    /// Returns the mean loss over non-ignored rows. Shapes: hidden (BT, C), W (V, C), targets (BT).
    /// </summary>
    public static float LmHead(float* dhidden, float* dW, float* hidden, float* W, int* targets, int BT, int C, int V, int chunkRows = 256, int ignoreIndex = DefaultIgnoreIndex)
    {
        if (chunkRows <= 0) throw new ArgumentException($"cross-entropy: chunkRows must be positive, got {chunkRows}");
        int count = CountTargets(targets, BT, V, ignoreIndex);
        int R = Math.Min(chunkRows, Math.Max(1, BT));
        float* logits = Scratch.Floats(3, (long)R * V);
        float* small = Scratch.Floats(1, 2L * R); // per-row loss and lse of a chunk
        bool grads = dhidden != null && dW != null;
        double total = 0;
        for (int r0 = 0; r0 < BT; r0 += R)
        {
            int rows = Math.Min(R, BT - r0);
            Gemm.Run(false, true, rows, V, C, hidden + (long)r0 * C, C, W, C, logits, V, false); // (rows, V)
            var fwd = new Fwd { Losses = small, Lse = small + R, Logits = logits, Targets = targets + r0, V = V, Ignore = ignoreIndex };
            WorkerPool.For(rows, 1, ref fwd);
            for (int r = 0; r < rows; r++) total += small[r];
            if (!grads || count == 0) continue;
            var bwd = new Bwd { Dlogits = logits, Logits = logits, Lse = small + R, Targets = targets + r0, V = V, Ignore = ignoreIndex, Scale = 1f / count, Accumulate = false };
            WorkerPool.For(rows, 1, ref bwd); // logits → dlogits in place
            Gemm.Run(false, false, rows, C, V, logits, V, W, C, dhidden + (long)r0 * C, C, true);    // (rows, C)
            Gemm.Run(true, false, V, C, rows, logits, V, hidden + (long)r0 * C, C, dW, C, true);     // (V, C)
        }
        return (float)(total / count);
    }

    /// <summary>Scalar twin over logits in double: returns the mean loss and, if dlogits is not empty, accumulates the gradient.</summary>
    public static double Reference(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int BT, int V, Span<float> dlogits = default, int ignoreIndex = DefaultIgnoreIndex)
    {
        int count = 0; for (int r = 0; r < BT; r++) if (targets[r] != ignoreIndex) count++;
        double total = 0;
        for (int r = 0; r < BT; r++)
        {
            if (targets[r] == ignoreIndex) continue;
            double m = double.NegativeInfinity; for (int i = 0; i < V; i++) m = Math.Max(m, logits[r * V + i]);
            double s = 0; for (int i = 0; i < V; i++) s += Math.Exp(logits[r * V + i] - m);
            double lse = m + Math.Log(s);
            total += lse - logits[r * V + targets[r]];
            if (dlogits.IsEmpty) continue;
            for (int i = 0; i < V; i++)
                dlogits[r * V + i] = (float)(dlogits[r * V + i] + (Math.Exp(logits[r * V + i] - lse) - (i == targets[r] ? 1 : 0)) / count);
        }
        return total / count;
    }
}
