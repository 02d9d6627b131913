// y[M,N] = x[M,K] · Wᵀ for inference, with the weight W[N,K] packed once, ahead of time, into column
// panels of 32 outputs: panel p holds, for k = 0..K−1, the 32 weights W[32p .. 32p+31, k] side by side
// (f32: 128 bytes per k; bf16: 64 bytes per k, interleaved so that u32 lane i holds column i in its low
// half and column 16+i in its high half, which widens to two f32 vectors with one shift and one mask).
// Every output is one sequential fused-multiply-add chain over k from 0 — the exact arithmetic of
// Gemm.FmaChain and of every Gemm.Run path — so a row's result does not depend on how many rows are
// computed together: decoding one token with a KV cache gives the same bits as recomputing the whole
// sequence. Decode (M ≤ 8) is memory-bound: each panel is streamed from memory once per call whatever M
// is, which is why this layout beats a row-major matrix-vector product (one contiguous 4 KB+ stream per
// thread, no horizontal sums). Prefill runs the same tile on 12-row tiles (24 zmm accumulators), K cut into
// slices of 1024 so a panel slice stays in L2 while every row tile of a block uses it (measured here: slices of
// 256, sized for L1, made gpt2-124m prefill ~7% slower).
// Not here: int8 weights (Int8Gemm.cs), bias, or a training GEMM (Gemm.cs).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Kernels;

/// <summary>Storage type of packed panels.</summary>
public enum PanelType
{
    /// <summary>f32 weights (4 bytes each).</summary>
    F32,
    /// <summary>bfloat16 weights (2 bytes each), widened exactly to f32.</summary>
    BF16,
}

/// <summary>Packed-panel GEMM for inference: pack once, multiply many times.</summary>
public static unsafe class PanelGemm
{
    /// <summary>Outputs per panel.</summary>
    public const int NR = 32;
    private const int MR = 8;        // decode: up to 8 rows in one pass over K
    private const int MRP = 12;      // prefill: 12-row tiles (24 zmm accumulators)
    private const int KC = 1024;     // prefill: K slice whose 32-wide panel slice (128 KB f32) stays in L2

    /// <summary>Bytes the packed form of an N×K weight takes.</summary>
    public static long PackedBytes(PanelType t, int N, int K) => (long)Panels(N) * K * NR * (t == PanelType.F32 ? 4 : 2);

    /// <summary>Number of 32-column panels for N outputs.</summary>
    public static int Panels(int N) => (N + NR - 1) / NR;

    /// <summary>Packs row-major W[N,K] (f32) into panels of type <paramref name="t"/> (bf16 rounds to nearest even); missing columns are zero.</summary>
    public static void Pack(PanelType t, float* W, int N, int K, void* dst)
    {
        int panels = Panels(N);
        for (int p = 0; p < panels; p++)
            for (int k = 0; k < K; k++)
                for (int j = 0; j < NR; j++)
                {
                    int n = p * NR + j;
                    float v = n < N ? W[(long)n * K + k] : 0f;
                    long row = ((long)p * K + k) * NR;
                    if (t == PanelType.F32) ((float*)dst)[row + j] = v;
                    else ((ushort*)dst)[row + Bf16Slot(j)] = BFloat16.FromFloat(v);
                }
    }

    /// <summary>Packs row-major bf16 W[N,K] (raw bits) into bf16 panels without rounding.</summary>
    public static void PackBf16(ushort* W, int N, int K, ushort* dst)
    {
        int panels = Panels(N);
        for (int p = 0; p < panels; p++)
            for (int k = 0; k < K; k++)
                for (int j = 0; j < NR; j++)
                {
                    int n = p * NR + j;
                    dst[((long)p * K + k) * NR + Bf16Slot(j)] = n < N ? W[(long)n * K + k] : (ushort)0;
                }
    }

    /// <summary>W[n,k] read back from packed panels (for tests and export).</summary>
    public static float Unpack(PanelType t, void* panels, int K, int n, int k)
    {
        int p = n / NR, j = n % NR;
        long row = ((long)p * K + k) * NR;
        return t == PanelType.F32 ? ((float*)panels)[row + j] : BFloat16.ToFloat(((ushort*)panels)[row + Bf16Slot(j)]);
    }

    private static int Bf16Slot(int j) => j < 16 ? 2 * j : 2 * (j - 16) + 1;

    /// <summary>
    /// y[m, n] = Σ_k x[m·ldx + k]·W[n,k] for m &lt; M, n &lt; N (one FMA chain per output), parallel over panels
    /// (and row blocks when M is large). <paramref name="panels"/> is the output of <see cref="Pack"/>.
    /// </summary>
    public static void Run(PanelType t, int M, int N, int K, float* x, int ldx, void* panels, float* y, int ldy)
    {
        if (M <= 0 || N <= 0) return;
        if (ldx < K || ldy < N) throw new ArgumentException($"panel gemm M={M} N={N} K={K}: ldx={ldx} (needs ≥ {K}), ldy={ldy} (needs ≥ {N})");
        int nPanels = Panels(N);
        int rowBlock = M <= MR ? MR : 8 * MRP;
        int mBlocks = (M + rowBlock - 1) / rowBlock;
        int threads = WorkerPool.Threads;
        // Enough panel chunks that every thread has several (a shared machine stalls static splits).
        int chunks = Math.Clamp((4 * threads + mBlocks - 1) / mBlocks, 1, nPanels);
        int per = (nPanels + chunks - 1) / chunks;
        chunks = (nPanels + per - 1) / per;
        var body = new Body
        {
            T = t,
            M = M,
            N = N,
            K = K,
            X = x,
            Ldx = ldx,
            W = (byte*)panels,
            Y = y,
            Ldy = ldy,
            RowBlock = rowBlock,
            Chunks = chunks,
            PerChunk = per,
        };
        WorkerPool.For(mBlocks * chunks, 1, ref body);
    }

    private struct Body : IParallelBody
    {
        public PanelType T; public int M, N, K, Ldx, Ldy, RowBlock, Chunks, PerChunk;
        public float* X, Y; public byte* W;

        public readonly void Execute(int start, int end)
        {
            float* edge = stackalloc float[8 * MRP * NR];
            int rowBytes = T == PanelType.F32 ? 4 * NR : 2 * NR;
            long panelBytes = (long)K * rowBytes;
            for (int task = start; task < end; task++)
            {
                int m0 = task / Chunks * RowBlock, m1 = Math.Min(M, m0 + RowBlock);
                int p0 = task % Chunks * PerChunk, p1 = Math.Min(Panels(N), p0 + PerChunk);
                if (M > MR)
                {
                    // Prefill: K sliced so a panel slice stays in L1 across the row tiles; the accumulators go
                    // through y between slices (an exact store/load, so still one FMA chain per output).
                    for (int p = p0; p < p1; p++)
                    {
                        int cols = Math.Min(NR, N - p * NR);
                        for (int k0 = 0; k0 < K; k0 += KC)
                        {
                            int kc = Math.Min(KC, K - k0);
                            byte* w = W + p * panelBytes + (long)k0 * rowBytes;
                            for (int m = m0; m < m1; m += MRP)
                            {
                                int rows = Math.Min(MRP, m1 - m);
                                float* xm = X + (long)m * Ldx + k0;
                                if (cols == NR) Tile(T, rows, kc, xm, Ldx, w, Y + (long)m * Ldy + p * NR, Ldy, k0 > 0);
                                else Tile(T, rows, kc, xm, Ldx, w, edge + (m - m0) * NR, NR, k0 > 0);
                            }
                        }
                        if (cols < NR)
                            for (int r = 0; r < m1 - m0; r++)
                                for (int j = 0; j < cols; j++) Y[(long)(m0 + r) * Ldy + p * NR + j] = edge[r * NR + j];
                    }
                    continue;
                }
                for (int p = p0; p < p1; p++)
                {
                    byte* w = W + p * panelBytes;
                    int cols = Math.Min(NR, N - p * NR);
                    for (int m = m0; m < m1; m += MR)
                    {
                        int rows = Math.Min(MR, m1 - m);
                        float* xm = X + (long)m * Ldx;
                        if (cols == NR) Tile(T, rows, K, xm, Ldx, w, Y + (long)m * Ldy + p * NR, Ldy, false);
                        else
                        {
                            Tile(T, rows, K, xm, Ldx, w, edge, NR, false);
                            for (int r = 0; r < rows; r++)
                                for (int j = 0; j < cols; j++) Y[(long)(m + r) * Ldy + p * NR + j] = edge[r * NR + j];
                        }
                    }
                }
            }
        }
    }

    private static void Tile(PanelType t, int rows, int K, float* x, nint ldx, byte* w, float* y, nint ldy, bool load)
    {
        if (!Avx512F.IsSupported) { TileScalar(t, rows, K, x, ldx, w, y, ldy, load); return; }
        if (t == PanelType.F32) TileOf<F32P>(rows, K, x, ldx, w, y, ldy, load);
        else TileOf<Bf16P>(rows, K, x, ldx, w, y, ldy, load);
    }

    private static void TileOf<TP>(int rows, int K, float* x, nint ldx, byte* w, float* y, nint ldy, bool load) where TP : struct, IPanel
    {
        switch (rows)
        {
            case 1: T<R1, TP>(K, x, ldx, w, y, ldy, load); break;
            case 2: T<R2, TP>(K, x, ldx, w, y, ldy, load); break;
            case 3: T<R3, TP>(K, x, ldx, w, y, ldy, load); break;
            case 4: T<R4, TP>(K, x, ldx, w, y, ldy, load); break;
            case 5: T<R5, TP>(K, x, ldx, w, y, ldy, load); break;
            case 6: T<R6, TP>(K, x, ldx, w, y, ldy, load); break;
            case 7: T<R7, TP>(K, x, ldx, w, y, ldy, load); break;
            case 8: T<R8, TP>(K, x, ldx, w, y, ldy, load); break;
            case 9: T<R9, TP>(K, x, ldx, w, y, ldy, load); break;
            case 10: T<R10, TP>(K, x, ldx, w, y, ldy, load); break;
            case 11: T<R11, TP>(K, x, ldx, w, y, ldy, load); break;
            default: T<R12, TP>(K, x, ldx, w, y, ldy, load); break;
        }
    }

    private interface IPanel
    {
        static abstract int RowBytes { get; }
        static abstract void Load(byte* p, out Vector512<float> lo, out Vector512<float> hi);
    }

    private readonly struct F32P : IPanel
    {
        public static int RowBytes => 128;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Load(byte* p, out Vector512<float> lo, out Vector512<float> hi)
        {
            lo = Vector512.Load((float*)p);
            hi = Vector512.Load((float*)p + 16);
        }
    }

    private readonly struct Bf16P : IPanel
    {
        public static int RowBytes => 64;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Load(byte* p, out Vector512<float> lo, out Vector512<float> hi)
        {
            var v = Vector512.Load((uint*)p);
            lo = Vector512.ShiftLeft(v, 16).AsSingle();
            hi = (v & Vector512.Create(0xFFFF0000u)).AsSingle();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void T<TR, TP>(int K, float* x, nint ldx, byte* w, float* y, nint ldy, bool load) where TR : struct, IRows where TP : struct, IPanel
    {
        Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default, a4 = default, b4 = default, a5 = default, b5 = default, a6 = default, b6 = default, a7 = default, b7 = default, a8 = default, b8 = default, a9 = default, b9 = default, a10 = default, b10 = default, a11 = default, b11 = default;
        if (load)
        {
            if (TR.N > 0) { a0 = Vector512.Load(y); b0 = Vector512.Load(y + 16); }
            if (TR.N > 1) { a1 = Vector512.Load(y + ldy); b1 = Vector512.Load(y + ldy + 16); }
            if (TR.N > 2) { a2 = Vector512.Load(y + 2 * ldy); b2 = Vector512.Load(y + 2 * ldy + 16); }
            if (TR.N > 3) { a3 = Vector512.Load(y + 3 * ldy); b3 = Vector512.Load(y + 3 * ldy + 16); }
            if (TR.N > 4) { a4 = Vector512.Load(y + 4 * ldy); b4 = Vector512.Load(y + 4 * ldy + 16); }
            if (TR.N > 5) { a5 = Vector512.Load(y + 5 * ldy); b5 = Vector512.Load(y + 5 * ldy + 16); }
            if (TR.N > 6) { a6 = Vector512.Load(y + 6 * ldy); b6 = Vector512.Load(y + 6 * ldy + 16); }
            if (TR.N > 7) { a7 = Vector512.Load(y + 7 * ldy); b7 = Vector512.Load(y + 7 * ldy + 16); }
            if (TR.N > 8) { a8 = Vector512.Load(y + 8 * ldy); b8 = Vector512.Load(y + 8 * ldy + 16); }
            if (TR.N > 9) { a9 = Vector512.Load(y + 9 * ldy); b9 = Vector512.Load(y + 9 * ldy + 16); }
            if (TR.N > 10) { a10 = Vector512.Load(y + 10 * ldy); b10 = Vector512.Load(y + 10 * ldy + 16); }
            if (TR.N > 11) { a11 = Vector512.Load(y + 11 * ldy); b11 = Vector512.Load(y + 11 * ldy + 16); }
        }
        for (int k = 0; k < K; k++)
        {
            TP.Load(w, out var lo, out var hi);
            if (TR.N > 0) { var s = Vector512.Create(x[k]); a0 = Avx512F.FusedMultiplyAdd(s, lo, a0); b0 = Avx512F.FusedMultiplyAdd(s, hi, b0); }
            if (TR.N > 1) { var s = Vector512.Create(x[ldx + k]); a1 = Avx512F.FusedMultiplyAdd(s, lo, a1); b1 = Avx512F.FusedMultiplyAdd(s, hi, b1); }
            if (TR.N > 2) { var s = Vector512.Create(x[2 * ldx + k]); a2 = Avx512F.FusedMultiplyAdd(s, lo, a2); b2 = Avx512F.FusedMultiplyAdd(s, hi, b2); }
            if (TR.N > 3) { var s = Vector512.Create(x[3 * ldx + k]); a3 = Avx512F.FusedMultiplyAdd(s, lo, a3); b3 = Avx512F.FusedMultiplyAdd(s, hi, b3); }
            if (TR.N > 4) { var s = Vector512.Create(x[4 * ldx + k]); a4 = Avx512F.FusedMultiplyAdd(s, lo, a4); b4 = Avx512F.FusedMultiplyAdd(s, hi, b4); }
            if (TR.N > 5) { var s = Vector512.Create(x[5 * ldx + k]); a5 = Avx512F.FusedMultiplyAdd(s, lo, a5); b5 = Avx512F.FusedMultiplyAdd(s, hi, b5); }
            if (TR.N > 6) { var s = Vector512.Create(x[6 * ldx + k]); a6 = Avx512F.FusedMultiplyAdd(s, lo, a6); b6 = Avx512F.FusedMultiplyAdd(s, hi, b6); }
            if (TR.N > 7) { var s = Vector512.Create(x[7 * ldx + k]); a7 = Avx512F.FusedMultiplyAdd(s, lo, a7); b7 = Avx512F.FusedMultiplyAdd(s, hi, b7); }
            if (TR.N > 8) { var s = Vector512.Create(x[8 * ldx + k]); a8 = Avx512F.FusedMultiplyAdd(s, lo, a8); b8 = Avx512F.FusedMultiplyAdd(s, hi, b8); }
            if (TR.N > 9) { var s = Vector512.Create(x[9 * ldx + k]); a9 = Avx512F.FusedMultiplyAdd(s, lo, a9); b9 = Avx512F.FusedMultiplyAdd(s, hi, b9); }
            if (TR.N > 10) { var s = Vector512.Create(x[10 * ldx + k]); a10 = Avx512F.FusedMultiplyAdd(s, lo, a10); b10 = Avx512F.FusedMultiplyAdd(s, hi, b10); }
            if (TR.N > 11) { var s = Vector512.Create(x[11 * ldx + k]); a11 = Avx512F.FusedMultiplyAdd(s, lo, a11); b11 = Avx512F.FusedMultiplyAdd(s, hi, b11); }
            w += TP.RowBytes;
        }
        if (TR.N > 0) { a0.Store(y); b0.Store(y + 16); }
        if (TR.N > 1) { a1.Store(y + ldy); b1.Store(y + ldy + 16); }
        if (TR.N > 2) { a2.Store(y + 2 * ldy); b2.Store(y + 2 * ldy + 16); }
        if (TR.N > 3) { a3.Store(y + 3 * ldy); b3.Store(y + 3 * ldy + 16); }
        if (TR.N > 4) { a4.Store(y + 4 * ldy); b4.Store(y + 4 * ldy + 16); }
        if (TR.N > 5) { a5.Store(y + 5 * ldy); b5.Store(y + 5 * ldy + 16); }
        if (TR.N > 6) { a6.Store(y + 6 * ldy); b6.Store(y + 6 * ldy + 16); }
        if (TR.N > 7) { a7.Store(y + 7 * ldy); b7.Store(y + 7 * ldy + 16); }
        if (TR.N > 8) { a8.Store(y + 8 * ldy); b8.Store(y + 8 * ldy + 16); }
        if (TR.N > 9) { a9.Store(y + 9 * ldy); b9.Store(y + 9 * ldy + 16); }
        if (TR.N > 10) { a10.Store(y + 10 * ldy); b10.Store(y + 10 * ldy + 16); }
        if (TR.N > 11) { a11.Store(y + 11 * ldy); b11.Store(y + 11 * ldy + 16); }
    }

    /// <summary>The portable path and the scalar twin: the same FMA chain per output, one output at a time.</summary>
    private static void TileScalar(PanelType t, int rows, int K, float* x, nint ldx, byte* w, float* y, nint ldy, bool load)
    {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < NR; j++)
            {
                float acc = load ? y[r * ldy + j] : 0f;
                for (int k = 0; k < K; k++)
                {
                    float wv = t == PanelType.F32 ? ((float*)w)[(long)k * NR + j] : BFloat16.ToFloat(((ushort*)w)[(long)k * NR + Bf16Slot(j)]);
                    acc = MathF.FusedMultiplyAdd(x[r * ldx + k], wv, acc);
                }
                y[r * ldy + j] = acc;
            }
    }

    /// <summary>Scalar twin over unpacked row-major W[N,K]: y = FMA chain over k (the bitwise oracle).</summary>
    public static void Reference(int M, int N, int K, ReadOnlySpan<float> x, ReadOnlySpan<float> W, Span<float> y)
    {
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++)
            {
                float acc = 0f;
                for (int k = 0; k < K; k++) acc = MathF.FusedMultiplyAdd(x[m * K + k], W[n * K + k], acc);
                y[m * N + n] = acc;
            }
    }
}
