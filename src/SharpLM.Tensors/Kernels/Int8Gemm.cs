// Int8 inference GEMM: y[M,N] = x[M,K] · Wᵀ with W stored as int8 W_q[N,K] and one f32 scale per block of
// B consecutive weights of a row (B = 32 is the Q8_0 layout of llama.cpp/ggml; B = K is per-row scaling).
// Activations are quantized the same way once per call (symmetric, per row and block: s = max|x|/127,
// q = round-to-nearest-even(x/s)), so a block's dot product is an exact integer, as in ggml's Q8_0 × Q8_0 dot:
//   y[m,n] = Σ_b (s_w[n,b]·s_x[m,b]) · Σ_{k∈b} q_x[m,k]·q_w[n,k]      (one f32 FMA per block, in block order).
// Layout: W is packed ahead of time into panels of 32 outputs; for every group of 4 consecutive k a panel
// holds 128 bytes — output j's 4 weights at bytes 4j..4j+3, each stored offset by 128 as an unsigned byte —
// and each block's B/4 such lines are followed by its 32 f32 scales (128 bytes), so a panel is one
// contiguous stream, as ggml's block_q8_0 keeps its scale beside its quants. A decode step streams each
// panel once, sequentially;
// one vpdpbusd (AvxVnni) multiplies 8 outputs' 4 weights by the same broadcast 4 activation bytes, so each
// int32 lane is one output's whole block dot (no horizontal sums), and the block's scales are applied to 8
// outputs with one multiply and one FMA. The unsigned offset is removed exactly per block: Σ(w+128)·x =
// Σw·x + 128·Σx, with Σx computed when x is quantized. Without VNNI, AVX2 gets the same integers from the
// signed weights (byte xor 0x80) through the sign trick |x|·sign(w, x) (vpmaddubsw cannot saturate since
// |q| ≤ 127) and vpmaddwd; without AVX2 a scalar loop does the same arithmetic. All paths give the same bits,
// and an output does not depend on how many rows are computed together (cached decode == full recompute).
// Not here: 4-bit formats, per-tensor scales, asymmetric (zero-point) quantization.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Kernels;

/// <summary>Int8 weight quantization, packing and the int8 × int8 GEMM used for decoding.</summary>
public static unsafe class Int8Gemm
{
    /// <summary>Granularity of a scale block (one 256-bit vector of int8).</summary>
    public const int Sub = 32;

    /// <summary>Outputs per packed panel.</summary>
    public const int NR = 32;

    /// <summary>Which integer path runs on this CPU.</summary>
    public static string Isa => AvxVnni.IsSupported ? "avx-vnni" : Avx2.IsSupported ? "avx2" : "scalar";

    /// <summary>Throws unless block size <paramref name="B"/> is a positive multiple of 32 dividing <paramref name="K"/>.</summary>
    public static void CheckBlock(int K, int B)
    {
        if (B <= 0 || B % Sub != 0 || K % B != 0)
            throw new ArgumentException($"int8: block size {B} must be a positive multiple of {Sub} that divides the row length {K}");
    }

    /// <summary>Number of 32-output panels for N outputs.</summary>
    public static int Panels(int N) => (N + NR - 1) / NR;

    /// <summary>Bytes of packed weights and scales for an N×K matrix with blocks of B.</summary>
    public static long PackedBytes(int N, int K, int B) => (long)Panels(N) * NR * (K + 4 * (K / B));

    private static long BlockBytes(int B) => (long)B * NR + 4 * NR;

    private static long Offset(int K, int B, int n, int k) =>
        (long)(n / NR) * (K / B) * BlockBytes(B) + (long)(k / B) * BlockBytes(B) + (long)(k % B / 4) * (4 * NR) + 4 * (n % NR) + (k & 3);

    private static long ScaleOffset(int K, int B, int n, int b) =>
        (long)(n / NR) * (K / B) * BlockBytes(B) + (long)b * BlockBytes(B) + (long)B * NR + 4 * (n % NR);

    /// <summary>
    /// Quantizes rows: for each of <paramref name="M"/> rows of <paramref name="K"/> values (row stride ldx) and each block
    /// of <paramref name="B"/>: s = max|x|/127 (0 for an all-zero block), q = round(x/s). Writes q (M×K), s (M×K/B) and,
    /// when <paramref name="sums"/> is not null, the block sums Σq (M×K/B).
    /// </summary>
    public static void Quantize(float* x, int M, int K, int ldx, int B, sbyte* q, float* s, int* sums = null)
    {
        CheckBlock(K, B);
        int nb = K / B;
        for (int m = 0; m < M; m++)
            for (int b = 0; b < nb; b++)
            {
                float* xb = x + (long)m * ldx + (long)b * B;
                sbyte* qb = q + (long)m * K + (long)b * B;
                float amax = 0f;
                if (Avx2.IsSupported)
                {
                    var vm = Vector256<float>.Zero;
                    for (int i = 0; i < B; i += 8) vm = Avx.Max(vm, Vector256.Abs(Vector256.Load(xb + i)));
                    var h = Sse.Max(vm.GetLower(), vm.GetUpper());
                    amax = MathF.Max(MathF.Max(h[0], h[1]), MathF.Max(h[2], h[3]));
                }
                else
                    for (int i = 0; i < B; i++) amax = MathF.Max(amax, MathF.Abs(xb[i]));
                float scale = amax / 127f;
                s[(long)m * nb + b] = scale;
                float inv = scale > 0 ? 1f / scale : 0f;
                int sum = 0;
                if (Avx2.IsSupported)
                {
                    var vi = Vector256.Create(inv);
                    var lo = Vector256.Create(-127); var hi = Vector256.Create(127);
                    var acc = Vector256<int>.Zero;
                    var perm = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
                    for (int i = 0; i < B; i += 32)
                    {
                        // cvtps2dq rounds to nearest even under the default MXCSR, as MathF.Round does.
                        var i0 = Avx2.Min(Avx2.Max(Avx.ConvertToVector256Int32(Vector256.Load(xb + i) * vi), lo), hi);
                        var i1 = Avx2.Min(Avx2.Max(Avx.ConvertToVector256Int32(Vector256.Load(xb + i + 8) * vi), lo), hi);
                        var i2 = Avx2.Min(Avx2.Max(Avx.ConvertToVector256Int32(Vector256.Load(xb + i + 16) * vi), lo), hi);
                        var i3 = Avx2.Min(Avx2.Max(Avx.ConvertToVector256Int32(Vector256.Load(xb + i + 24) * vi), lo), hi);
                        acc += (i0 + i1) + (i2 + i3);
                        var bytes = Avx2.PackSignedSaturate(Avx2.PackSignedSaturate(i0, i1), Avx2.PackSignedSaturate(i2, i3));
                        Avx2.PermuteVar8x32(bytes.AsInt32(), perm).AsSByte().Store(qb + i);
                    }
                    sum = Vector256.Sum(acc);
                }
                else
                    for (int j = 0; j < B; j++) { qb[j] = (sbyte)Math.Clamp(MathF.Round(xb[j] * inv), -127f, 127f); sum += qb[j]; }
                if (sums != null) sums[(long)m * nb + b] = sum;
            }
    }

    /// <summary>The scalar twin of <see cref="Quantize"/> (no block sums).</summary>
    public static void QuantizeReference(float* x, int M, int K, int ldx, int B, sbyte* q, float* s)
    {
        CheckBlock(K, B);
        int nb = K / B;
        for (int m = 0; m < M; m++)
            for (int b = 0; b < nb; b++)
            {
                float* xb = x + (long)m * ldx + (long)b * B;
                float amax = 0f;
                for (int i = 0; i < B; i++) amax = MathF.Max(amax, MathF.Abs(xb[i]));
                float scale = amax / 127f;
                s[(long)m * nb + b] = scale;
                float inv = scale > 0 ? 1f / scale : 0f;
                for (int j = 0; j < B; j++) q[(long)m * K + (long)b * B + j] = (sbyte)Math.Clamp(MathF.Round(xb[j] * inv), -127f, 127f);
            }
    }

    /// <summary>
    /// Packs row-major int8 weights q[N,K] with scales s[N,K/B] into panels (<see cref="PackedBytes"/> bytes at
    /// <paramref name="dst"/>); missing outputs are zero.
    /// </summary>
    public static void Pack(sbyte* q, float* s, int N, int K, int B, byte* dst)
    {
        CheckBlock(K, B);
        int nb = K / B, panels = Panels(N);
        for (int p = 0; p < panels; p++)
            for (int j = 0; j < NR; j++)
            {
                int n = p * NR + j;
                for (int k = 0; k < K; k++) dst[Offset(K, B, n, k)] = (byte)((n < N ? q[(long)n * K + k] : 0) + 128);
                for (int b = 0; b < nb; b++) *(float*)(dst + ScaleOffset(K, B, n, b)) = n < N ? s[(long)n * nb + b] : 0f;
            }
    }

    /// <summary>The int8 weight W_q[n,k] read back from packed panels.</summary>
    public static sbyte Weight(byte* w, int K, int B, int n, int k) => (sbyte)(w[Offset(K, B, n, k)] - 128);

    /// <summary>The scale of block b of output n read back from packed panels.</summary>
    public static float Scale(byte* w, int K, int B, int n, int b) => *(float*)(w + ScaleOffset(K, B, n, b));

    /// <summary>The f32 value a packed quantized weight stands for: q·s.</summary>
    public static float Dequantize(byte* w, int K, int B, int n, int k) => Weight(w, K, B, n, k) * Scale(w, K, B, n, k / B);

    /// <summary>
    /// y[m·ldy + n] = Σ over blocks as in the file header, for m &lt; M, n &lt; N. x is f32 (quantized here into the
    /// caller's buffers xq (M×K bytes) and xs (2·M·K/B floats: scales, then block sums)); W is packed by <see cref="Pack"/>.
    /// Parallel over panels of W (and blocks of rows of x when M is large).
    /// </summary>
    public static void Run(int M, int N, int K, int B, float* x, int ldx, sbyte* xq, float* xs, byte* w, float* y, int ldy)
    {
        if (M <= 0 || N <= 0) return;
        CheckBlock(K, B);
        int* sums = (int*)(xs + (long)M * (K / B));
        Quantize(x, M, K, ldx, B, xq, xs, sums);
        RunQuantized(M, N, K, B, xq, xs, sums, w, y, ldy);
    }

    /// <summary>As <see cref="Run"/> with activations already quantized (q, scales and block sums, each M×K/B after q).</summary>
    public static void RunQuantized(int M, int N, int K, int B, sbyte* xq, float* xs, int* xsum, byte* w, float* y, int ldy)
    {
        if (M <= 0 || N <= 0) return;
        CheckBlock(K, B);
        int panels = Panels(N);
        int rowBlock = M <= 8 ? 8 : 32;
        int mBlocks = (M + rowBlock - 1) / rowBlock;
        int threads = WorkerPool.Threads;
        int chunks = Math.Clamp((4 * threads + mBlocks - 1) / mBlocks, 1, panels);
        int per = (panels + chunks - 1) / chunks;
        chunks = (panels + per - 1) / per;
        var body = new Body { M = M, N = N, K = K, B = B, Xq = xq, Xs = xs, Xsum = xsum, W = w, Y = y, Ldy = ldy, RowBlock = rowBlock, Chunks = chunks, PerChunk = per };
        WorkerPool.For(mBlocks * chunks, 1, ref body);
    }

    private struct Body : IParallelBody
    {
        public int M, N, K, B, Ldy, RowBlock, Chunks, PerChunk;
        public sbyte* Xq; public byte* W; public float* Xs, Y; public int* Xsum;

        public readonly void Execute(int start, int end)
        {
            int nb = K / B;
            float* out32 = stackalloc float[NR];
            long panelBytes = nb * BlockBytes(B);
            for (int task = start; task < end; task++)
            {
                int m0 = task / Chunks * RowBlock, m1 = Math.Min(M, m0 + RowBlock);
                int p0 = task % Chunks * PerChunk, p1 = Math.Min(Panels(N), p0 + PerChunk);
                for (int p = p0; p < p1; p++)
                {
                    int cols = Math.Min(NR, N - p * NR);
                    byte* wp = W + p * panelBytes;
                    int m = m0;
                    if (AvxVnni.IsSupported && cols == NR)
                        for (; m + 2 <= m1; m += 2) // two rows share each weight load
                            PanelVnni2(Xq + (long)m * K, Xs + (long)m * nb, Xsum + (long)m * nb, K, nb, wp, K, B, Y + (long)m * Ldy + p * NR, Ldy);
                    for (; m < m1; m++)
                    {
                        float* yr = Y + (long)m * Ldy + p * NR;
                        float* dst = cols == NR ? yr : out32;
                        sbyte* xr = Xq + (long)m * K; float* sx = Xs + (long)m * nb; int* sm = Xsum + (long)m * nb;
                        if (AvxVnni.IsSupported) PanelVnni(xr, sx, sm, wp, K, B, dst);
                        else if (Avx2.IsSupported) PanelAvx2(xr, sx, wp, K, B, dst);
                        else PanelScalar(xr, sx, wp, K, B, dst);
                        if (cols < NR) for (int j = 0; j < cols; j++) yr[j] = out32[j];
                    }
                }
            }
        }
    }

    /// <summary>32 outputs of one row: vpdpbusd over unsigned (offset) weights, offset removed per block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PanelVnni(sbyte* x, float* sx, int* xsum, byte* w, int K, int B, float* y)
    {
        Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
        int nb = K / B;
        for (int b = 0; b < nb; b++)
        {
            Vector256<int> i0 = default, i1 = default, i2 = default, i3 = default;
            sbyte* xb = x + (long)b * B, xe = xb + B;
            for (; xb < xe; xb += 4, w += 4 * NR)
            {
                var xv = Vector256.Create(*(int*)xb).AsSByte();
                i0 = AvxVnni.MultiplyWideningAndAdd(i0, Vector256.Load(w), xv);
                i1 = AvxVnni.MultiplyWideningAndAdd(i1, Vector256.Load(w + 32), xv);
                i2 = AvxVnni.MultiplyWideningAndAdd(i2, Vector256.Load(w + 64), xv);
                i3 = AvxVnni.MultiplyWideningAndAdd(i3, Vector256.Load(w + 96), xv);
            }
            float* ws = (float*)w; w += 4 * NR;
            var off = Vector256.Create(xsum[b] << 7);
            var s = Vector256.Create(sx[b]);
            f0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i0 - off), Vector256.Load(ws) * s, f0);
            f1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i1 - off), Vector256.Load(ws + 8) * s, f1);
            f2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i2 - off), Vector256.Load(ws + 16) * s, f2);
            f3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i3 - off), Vector256.Load(ws + 24) * s, f3);
        }
        f0.Store(y); f1.Store(y + 8); f2.Store(y + 16); f3.Store(y + 24);
    }

    /// <summary>32 outputs of two rows (x0 and x0 + ldx): the arithmetic of <see cref="PanelVnni"/> for each, one weight stream.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PanelVnni2(sbyte* x0, float* sx0, int* xsum0, int ldx, int lds, byte* w, int K, int B, float* y0, int ldy)
    {
        Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default, g0 = default, g1 = default, g2 = default, g3 = default;
        sbyte* x1 = x0 + ldx;
        int nb = K / B;
        for (int b = 0; b < nb; b++)
        {
            Vector256<int> i0 = default, i1 = default, i2 = default, i3 = default, j0 = default, j1 = default, j2 = default, j3 = default;
            long k0 = (long)b * B, k1 = k0 + B;
            for (long k = k0; k < k1; k += 4, w += 4 * NR)
            {
                var xa = Vector256.Create(*(int*)(x0 + k)).AsSByte();
                var xb = Vector256.Create(*(int*)(x1 + k)).AsSByte();
                var w0 = Vector256.Load(w); var w1 = Vector256.Load(w + 32); var w2 = Vector256.Load(w + 64); var w3 = Vector256.Load(w + 96);
                i0 = AvxVnni.MultiplyWideningAndAdd(i0, w0, xa); j0 = AvxVnni.MultiplyWideningAndAdd(j0, w0, xb);
                i1 = AvxVnni.MultiplyWideningAndAdd(i1, w1, xa); j1 = AvxVnni.MultiplyWideningAndAdd(j1, w1, xb);
                i2 = AvxVnni.MultiplyWideningAndAdd(i2, w2, xa); j2 = AvxVnni.MultiplyWideningAndAdd(j2, w2, xb);
                i3 = AvxVnni.MultiplyWideningAndAdd(i3, w3, xa); j3 = AvxVnni.MultiplyWideningAndAdd(j3, w3, xb);
            }
            float* ws = (float*)w; w += 4 * NR;
            var offA = Vector256.Create(xsum0[b] << 7); var offB = Vector256.Create(xsum0[lds + b] << 7);
            var sA = Vector256.Create(sx0[b]); var sB = Vector256.Create(sx0[lds + b]);
            var c0 = Vector256.Load(ws); var c1 = Vector256.Load(ws + 8); var c2 = Vector256.Load(ws + 16); var c3 = Vector256.Load(ws + 24);
            f0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i0 - offA), c0 * sA, f0); g0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(j0 - offB), c0 * sB, g0);
            f1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i1 - offA), c1 * sA, f1); g1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(j1 - offB), c1 * sB, g1);
            f2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i2 - offA), c2 * sA, f2); g2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(j2 - offB), c2 * sB, g2);
            f3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i3 - offA), c3 * sA, f3); g3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(j3 - offB), c3 * sB, g3);
        }
        float* y1 = y0 + ldy;
        f0.Store(y0); f1.Store(y0 + 8); f2.Store(y0 + 16); f3.Store(y0 + 24);
        g0.Store(y1); g1.Store(y1 + 8); g2.Store(y1 + 16); g3.Store(y1 + 24);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> DpAvx2(Vector256<int> acc, Vector256<byte> ax, Vector256<sbyte> xv, byte* w)
    {
        var sw = (Vector256.Load(w) ^ Vector256.Create((byte)0x80)).AsSByte();    // back to signed weights
        var pairs = Avx2.MultiplyAddAdjacent(ax, Avx2.Sign(sw, xv));               // 16 × int16, exact (≤ 2·127·127)
        return acc + Avx2.MultiplyAddAdjacent(pairs, Vector256.Create((short)1));  // 8 × int32: one output's 4 products
    }

    /// <summary>32 outputs of one row without VNNI: the same integers from signed weights (no offset to remove).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PanelAvx2(sbyte* x, float* sx, byte* w, int K, int B, float* y)
    {
        Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
        int nb = K / B;
        for (int b = 0; b < nb; b++)
        {
            Vector256<int> i0 = default, i1 = default, i2 = default, i3 = default;
            sbyte* xb = x + (long)b * B, xe = xb + B;
            for (; xb < xe; xb += 4, w += 4 * NR)
            {
                var xv = Vector256.Create(*(int*)xb).AsSByte();
                var ax = Avx2.Abs(xv);
                i0 = DpAvx2(i0, ax, xv, w); i1 = DpAvx2(i1, ax, xv, w + 32);
                i2 = DpAvx2(i2, ax, xv, w + 64); i3 = DpAvx2(i3, ax, xv, w + 96);
            }
            float* ws = (float*)w; w += 4 * NR;
            var s = Vector256.Create(sx[b]);
            f0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i0), Vector256.Load(ws) * s, f0);
            f1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i1), Vector256.Load(ws + 8) * s, f1);
            f2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i2), Vector256.Load(ws + 16) * s, f2);
            f3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i3), Vector256.Load(ws + 24) * s, f3);
        }
        f0.Store(y); f1.Store(y + 8); f2.Store(y + 16); f3.Store(y + 24);
    }

    /// <summary>The portable path: the same integers and the same FMA per block, one output at a time.</summary>
    private static void PanelScalar(sbyte* x, float* sx, byte* w, int K, int B, float* y)
    {
        int nb = K / B;
        for (int j = 0; j < NR; j++)
        {
            float acc = 0f;
            for (int b = 0; b < nb; b++)
            {
                int dot = 0;
                for (int k = b * B; k < (b + 1) * B; k++) dot += x[k] * (w[Offset(K, B, j, k)] - 128);
                acc = MathF.FusedMultiplyAdd(dot, *(float*)(w + ScaleOffset(K, B, j, b)) * sx[b], acc);
            }
            y[j] = acc;
        }
    }

    /// <summary>The scalar twin of one output over row-major (unpacked) int8 x and w: the exact arithmetic of every path.</summary>
    public static float DotScalar(sbyte* x, float* sx, sbyte* w, float* sw, int K, int B)
    {
        float acc = 0f;
        int nb = K / B;
        for (int b = 0; b < nb; b++)
        {
            int dot = 0;
            for (int k = b * B; k < (b + 1) * B; k++) dot += x[k] * w[k];
            acc = MathF.FusedMultiplyAdd(dot, sw[b] * sx[b], acc);
        }
        return acc;
    }
}
