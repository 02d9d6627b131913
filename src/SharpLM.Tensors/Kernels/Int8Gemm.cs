// Int8 inference GEMM: y[M,N] = x[M,K] · Wᵀ with W stored as int8 W_q[N,K] and one f32 scale per block of
// B consecutive weights of a row (B = 32 is the Q8_0 layout of llama.cpp/ggml; B = K is per-row scaling).
// Activations are quantized the same way on the fly (symmetric, per row and block: s = max|x|/127,
// q = round-to-nearest-even(x/s)), so a block's dot product is an exact integer:
//   y[m,n] = Σ_b (s_w[n,b]·s_x[m,b]) · Σ_{k∈b} q_x[m,k]·q_w[n,k].
// Integer products run on VNNI (vpdpbusd, AvxVnni) where the CPU has it, else on AVX2 (vpmaddubsw +
// vpmaddwd, which cannot saturate because |q| ≤ 127), else in scalar code. All three produce the same
// eight int32 lanes per 32-wide sub-block (lane l sums k ≡ 4l..4l+3 mod 32), the same lane-wise f32 FMA
// over blocks and the same final sum ((t0+t2)+(t1+t3)) with t_l = acc_l + acc_{l+4}, so results are
// identical across instruction sets and across how many rows are computed together. The unsigned-by-
// signed product uses the sign trick: |q_x| · sign(q_w, q_x) = q_x·q_w (as llama.cpp's AVX2 kernels do).
// Not here: 4-bit formats, per-tensor scales, asymmetric (zero-point) quantization.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Kernels;

/// <summary>Int8 weight quantization and the int8 × int8 GEMM used for decoding.</summary>
public static unsafe class Int8Gemm
{
    /// <summary>Width of the integer sub-block (one 256-bit vector of int8).</summary>
    public const int Sub = 32;

    /// <summary>Which integer path runs on this CPU.</summary>
    public static string Isa => AvxVnni.IsSupported ? "avx-vnni" : Avx2.IsSupported ? "avx2" : "scalar";

    /// <summary>Throws unless block size <paramref name="B"/> is a positive multiple of 32 dividing <paramref name="K"/>.</summary>
    public static void CheckBlock(int K, int B)
    {
        if (B <= 0 || B % Sub != 0 || K % B != 0)
            throw new ArgumentException($"int8: block size {B} must be a positive multiple of {Sub} that divides the row length {K}");
    }

    /// <summary>
    /// Quantizes rows: for each of <paramref name="M"/> rows of <paramref name="K"/> values (row stride ldx) and each block
    /// of <paramref name="B"/>: s = max|x|/127 (0 for an all-zero block), q = round(x/s). Writes q (M×K) and s (M×K/B).
    /// </summary>
    public static void Quantize(float* x, int M, int K, int ldx, int B, sbyte* q, float* s)
    {
        CheckBlock(K, B);
        int nb = K / B;
        for (int m = 0; m < M; m++)
            for (int b = 0; b < nb; b++)
            {
                float* xb = x + (long)m * ldx + (long)b * B;
                sbyte* qb = q + (long)m * K + (long)b * B;
                float amax = 0f;
                int i = 0;
                if (Vector256.IsHardwareAccelerated)
                {
                    var vm = Vector256<float>.Zero;
                    for (; i + 8 <= B; i += 8) vm = Vector256.Max(vm, Vector256.Abs(Vector256.Load(xb + i)));
                    for (int l = 0; l < 8; l++) amax = MathF.Max(amax, vm[l]);
                }
                for (; i < B; i++) amax = MathF.Max(amax, MathF.Abs(xb[i]));
                float scale = amax / 127f;
                s[(long)m * nb + b] = scale;
                float inv = scale > 0 ? 1f / scale : 0f;
                for (int j = 0; j < B; j++) qb[j] = (sbyte)Math.Clamp(MathF.Round(xb[j] * inv), -127f, 127f);
            }
    }

    /// <summary>
    /// y[m·ldy + n] = Σ over blocks as in the file header, for m &lt; M, n &lt; N. x is f32 (quantized here into the
    /// caller's buffers xq (M×K) and xs (M×K/B)); W is int8 (N×K) with scales ws (N×K/B). Parallel over rows of W.
    /// </summary>
    public static void Run(int M, int N, int K, int B, float* x, int ldx, sbyte* xq, float* xs, sbyte* w, float* ws, float* y, int ldy)
    {
        if (M <= 0 || N <= 0) return;
        CheckBlock(K, B);
        Quantize(x, M, K, ldx, B, xq, xs);
        RunQuantized(M, N, K, B, xq, xs, w, ws, y, ldy);
    }

    /// <summary>As <see cref="Run"/> with activations already quantized.</summary>
    public static void RunQuantized(int M, int N, int K, int B, sbyte* xq, float* xs, sbyte* w, float* ws, float* y, int ldy)
    {
        if (M <= 0 || N <= 0) return;
        CheckBlock(K, B);
        int groups = (N + 3) / 4;
        int rowBlock = M <= 8 ? 8 : 32;
        int mBlocks = (M + rowBlock - 1) / rowBlock;
        int threads = WorkerPool.Threads;
        int chunks = Math.Clamp((4 * threads + mBlocks - 1) / mBlocks, 1, groups);
        int per = (groups + chunks - 1) / chunks;
        chunks = (groups + per - 1) / per;
        var body = new Body { M = M, N = N, K = K, B = B, Xq = xq, Xs = xs, W = w, Ws = ws, Y = y, Ldy = ldy, RowBlock = rowBlock, Chunks = chunks, PerChunk = per };
        WorkerPool.For(mBlocks * chunks, 1, ref body);
    }

    private struct Body : IParallelBody
    {
        public int M, N, K, B, Ldy, RowBlock, Chunks, PerChunk;
        public sbyte* Xq, W; public float* Xs, Ws, Y;

        public readonly void Execute(int start, int end)
        {
            int nb = K / B;
            float* out4 = stackalloc float[4];
            for (int task = start; task < end; task++)
            {
                int m0 = task / Chunks * RowBlock, m1 = Math.Min(M, m0 + RowBlock);
                int g0 = task % Chunks * PerChunk, g1 = Math.Min((N + 3) / 4, g0 + PerChunk);
                for (int g = g0; g < g1; g++)
                {
                    int n0 = 4 * g, cnt = Math.Min(4, N - n0);
                    // A tail group repeats its last row; the extra outputs are dropped.
                    sbyte* w0 = W + (long)n0 * K, w1 = W + (long)(n0 + Math.Min(1, cnt - 1)) * K,
                           w2 = W + (long)(n0 + Math.Min(2, cnt - 1)) * K, w3 = W + (long)(n0 + Math.Min(3, cnt - 1)) * K;
                    float* s0 = Ws + (long)n0 * nb, s1 = Ws + (long)(n0 + Math.Min(1, cnt - 1)) * nb,
                           s2 = Ws + (long)(n0 + Math.Min(2, cnt - 1)) * nb, s3 = Ws + (long)(n0 + Math.Min(3, cnt - 1)) * nb;
                    for (int m = m0; m < m1; m++)
                    {
                        sbyte* xr = Xq + (long)m * K; float* sx = Xs + (long)m * nb;
                        if (Avx2.IsSupported) Dot4(xr, sx, w0, w1, w2, w3, s0, s1, s2, s3, K, B, out4);
                        else
                        {
                            out4[0] = DotScalar(xr, sx, w0, s0, K, B); out4[1] = DotScalar(xr, sx, w1, s1, K, B);
                            out4[2] = DotScalar(xr, sx, w2, s2, K, B); out4[3] = DotScalar(xr, sx, w3, s3, K, B);
                        }
                        float* yr = Y + (long)m * Ldy + n0;
                        for (int r = 0; r < cnt; r++) yr[r] = out4[r];
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dp(Vector256<int> acc, Vector256<byte> ax, Vector256<sbyte> sw)
    {
        if (AvxVnni.IsSupported) return AvxVnni.MultiplyWideningAndAdd(acc, ax, sw);
        var pairs = Avx2.MultiplyAddAdjacent(ax, sw);                       // 16 × int16, exact (≤ 2·127·127)
        return acc + Avx2.MultiplyAddAdjacent(pairs, Vector256.Create((short)1)); // 8 × int32 quads
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4(sbyte* x, float* sx, sbyte* w0, sbyte* w1, sbyte* w2, sbyte* w3,
        float* s0, float* s1, float* s2, float* s3, int K, int B, float* out4)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int nb = K / B;
        for (int b = 0; b < nb; b++)
        {
            Vector256<int> i0 = default, i1 = default, i2 = default, i3 = default;
            int k1 = (b + 1) * B;
            for (int k = b * B; k < k1; k += Sub)
            {
                var xv = Vector256.Load(x + k);
                var ax = Avx2.Abs(xv);
                i0 = Dp(i0, ax, Avx2.Sign(Vector256.Load(w0 + k), xv));
                i1 = Dp(i1, ax, Avx2.Sign(Vector256.Load(w1 + k), xv));
                i2 = Dp(i2, ax, Avx2.Sign(Vector256.Load(w2 + k), xv));
                i3 = Dp(i3, ax, Avx2.Sign(Vector256.Load(w3 + k), xv));
            }
            float xsb = sx[b];
            a0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i0), Vector256.Create(s0[b] * xsb), a0);
            a1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i1), Vector256.Create(s1[b] * xsb), a1);
            a2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i2), Vector256.Create(s2[b] * xsb), a2);
            a3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i3), Vector256.Create(s3[b] * xsb), a3);
        }
        out4[0] = HSum(a0); out4[1] = HSum(a1); out4[2] = HSum(a2); out4[3] = HSum(a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HSum(Vector256<float> a)
    {
        var t = a.GetLower() + a.GetUpper();
        return (t.GetElement(0) + t.GetElement(2)) + (t.GetElement(1) + t.GetElement(3));
    }

    /// <summary>The scalar twin of one output (the exact arithmetic of the vector paths).</summary>
    public static float DotScalar(sbyte* x, float* sx, sbyte* w, float* sw, int K, int B)
    {
        Span<float> acc = stackalloc float[8];
        Span<int> lane = stackalloc int[8];
        acc.Clear();
        int nb = K / B;
        for (int b = 0; b < nb; b++)
        {
            lane.Clear();
            for (int k = b * B; k < (b + 1) * B; k++) lane[k % Sub / 4] += x[k] * w[k];
            float sc = sw[b] * sx[b];
            for (int l = 0; l < 8; l++) acc[l] = MathF.FusedMultiplyAdd(lane[l], sc, acc[l]);
        }
        float t0 = acc[0] + acc[4], t1 = acc[1] + acc[5], t2 = acc[2] + acc[6], t3 = acc[3] + acc[7];
        return (t0 + t2) + (t1 + t3);
    }

    /// <summary>The f32 value a quantized weight stands for: q·s.</summary>
    public static float Dequantize(sbyte* w, float* ws, int K, int B, int n, int k) => w[(long)n * K + k] * ws[(long)n * (K / B) + k / B];
}
