// Fused causal self-attention in the manner of FlashAttention-2 (Dao 2023): queries and keys are
// walked in blocks with an online softmax (running max m and sum l per query row), so no T×T matrix
// is ever stored. Forward saves only the output and the per-row logsumexp L = m + log l; backward
// recomputes P = exp(scale·q·k − L) tile by tile.
//
// Layout (row-major, no transposes needed by callers of a fused QKV projection that is split per head):
//   q, dq:        (B, T, NH,  HS)
//   k, v, dk, dv: (B, T, NKV, HS)   NKV divides NH: head h reads kv head h / (NH/NKV)  (MHA, GQA, MQA)
//   out, dout:    (B, T, NH,  HS)
//   lse:          (B, NH, T)
// scale = 1/√HS; key j is visible to query i iff j ≤ i.
//
// Parallelism and determinism: forward and dQ are parallel over (b, h, query block), each query row
// owned by one task. dK/dV are a separate pass parallel over (b, kv head, key block): each key row is
// owned by one task, which walks every query head of its group and every later query in a fixed order,
// so nothing races and results do not depend on thread count. The per-row D = Σ dout·out is computed
// first. The recomputation costs one extra QKᵀ compared with a single fused backward.
// With AVX-512 and a head size that is a multiple of 16, Forward and Backward take the register-blocked
// tile path of AttentionAvx512.cs (same algorithm and task split, 64×64 tiles done as small matrix
// products); the per-pair code below is the path for everything else.
// What it is not: non-causal or masked/padded attention, dropout on P, or a KV-cache decode kernel.
using System.Runtime.Intrinsics;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Kernels;

/// <summary>Causal attention with grouped-query heads.</summary>
public static unsafe partial class Attention
{
    private const int Br = 32; // query rows per task
    private const int Bc = 64; // keys per tile

    private static void Check(int NH, int NKV, int HS)
    {
        if (NKV <= 0 || NH % NKV != 0) throw new ArgumentException($"attention: n_kv_heads {NKV} must divide n_heads {NH}");
        if (HS <= 0) throw new ArgumentException($"attention: head size {HS} must be positive");
    }

    /// <summary>out = softmax(scale·q·kᵀ + causal mask)·v per head; saves lse (B, NH, T).</summary>
    public static void Forward(float* output, float* lse, float* q, float* k, float* v, int B, int T, int NH, int NKV, int HS)
    {
        Check(NH, NKV, HS);
        if (FastPath(HS)) { ForwardAvx512(output, lse, q, k, v, B, T, NH, NKV, HS); return; }
        int qBlocks = (T + Br - 1) / Br;
        var body = new Fwd { Out = output, Lse = lse, Q = q, K = k, V = v, T = T, NH = NH, NKV = NKV, HS = HS, QBlocks = qBlocks };
        WorkerPool.For(B * NH * qBlocks, 1, ref body);
    }

    private struct Fwd : IParallelBody
    {
        public float* Out, Lse, Q, K, V; public int T, NH, NKV, HS, QBlocks;
        public readonly void Execute(int start, int end)
        {
            float scale = 1f / MathF.Sqrt(HS);
            float* s = Scratch.Floats(2, Bc + 2L * Br); // scores of one row-tile, then m and l per row
            float* mRow = s + Bc, lRow = mRow + Br;
            for (int task = start; task < end; task++)
            {
                int qb = task % QBlocks, bh = task / QBlocks, h = bh % NH, b = bh / NH, kvh = h / (NH / NKV);
                int i0 = qb * Br, i1 = Math.Min(T, i0 + Br);
                long qStride = (long)NH * HS, kStride = (long)NKV * HS;
                float* qBase = Q + ((long)b * T * NH + h) * HS, oBase = Out + ((long)b * T * NH + h) * HS;
                float* kBase = K + ((long)b * T * NKV + kvh) * HS, vBase = V + ((long)b * T * NKV + kvh) * HS;
                for (int i = i0; i < i1; i++)
                {
                    mRow[i - i0] = float.NegativeInfinity; lRow[i - i0] = 0;
                    new Span<float>(oBase + i * qStride, HS).Clear();
                }
                for (int j0 = 0; j0 < i1; j0 += Bc) // key tiles up to the causal limit
                {
                    int j1 = Math.Min(i1, j0 + Bc);
                    for (int i = i0; i < i1; i++)
                    {
                        int jEnd = Math.Min(j1, i + 1);
                        if (jEnd <= j0) continue;
                        float* qi = qBase + i * qStride, oi = oBase + i * qStride;
                        float mx = float.NegativeInfinity;
                        for (int j = j0; j < jEnd; j++)
                        {
                            float x = Simd.Dot(qi, kBase + j * kStride, HS) * scale;
                            s[j - j0] = x; mx = MathF.Max(mx, x);
                        }
                        float mOld = mRow[i - i0], mNew = MathF.Max(mOld, mx);
                        float corr = FastMath.Exp(mOld - mNew); // 0 on the first tile (mOld = −∞)
                        float l = lRow[i - i0] * corr;
                        if (corr != 1f) Simd.Scale(corr, oi, HS);
                        for (int j = j0; j < jEnd; j++)
                        {
                            float p = FastMath.Exp(s[j - j0] - mNew);
                            l += p;
                            Simd.Axpy(p, vBase + j * kStride, oi, HS);
                        }
                        mRow[i - i0] = mNew; lRow[i - i0] = l;
                    }
                }
                float* lseRow = Lse + (long)bh * T;
                for (int i = i0; i < i1; i++)
                {
                    float l = lRow[i - i0];
                    Simd.Scale(1f / l, oBase + i * qStride, HS);
                    lseRow[i] = mRow[i - i0] + MathF.Log(l);
                }
            }
        }
    }

    /// <summary>
    /// Accumulates dq, dk, dv (+=) from dout, the forward's output and lse. Never stores a T×T matrix;
    /// deterministic for any thread count.
    /// </summary>
    public static void Backward(float* dq, float* dk, float* dv, float* dout, float* q, float* k, float* v, float* output, float* lse, int B, int T, int NH, int NKV, int HS)
    {
        Check(NH, NKV, HS);
        float* D = Scratch.Floats(1, (long)B * NH * T); // (B, NH, T): Σ_c dout·out
        var dBody = new RowDot { D = D, Dout = dout, Out = output, T = T, NH = NH, HS = HS };
        WorkerPool.For(B * T, 16, ref dBody);
        if (FastPath(HS)) { BackwardAvx512(dq, dk, dv, dout, q, k, v, lse, D, B, T, NH, NKV, HS); return; }

        int qBlocks = (T + Br - 1) / Br;
        var qBody = new Dq { Dq_ = dq, Dout = dout, Q = q, K = k, V = v, Lse = lse, D = D, T = T, NH = NH, NKV = NKV, HS = HS, QBlocks = qBlocks };
        WorkerPool.For(B * NH * qBlocks, 1, ref qBody);

        int kBlocks = (T + Bc - 1) / Bc;
        var kvBody = new Dkv { Dk = dk, Dv = dv, Dout = dout, Q = q, K = k, V = v, Lse = lse, D = D, T = T, NH = NH, NKV = NKV, HS = HS, KBlocks = kBlocks };
        WorkerPool.For(B * NKV * kBlocks, 1, ref kvBody);
    }

    private struct RowDot : IParallelBody
    {
        public float* D, Dout, Out; public int T, NH, HS;
        public readonly void Execute(int start, int end)
        {
            for (int bt = start; bt < end; bt++)
            {
                int b = bt / T, t = bt % T;
                for (int h = 0; h < NH; h++)
                {
                    long off = ((long)bt * NH + h) * HS;
                    D[((long)b * NH + h) * T + t] = Simd.Dot(Dout + off, Out + off, HS);
                }
            }
        }
    }

    private struct Dq : IParallelBody
    {
        public float* Dq_, Dout, Q, K, V, Lse, D; public int T, NH, NKV, HS, QBlocks;
        public readonly void Execute(int start, int end)
        {
            float scale = 1f / MathF.Sqrt(HS);
            for (int task = start; task < end; task++)
            {
                int qb = task % QBlocks, bh = task / QBlocks, h = bh % NH, b = bh / NH, kvh = h / (NH / NKV);
                int i0 = qb * Br, i1 = Math.Min(T, i0 + Br);
                long qStride = (long)NH * HS, kStride = (long)NKV * HS;
                long qOff = ((long)b * T * NH + h) * HS, kOff = ((long)b * T * NKV + kvh) * HS;
                float* lseRow = Lse + (long)bh * T, dRow = D + (long)bh * T;
                for (int j0 = 0; j0 < i1; j0 += Bc)
                {
                    int j1 = Math.Min(i1, j0 + Bc);
                    for (int i = i0; i < i1; i++)
                    {
                        int jEnd = Math.Min(j1, i + 1);
                        float* qi = Q + qOff + i * qStride, gi = Dout + qOff + i * qStride, dqi = Dq_ + qOff + i * qStride;
                        float li = lseRow[i], di = dRow[i];
                        for (int j = j0; j < jEnd; j++)
                        {
                            float* kj = K + kOff + j * kStride;
                            float p = FastMath.Exp(Simd.Dot(qi, kj, HS) * scale - li);
                            float ds = p * (Simd.Dot(gi, V + kOff + j * kStride, HS) - di);
                            Simd.Axpy(ds * scale, kj, dqi, HS);
                        }
                    }
                }
            }
        }
    }

    private struct Dkv : IParallelBody
    {
        public float* Dk, Dv, Dout, Q, K, V, Lse, D; public int T, NH, NKV, HS, KBlocks;
        public readonly void Execute(int start, int end)
        {
            float scale = 1f / MathF.Sqrt(HS);
            int group = NH / NKV;
            for (int task = start; task < end; task++)
            {
                int kb = task % KBlocks, bk = task / KBlocks, kvh = bk % NKV, b = bk / NKV;
                int j0 = kb * Bc, j1 = Math.Min(T, j0 + Bc);
                long qStride = (long)NH * HS, kStride = (long)NKV * HS;
                long kOff = ((long)b * T * NKV + kvh) * HS;
                for (int hg = 0; hg < group; hg++)
                {
                    int h = kvh * group + hg;
                    long qOff = ((long)b * T * NH + h) * HS;
                    float* lseRow = Lse + ((long)b * NH + h) * T, dRow = D + ((long)b * NH + h) * T;
                    for (int i = j0; i < T; i++) // queries that can see some key of this tile
                    {
                        float* qi = Q + qOff + i * qStride, gi = Dout + qOff + i * qStride;
                        float li = lseRow[i], di = dRow[i];
                        int jEnd = Math.Min(j1, i + 1);
                        for (int j = j0; j < jEnd; j++)
                        {
                            float* kj = K + kOff + j * kStride;
                            float p = FastMath.Exp(Simd.Dot(qi, kj, HS) * scale - li);
                            float dp = Simd.Dot(gi, V + kOff + j * kStride, HS);
                            Simd.Axpy(p, gi, Dv + kOff + j * kStride, HS);
                            Simd.Axpy(p * (dp - di) * scale, qi, Dk + kOff + j * kStride, HS);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Scalar twin: materialises P per head in double and applies the textbook formulas
    /// (O = P·V; dV = Pᵀ·dO; dP = dO·Vᵀ; dS = P ⊙ (dP − rowsum(dP ⊙ P)); dQ = scale·dS·K; dK = scale·dSᵀ·Q).
    /// Pass dq/dk/dv/dout empty to run only the forward. Gradients accumulate like the fast kernel.
    /// </summary>
    public static void Reference(Span<float> output, Span<float> lse, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        int B, int T, int NH, int NKV, int HS, ReadOnlySpan<float> dout = default, Span<float> dq = default, Span<float> dk = default, Span<float> dv = default)
    {
        Check(NH, NKV, HS);
        double scale = 1.0 / Math.Sqrt(HS);
        var P = new double[T * T]; var dP = new double[T * T];
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
            {
                int kvh = h / (NH / NKV);
                int Qi(int t, int c) => ((b * T + t) * NH + h) * HS + c;
                int Ki(int t, int c) => ((b * T + t) * NKV + kvh) * HS + c;
                for (int i = 0; i < T; i++)
                {
                    double m = double.NegativeInfinity;
                    for (int j = 0; j <= i; j++)
                    {
                        double s = 0; for (int c = 0; c < HS; c++) s += (double)q[Qi(i, c)] * k[Ki(j, c)];
                        P[i * T + j] = s * scale; m = Math.Max(m, s * scale);
                    }
                    double l = 0;
                    for (int j = 0; j <= i; j++) { P[i * T + j] = Math.Exp(P[i * T + j] - m); l += P[i * T + j]; }
                    for (int j = 0; j <= i; j++) P[i * T + j] /= l;
                    lse[(b * NH + h) * T + i] = (float)(m + Math.Log(l));
                    for (int c = 0; c < HS; c++)
                    {
                        double o = 0; for (int j = 0; j <= i; j++) o += P[i * T + j] * v[Ki(j, c)];
                        output[Qi(i, c)] = (float)o;
                    }
                }
                if (dq.IsEmpty) continue;
                for (int i = 0; i < T; i++)
                {
                    double rs = 0;
                    for (int j = 0; j <= i; j++)
                    {
                        double d = 0; for (int c = 0; c < HS; c++) d += (double)dout[Qi(i, c)] * v[Ki(j, c)];
                        dP[i * T + j] = d; rs += d * P[i * T + j];
                    }
                    for (int j = 0; j <= i; j++)
                    {
                        double ds = P[i * T + j] * (dP[i * T + j] - rs) * scale;
                        for (int c = 0; c < HS; c++)
                        {
                            dq[Qi(i, c)] += (float)(ds * k[Ki(j, c)]);
                            dk[Ki(j, c)] += (float)(ds * q[Qi(i, c)]);
                            dv[Ki(j, c)] += (float)(P[i * T + j] * dout[Qi(i, c)]);
                        }
                    }
                }
            }
    }
}
