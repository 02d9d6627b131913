// Causal grouped-query self-attention for training, built on the packed GEMM so that the QKᵀ, P·V and the
// four backward products run at matrix-multiply speed instead of one dot product per (query, key) pair.
// The algorithm is FlashAttention-2's (Dao 2023) at the granularity of a block of Br query rows: for each
// block the scores S = scale·Q·Kᵀ (+ ALiBi bias) against the visible keys [0, i1) are built in a per-thread
// scratch of Br × T floats (never the full (B, NH, T, T) tensor), softmaxed with the causal mask, and
// multiplied by V; forward saves only the output and the per-row logsumexp. Backward recomputes P from
// the logsumexp and forms dP = dO·Vᵀ, dS = P ⊙ (dP − rowsum(dO ⊙ O))·scale, dQ = dS·K, dK += dSᵀ·Q,
// dV += Pᵀ·dO (the standard softmax backward; Dao 2023, Algorithm 2).
//   ALiBi (Press et al. 2022): score(i, j) += slope_h · (j − i) for j ≤ i, slopes per head (see AlibiSlopes).
// Layouts as SharpLM.Tensors.Kernels.Attention: q, out (B, T, NH, HS); k, v (B, T, NKV, HS); lse (B, NH, T);
// head h reads kv head h / (NH/NKV). Parallelism: forward over (b, h, query block); backward over (b, kv
// head), each task owning its dK/dV rows and walking the heads of its group and the query blocks in a
// fixed order, so results do not depend on the thread count. GEMMs called inside a task run on that thread.
// Backward also reads q, k, v and out saved as bf16 (bf16 activations), widening one head at a time.
// What it is not: a decode (KV-cache) kernel, non-causal or padded attention, or dropout on P.
using System.Runtime.Intrinsics;
using SharpLM.Tensors;
using SharpLM.Tensors.Kernels;
using SharpLM.Tensors.Threading;

namespace SharpLM.Models.Modeling;

/// <summary>Causal GQA attention over GEMM tiles, with optional ALiBi biases.</summary>
public static unsafe class CausalAttention
{
    private const int Br = 64; // query rows per block

    [ThreadStatic] private static NativeBuffer? _scratch;

    private static float* Scratch(long floats)
    {
        if (_scratch is not { } b || b.Bytes < floats * 4)
        {
            _scratch?.Dispose();
            _scratch = b = new NativeBuffer(floats * 4);
        }
        return (float*)b.Pointer;
    }

    /// <summary>
    /// ALiBi slopes for <paramref name="NH"/> heads (Press et al. 2022, reference code): for NH a power of two,
    /// 2^(−8/NH·(h+1)); otherwise those of the largest power of two c &lt; NH followed by every other slope of 2c.
    /// </summary>
    public static float[] AlibiSlopes(int NH)
    {
        static double[] Pow2(int n)
        {
            double start = Math.Pow(2, -Math.Pow(2, -(Math.Log2(n) - 3)));
            var s = new double[n];
            for (int i = 0; i < n; i++) s[i] = start * Math.Pow(start, i);
            return s;
        }
        var r = new float[NH];
        if ((NH & (NH - 1)) == 0)
        {
            var s = Pow2(NH);
            for (int i = 0; i < NH; i++) r[i] = (float)s[i];
            return r;
        }
        int c = 1 << (int)Math.Floor(Math.Log2(NH));
        var a = Pow2(c); var b = Pow2(2 * c);
        for (int i = 0; i < c; i++) r[i] = (float)a[i];
        for (int i = c; i < NH; i++) r[i] = (float)b[2 * (i - c)];
        return r;
    }

    /// <summary>out = softmax(scale·q·kᵀ + bias, causal)·v per head; saves lse (B, NH, T). <paramref name="slopes"/> (NH) enables ALiBi, null disables it.</summary>
    public static void Forward(float* output, float* lse, float* q, float* k, float* v, int B, int T, int NH, int NKV, int HS, float* slopes = null)
        => Forward(output, lse, q, NH * HS, k, NKV * HS, v, NKV * HS, B, T, NH, NKV, HS, slopes);

    /// <summary>As the dense overload with row strides: q rows every <paramref name="ldq"/> floats, k every <paramref name="ldk"/>, v every <paramref name="ldv"/> (e.g. views into one fused QKV projection); output stays (B, T, NH, HS).</summary>
    /// <remarks>With <paramref name="keep"/> not null, also writes keep = bf16(output) (B, T, NH, HS) block by block (bf16 activations).</remarks>
    public static void Forward(float* output, float* lse, float* q, int ldq, float* k, int ldk, float* v, int ldv, int B, int T, int NH, int NKV, int HS, float* slopes = null, ushort* keep = null)
    {
        if (NKV <= 0 || NH % NKV != 0) throw new ArgumentException($"attention: n_kv_heads {NKV} must divide n_heads {NH}");
        int qBlocks = (T + Br - 1) / Br;
        var body = new Fwd { Out = output, Lse = lse, Q = q, K = k, V = v, Ldq = ldq, Ldk = ldk, Ldv = ldv, Slopes = slopes, T = T, NH = NH, NKV = NKV, HS = HS, QBlocks = qBlocks, Keep = keep };
        WorkerPool.For(B * NH * qBlocks, 1, ref body);
    }

    private struct Fwd : IParallelBody
    {
        public float* Out, Lse, Q, K, V, Slopes; public ushort* Keep; public int Ldq, Ldk, Ldv, T, NH, NKV, HS, QBlocks;
        public readonly void Execute(int start, int end)
        {
            float* S = Scratch((long)Br * T);
            float scale = 1f / MathF.Sqrt(HS);
            int os = NH * HS, qs = Ldq, ks = Ldk, vs = Ldv;
            for (int task = start; task < end; task++)
            {
                // Largest blocks first would balance better; the fixed order keeps it simple and deterministic.
                int qb = task % QBlocks, bh = task / QBlocks, h = bh % NH, b = bh / NH, kvh = h / (NH / NKV);
                int i0 = qb * Br, i1 = Math.Min(T, i0 + Br), rows = i1 - i0, n = i1;
                float* qBlk = Q + ((long)b * T + i0) * qs + h * HS, oBlk = Out + ((long)b * T + i0) * os + h * HS;
                float* kh = K + (long)b * T * ks + kvh * HS, vh = V + (long)b * T * vs + kvh * HS;
                Gemm.Run(false, true, rows, n, HS, qBlk, qs, kh, ks, S, n, false); // (rows, n)
                float slope = Slopes == null ? 0f : Slopes[h];
                float* lseRow = Lse + (long)bh * T;
                for (int r = 0; r < rows; r++)
                {
                    int i = i0 + r;
                    float* s = S + (long)r * n;
                    float l = RowSoftmax(s, i + 1, n, scale, slope, i);
                    lseRow[i] = l;
                }
                Gemm.Run(false, false, rows, HS, n, S, n, vh, vs, oBlk, os, false); // (rows, HS)
                if (Keep != null)
                    for (int r = 0; r < rows; r++)
                        BFloat16Convert.FromFloat(oBlk + (long)r * os, Keep + ((long)b * T + i0 + r) * os + h * HS, HS);
            }
        }
    }

    // s[0..valid) ← softmax(scale·s + slope·(j − i)), s[valid..n) ← 0; returns the logsumexp of the biased scores.
    private static float RowSoftmax(float* s, int valid, int n, float scale, float slope, int i)
    {
        Prep(s, valid, scale, slope, i);
        float m = Simd.Max(s, valid);
        float sum = ExpInPlace(s, m, valid);
        float inv = 1f / sum;
        ScaleRow(s, inv, valid);
        new Span<float>(s + valid, n - valid).Clear();
        return m + MathF.Log(sum);
    }

    // s ← scale·s + slope·(j − i) for j < valid.
    private static void Prep(float* s, int valid, float scale, float slope, int i)
    {
        int j = 0;
        var sc = Vector512.Create(scale);
        if (slope == 0f)
        {
            for (; j + 16 <= valid; j += 16) (Vector512.Load(s + j) * sc).Store(s + j);
            for (; j < valid; j++) s[j] *= scale;
            return;
        }
        var sl = Vector512.Create(slope);
        var idx = Vector512.Create(0f, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        for (; j + 16 <= valid; j += 16)
            Vector512.FusedMultiplyAdd(sl, idx + Vector512.Create((float)(j - i)), Vector512.Load(s + j) * sc).Store(s + j);
        for (; j < valid; j++) s[j] = MathF.FusedMultiplyAdd(slope, j - i, s[j] * scale);
    }

    private static float ExpInPlace(float* s, float m, int n)
    {
        int j = 0; float sum = 0;
        var mv = Vector512.Create(m); var acc = Vector512<float>.Zero;
        for (; j + 16 <= n; j += 16) { var e = FastMath.Exp(Vector512.Load(s + j) - mv); e.Store(s + j); acc += e; }
        sum = Vector512.Sum(acc);
        for (; j < n; j++) { float e = FastMath.Exp(s[j] - m); s[j] = e; sum += e; }
        return sum;
    }

    private static void ScaleRow(float* s, float a, int n)
    {
        int j = 0; var av = Vector512.Create(a);
        for (; j + 16 <= n; j += 16) (Vector512.Load(s + j) * av).Store(s + j);
        for (; j < n; j++) s[j] *= a;
    }

    /// <summary>
    /// Writes dq and dk, dv (overwriting them) from dout, the forward's inputs, output and lse. Deterministic
    /// for any thread count.
    /// </summary>
    public static void Backward(float* dq, float* dk, float* dv, float* dout, float* q, float* k, float* v, float* output, float* lse, int B, int T, int NH, int NKV, int HS, float* slopes = null)
        => Backward(dq, dk, dv, dout, q, NH * HS, k, NKV * HS, v, NKV * HS, output, lse, B, T, NH, NKV, HS, slopes);

    /// <summary>As the dense overload with row strides for q/dq (<paramref name="ldq"/>), k/dk (<paramref name="ldk"/>) and v/dv (<paramref name="ldv"/>); out and dout are (B, T, NH, HS).</summary>
    public static void Backward(float* dq, float* dk, float* dv, float* dout, float* q, int ldq, float* k, int ldk, float* v, int ldv, float* output, float* lse, int B, int T, int NH, int NKV, int HS, float* slopes = null)
    {
        if (NKV <= 0 || NH % NKV != 0) throw new ArgumentException($"attention: n_kv_heads {NKV} must divide n_heads {NH}");
        var body = new Bwd { Dq = dq, Dk = dk, Dv = dv, Dout = dout, Q = q, K = k, V = v, Out = output, Lse = lse, Slopes = slopes, Ldq = ldq, Ldk = ldk, Ldv = ldv, T = T, NH = NH, NKV = NKV, HS = HS };
        WorkerPool.For(B * NKV, 1, ref body);
    }

    /// <summary>
    /// As the strided overload with q, k, v and out saved as bf16 (raw bits; dq/dk/dv share the strides of q/k/v,
    /// out and dout are (B, T, NH, HS)): each task widens its key/value head and each query head exactly into
    /// f32 scratch, then runs the same f32 arithmetic (bf16 activations).
    /// </summary>
    public static void Backward(float* dq, float* dk, float* dv, float* dout, ushort* q, int ldq, ushort* k, int ldk, ushort* v, int ldv, ushort* output, float* lse, int B, int T, int NH, int NKV, int HS, float* slopes = null)
    {
        if (NKV <= 0 || NH % NKV != 0) throw new ArgumentException($"attention: n_kv_heads {NKV} must divide n_heads {NH}");
        var body = new Bwd { Dq = dq, Dk = dk, Dv = dv, Dout = dout, Qb = q, Kb = k, Vb = v, Ob = output, Lse = lse, Slopes = slopes, Ldq = ldq, Ldk = ldk, Ldv = ldv, T = T, NH = NH, NKV = NKV, HS = HS };
        WorkerPool.For(B * NKV, 1, ref body);
    }

    // rows × HS of a bf16 head (row stride ld) → dense f32 (row stride HS).
    private static void WidenHead(ushort* src, int ld, float* dst, int rows, int HS)
    {
        for (int t = 0; t < rows; t++) BFloat16Convert.ToFloat(src + (long)t * ld, dst + (long)t * HS, HS);
    }

    private struct Bwd : IParallelBody
    {
        public float* Dq, Dk, Dv, Dout, Q, K, V, Out, Lse, Slopes; public ushort* Qb, Kb, Vb, Ob; public int Ldq, Ldk, Ldv, T, NH, NKV, HS;
        public readonly void Execute(int start, int end)
        {
            bool bf = Kb != null;
            float* P = Scratch(2L * Br * T + (bf ? 4L * T * HS : 0)), dS = P + (long)Br * T;
            float* kw = dS + (long)Br * T, vw = kw + (long)T * HS, qw = vw + (long)T * HS, ow = qw + (long)T * HS; // bf16 mode only
            float scale = 1f / MathF.Sqrt(HS);
            int os = NH * HS, qs = Ldq, ks = Ldk, vs = Ldv, group = NH / NKV;
            int qsR = bf ? HS : qs, ksR = bf ? HS : ks, vsR = bf ? HS : vs, osR = bf ? HS : os; // strides of what is read
            for (int task = start; task < end; task++)
            {
                int kvh = task % NKV, b = task / NKV;
                long kOff = (long)b * T * ks + kvh * HS, vOff = (long)b * T * vs + kvh * HS;
                float* kh, vh, dkh = Dk + kOff, dvh = Dv + vOff;
                if (bf)
                {
                    WidenHead(Kb + kOff, ks, kw, T, HS); WidenHead(Vb + vOff, vs, vw, T, HS);
                    kh = kw; vh = vw;
                }
                else { kh = K + kOff; vh = V + vOff; }
                for (int t = 0; t < T; t++)
                {
                    new Span<float>(dkh + (long)t * ks, HS).Clear();
                    new Span<float>(dvh + (long)t * vs, HS).Clear();
                }
                for (int hg = 0; hg < group; hg++)
                {
                    int h = kvh * group + hg;
                    float slope = Slopes == null ? 0f : Slopes[h];
                    float* lseRow = Lse + ((long)b * NH + h) * T;
                    if (bf)
                    {
                        WidenHead(Qb + (long)b * T * qs + h * HS, qs, qw, T, HS);
                        WidenHead(Ob + (long)b * T * os + h * HS, os, ow, T, HS);
                    }
                    for (int i0 = 0; i0 < T; i0 += Br)
                    {
                        int i1 = Math.Min(T, i0 + Br), rows = i1 - i0, n = i1;
                        long qOff = ((long)b * T + i0) * qs + h * HS, oOff = ((long)b * T + i0) * os + h * HS;
                        float* qBlk = bf ? qw + (long)i0 * HS : Q + qOff, oBlk = bf ? ow + (long)i0 * HS : Out + oOff;
                        float* gBlk = Dout + oOff, dqBlk = Dq + qOff;
                        Gemm.Run(false, true, rows, n, HS, qBlk, qsR, kh, ksR, P, n, false);  // scores (rows, n)
                        Gemm.Run(false, true, rows, n, HS, gBlk, os, vh, vsR, dS, n, false);  // dP (rows, n)
                        for (int r = 0; r < rows; r++)
                        {
                            int i = i0 + r, valid = i + 1;
                            float* p = P + (long)r * n, d = dS + (long)r * n;
                            Prep(p, valid, scale, slope, i);
                            float Di = Simd.Dot(gBlk + (long)r * os, oBlk + (long)r * osR, HS);
                            SoftmaxGrad(p, d, lseRow[i], Di, scale, valid);
                            new Span<float>(p + valid, n - valid).Clear();
                            new Span<float>(d + valid, n - valid).Clear();
                        }
                        Gemm.Run(true, false, n, HS, rows, P, n, gBlk, os, dvh, vs, true);      // dV += Pᵀ·dO
                        Gemm.Run(false, false, rows, HS, n, dS, n, kh, ksR, dqBlk, qs, false);  // dQ = dS·K
                        Gemm.Run(true, false, n, HS, rows, dS, n, qBlk, qsR, dkh, ks, true);    // dK += dSᵀ·Q
                    }
                }
            }
        }

        // p ← exp(p − lse); d ← p·(d − D)·scale.
        private static void SoftmaxGrad(float* p, float* d, float lse, float D, float scale, int n)
        {
            int j = 0;
            var lv = Vector512.Create(lse); var dv = Vector512.Create(D); var sv = Vector512.Create(scale);
            for (; j + 16 <= n; j += 16)
            {
                var e = FastMath.Exp(Vector512.Load(p + j) - lv);
                e.Store(p + j);
                (e * (Vector512.Load(d + j) - dv) * sv).Store(d + j);
            }
            for (; j < n; j++) { float e = FastMath.Exp(p[j] - lse); p[j] = e; d[j] = e * (d[j] - D) * scale; }
        }
    }
}
