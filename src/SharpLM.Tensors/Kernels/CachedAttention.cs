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
// Parallel over (tile of up to four rows, head). When a tile's rows share a sequence (a prompt), their scores
// are computed together with the partial sums in registers, each key vector loaded once for the four rows;
// otherwise (decode: one row per sequence) row by row with axpy passes — both the same FMA chain per score, so
// a row's bits do not depend on its tile. The scores of one task live in per-thread scratch. Not here: paged caches,
// sliding windows, or the training kernel (Attention.cs, FlashAttention-2 tiles). ALiBi (Press et al. 2022):
// with per-head slopes m_h, score(p, t) += m_h·(t − p), as the training attention adds it.
using System.Runtime.Intrinsics;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Kernels;

/// <summary>Attention of query rows over a per-sequence KV cache.</summary>
public static unsafe class CachedAttention
{
    private const int RT = 4; // query rows of one sequence and head whose scores share each key load
    /// <summary>out[r, h] = softmax_t≤p_r(scale·q[r,h]·K[s_r, h/G, t] + m_h·(t − p_r))·V[s_r, h/G, t], scale = 1/√HS; <paramref name="slopes"/> (NH) null = no ALiBi.</summary>
    public static void Forward(float* output, float* q, int R, int* seq, int* pos, float* kCache, float* vCache, int NH, int NKV, int HS, int Tmax, float* slopes = null)
    {
        if (NKV <= 0 || NH % NKV != 0) throw new ArgumentException($"attention: n_kv_heads {NKV} must divide n_heads {NH}");
        var body = new Body { Out = output, Q = q, R = R, Seq = seq, Pos = pos, K = kCache, V = vCache, NH = NH, NKV = NKV, HS = HS, Tmax = Tmax, Slopes = slopes };
        WorkerPool.For((R + RT - 1) / RT * NH, Math.Max(1, NH / 2), ref body);
    }

    private struct Body : IParallelBody
    {
        public float* Out, Q, K, V, Slopes; public int* Seq, Pos; public int R, NH, NKV, HS, Tmax;

        public readonly void Execute(int start, int end)
        {
            float scale = 1f / MathF.Sqrt(HS);
            float* sc = Scratch.Floats(3, (long)RT * Tmax);
            for (int task = start; task < end; task++)
            {
                int r0 = task / NH * RT, h = task % NH, kvh = h / (NH / NKV);
                int rows = Math.Min(RT, R - r0);
                bool tile = Vector512.IsHardwareAccelerated && rows > 1;
                int nmax = 0;
                for (int i = 0; i < rows; i++)
                {
                    tile &= Seq[r0 + i] == Seq[r0];
                    nmax = Math.Max(nmax, Pos[r0 + i] + 1);
                }
                if (tile)
                {
                    // Scores of up to four rows at once (missing rows repeat the last; their scores are not used).
                    float* q0 = Q + ((long)r0 * NH + h) * HS;
                    long rs = (long)NH * HS;
                    float* kh = K + ((long)Seq[r0] * NKV + kvh) * Tmax * HS;
                    Scores4(q0, q0 + Math.Min(1, rows - 1) * rs, q0 + Math.Min(2, rows - 1) * rs, q0 + Math.Min(3, rows - 1) * rs, kh, Tmax, HS, nmax, scale, sc);
                    for (int i = 0; i < rows; i++) Finish(r0 + i, h, sc + (long)i * Tmax);
                }
                else
                    for (int i = 0; i < rows; i++)
                    {
                        int r = r0 + i, n = Pos[r] + 1;
                        float* qr = Q + ((long)r * NH + h) * HS;
                        float* kh = K + ((long)Seq[r] * NKV + kvh) * Tmax * HS;
                        new Span<float>(sc, n).Clear();
                        for (int d = 0; d < HS; d++) Simd.Axpy(qr[d], kh + (long)d * Tmax, sc, n);
                        Simd.Scale(scale, sc, n);
                        Finish(r, h, sc);
                    }
            }
        }

        /// <summary>Row r, head h from its scaled scores sc[0..p_r]: ALiBi, softmax, Σ_t p_t·v_t, normalisation.</summary>
        private readonly void Finish(int r, int h, float* sc)
        {
            int kvh = h / (NH / NKV), p = Pos[r], n = p + 1;
            float* o = Out + ((long)r * NH + h) * HS;
            float* vh = V + ((long)Seq[r] * NKV + kvh) * Tmax * HS;
            if (Slopes != null)
            {
                float m = Slopes[h];
                for (int t = 0; t < n; t++) sc[t] += m * (t - p);
            }
            float mx = Simd.Max(sc, n);
            float sum = Simd.ExpSub(sc, mx, sc, n);
            int c0 = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; c0 + 64 <= HS; c0 += 64) // 64 output channels in four registers across all keys (four FMA chains)
                {
                    Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                    float* vc = vh + c0;
                    for (int t = 0; t < n; t++, vc += HS)
                    {
                        var pt = Vector512.Create(sc[t]);
                        a0 = Vector512.FusedMultiplyAdd(pt, Vector512.Load(vc), a0);
                        a1 = Vector512.FusedMultiplyAdd(pt, Vector512.Load(vc + 16), a1);
                        a2 = Vector512.FusedMultiplyAdd(pt, Vector512.Load(vc + 32), a2);
                        a3 = Vector512.FusedMultiplyAdd(pt, Vector512.Load(vc + 48), a3);
                    }
                    a0.Store(o + c0); a1.Store(o + c0 + 16); a2.Store(o + c0 + 32); a3.Store(o + c0 + 48);
                }
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

    /// <summary>
    /// sc[i·Tmax + t] = scale·(Σ_d q_i[d]·K[d, t]) for four query rows i and t &lt; n, each sum one FMA chain in d order
    /// from 0 — the arithmetic of clearing a row of scores, HS axpy passes and a scaling pass — with the partial sums
    /// in registers (4 rows × 32 keys, eight independent chains) so each key vector loaded serves four rows.
    /// </summary>
    private static void Scores4(float* q0, float* q1, float* q2, float* q3, float* k, int Tmax, int HS, int n, float scale, float* sc)
    {
        var s = Vector512.Create(scale);
        float* s0 = sc, s1 = sc + Tmax, s2 = sc + 2L * Tmax, s3 = sc + 3L * Tmax;
        int t = 0;
        for (; t + 32 <= n; t += 32)
        {
            Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
            float* kd = k + t;
            for (int d = 0; d < HS; d++, kd += Tmax)
            {
                var k0 = Vector512.Load(kd); var k1 = Vector512.Load(kd + 16);
                var x = Vector512.Create(q0[d]); a0 = Vector512.FusedMultiplyAdd(x, k0, a0); b0 = Vector512.FusedMultiplyAdd(x, k1, b0);
                x = Vector512.Create(q1[d]); a1 = Vector512.FusedMultiplyAdd(x, k0, a1); b1 = Vector512.FusedMultiplyAdd(x, k1, b1);
                x = Vector512.Create(q2[d]); a2 = Vector512.FusedMultiplyAdd(x, k0, a2); b2 = Vector512.FusedMultiplyAdd(x, k1, b2);
                x = Vector512.Create(q3[d]); a3 = Vector512.FusedMultiplyAdd(x, k0, a3); b3 = Vector512.FusedMultiplyAdd(x, k1, b3);
            }
            (a0 * s).Store(s0 + t); (b0 * s).Store(s0 + t + 16);
            (a1 * s).Store(s1 + t); (b1 * s).Store(s1 + t + 16);
            (a2 * s).Store(s2 + t); (b2 * s).Store(s2 + t + 16);
            (a3 * s).Store(s3 + t); (b3 * s).Store(s3 + t + 16);
        }
        for (; t < n; t++)
        {
            float a = 0f, b = 0f, c = 0f, e = 0f;
            for (int d = 0; d < HS; d++)
            {
                float kv = k[(long)d * Tmax + t];
                a = MathF.FusedMultiplyAdd(q0[d], kv, a); b = MathF.FusedMultiplyAdd(q1[d], kv, b);
                c = MathF.FusedMultiplyAdd(q2[d], kv, c); e = MathF.FusedMultiplyAdd(q3[d], kv, e);
            }
            s0[t] = a * scale; s1[t] = b * scale; s2[t] = c * scale; s3[t] = e * scale;
        }
    }
}
