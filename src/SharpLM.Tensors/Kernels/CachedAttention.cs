// Causal attention against a key/value cache, for generation. Each of R query rows belongs to a sequence
// s_r and sits at position p_r; it attends to keys 0..p_r of its own sequence's cache (which the caller has
// already filled up to p_r, the row's own key included). One code path serves a whole prompt (R = prompt
// length, positions 0..T−1) and a decode step (R = batch, one row per sequence), and a row's arithmetic is
// the same in both: scores = scale·q·k_t, softmax with the running max subtracted, out = Σ p_t·v_t — so a
// cached decode gives the same bits as recomputing the prefix. Grouped-query heads: query head h reads
// KV head h / (NH/NKV).
//   cache layout per layer: keys (S, NKV, HS, Tmax) — transposed, so the scores of one query against all its
//   keys are HS contiguous axpy passes vectorised across keys (no horizontal sum per key); values
//   (S, NKV, Tmax, HS); q and out: (R, NH, HS). A score is Σ_d q_d·k_d accumulated in d order.
// Parallel over (row, head); the scores of one task live in per-thread scratch. Not here: paged caches,
// sliding windows, or the training kernel (Attention.cs, FlashAttention-2 tiles). ALiBi (Press et al. 2022):
// with per-head slopes m_h, score(p, t) += m_h·(t − p), as the training attention adds it.
using System.Runtime.Intrinsics;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Kernels;

/// <summary>Attention of query rows over a per-sequence KV cache.</summary>
public static unsafe class CachedAttention
{
    /// <summary>out[r, h] = softmax_t≤p_r(scale·q[r,h]·K[s_r, h/G, t] + m_h·(t − p_r))·V[s_r, h/G, t], scale = 1/√HS; <paramref name="slopes"/> (NH) null = no ALiBi.</summary>
    public static void Forward(float* output, float* q, int R, int* seq, int* pos, float* kCache, float* vCache, int NH, int NKV, int HS, int Tmax, float* slopes = null)
    {
        if (NKV <= 0 || NH % NKV != 0) throw new ArgumentException($"attention: n_kv_heads {NKV} must divide n_heads {NH}");
        var body = new Body { Out = output, Q = q, Seq = seq, Pos = pos, K = kCache, V = vCache, NH = NH, NKV = NKV, HS = HS, Tmax = Tmax, Slopes = slopes };
        WorkerPool.For(R * NH, Math.Max(1, NH / 2), ref body);
    }

    private struct Body : IParallelBody
    {
        public float* Out, Q, K, V, Slopes; public int* Seq, Pos; public int NH, NKV, HS, Tmax;

        public readonly void Execute(int start, int end)
        {
            float scale = 1f / MathF.Sqrt(HS);
            float* sc = Scratch.Floats(3, Tmax);
            for (int task = start; task < end; task++)
            {
                int r = task / NH, h = task % NH, kvh = h / (NH / NKV);
                int p = Pos[r], n = p + 1;
                float* qr = Q + ((long)r * NH + h) * HS, o = Out + ((long)r * NH + h) * HS;
                long head = ((long)Seq[r] * NKV + kvh) * Tmax * HS;
                float* kh = K + head, vh = V + head;
                new Span<float>(sc, n).Clear();
                for (int d = 0; d < HS; d++) Simd.Axpy(qr[d], kh + (long)d * Tmax, sc, n);
                Simd.Scale(scale, sc, n);
                if (Slopes != null)
                {
                    float m = Slopes[h];
                    for (int t = 0; t < n; t++) sc[t] += m * (t - p);
                }
                float mx = Simd.Max(sc, n);
                float sum = Simd.ExpSub(sc, mx, sc, n);
                int c0 = 0;
                if (Vector512.IsHardwareAccelerated)
                    for (; c0 + 16 <= HS; c0 += 16) // 16 output channels in a register across all keys
                    {
                        var acc = Vector512<float>.Zero;
                        float* vc = vh + c0;
                        for (int t = 0; t < n; t++) acc = Vector512.FusedMultiplyAdd(Vector512.Create(sc[t]), Vector512.Load(vc + (long)t * HS), acc);
                        acc.Store(o + c0);
                    }
                for (; c0 < HS; c0++)
                {
                    float acc = 0f;
                    for (int t = 0; t < n; t++) acc = MathF.FusedMultiplyAdd(sc[t], vh[(long)t * HS + c0], acc);
                    o[c0] = acc;
                }
                Simd.Scale(1f / sum, o, HS);
            }
        }
    }
}
