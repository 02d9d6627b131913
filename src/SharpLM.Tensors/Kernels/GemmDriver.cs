// The blocked, packed, parallel driver of the f32 GEMM (Goto & van de Geijn, "Anatomy of
// High-Performance Matrix Multiplication", ACM TOMS 2008; the BLIS loop nest of Van Zee & van de Geijn
// 2015): K is cut into KC-deep slices; for each slice an MC×KC block of A is packed into MR-wide
// micro-panels (kept in L2) and, one at a time, KC×NR micro-panels of B are packed (kept in L1) and
// multiplied against every A micro-panel by the register-tiled micro-kernel.
//
// Parallelism: C is cut into tasks of (row block) × (column chunk), handed out dynamically by one
// WorkerPool.For — independent tasks, no barrier inside a product, so a core the scheduler takes away
// for a moment is covered by the other. Row blocks (at most MC rows, so the packed A block sits in L2)
// are balanced in whole MR panels and, when there are at least as many as threads, their count is
// rounded up to a multiple of the thread count, so no core is left with an extra block at the end.
// When there are fewer row blocks than threads (the 256-row products of a transformer step), the
// columns are split instead, one chunk per thread, and each task packs the A rows itself (into its L2,
// where a slice serves all of the task's columns). When rows are split (several row blocks), every row
// block would pack the same B panels again; if the whole packed B fits half the L3 it is packed once, in
// parallel (one extra pass, one barrier), and shared, and rows are then cut into about four blocks per
// thread for balance (the weight-gradient products dYᵀ·X have M = 768…50304 rows over K = B·T: B is
// small, A is not). Column chunks are whole NR panels (≥ 128 bytes), so threads never share a C cache
// line inside a row. Each task packs into buffers owned by the thread running it ([ThreadStatic], 64-byte
// aligned, allocated once per thread, then reused); the shared B belongs to the calling thread.
// A transposed (the weight gradients Xᵀ·dY, A = the activations, K = tokens) is packed a whole row block
// per slice, each source row read once front to back (GemmPack.ColsPanels): packing it panel by panel
// read 14 floats per row at a 1.5–6 KB stride and held the K = 4096 products at 0.56–0.64 of the peak.
//
// Determinism, and why any blocking or thread count gives the same bits: every C element is one
// sequential FMA chain c ← fma(a[k], b[k], c) over k = 0..K-1, started from 0 (or from C when
// accumulating, or from bias[j] when a bias is given). A KC slice boundary only stores c to C and reloads it — exact — so the result does
// not depend on KC, MC, the task split, the thread count or the ISA (all kernels use fused
// multiply-add). The scalar twin Gemm.FmaChain computes exactly this and the tests compare bitwise.
//
// A and B are each f32 or bf16 (TA, TE), widened exactly while packing, so a bf16 operand changes the
// values read, never the arithmetic.
// Not here: the micro-kernels (GemmKernel*.cs) and the packing routines (GemmPack.cs).
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Kernels;

/// <summary>A compile-time tile row count (the JIT specialises a micro-kernel per count).</summary>
internal interface IRows { static abstract int N { get; } }
internal struct R1 : IRows { public static int N => 1; }
internal struct R2 : IRows { public static int N => 2; }
internal struct R3 : IRows { public static int N => 3; }
internal struct R4 : IRows { public static int N => 4; }
internal struct R5 : IRows { public static int N => 5; }
internal struct R6 : IRows { public static int N => 6; }
internal struct R7 : IRows { public static int N => 7; }
internal struct R8 : IRows { public static int N => 8; }
internal struct R9 : IRows { public static int N => 9; }
internal struct R10 : IRows { public static int N => 10; }
internal struct R11 : IRows { public static int N => 11; }
internal struct R12 : IRows { public static int N => 12; }
internal struct R13 : IRows { public static int N => 13; }
internal struct R14 : IRows { public static int N => 14; }

/// <summary>A register-tiled micro-kernel and the blocking that suits it.</summary>
internal unsafe interface IGemmKernel
{
    /// <summary>Tile rows (A micro-panel width).</summary>
    static abstract int MR { get; }
    /// <summary>Tile columns (B micro-panel width).</summary>
    static abstract int NR { get; }
    /// <summary>Depth of a K slice.</summary>
    static abstract int KC { get; }
    /// <summary>Largest row block (a multiple of MR).</summary>
    static abstract int MC { get; }
    /// <summary>Whether packing may use AVX-512.</summary>
    static abstract bool Wide { get; }
    static abstract bool IsSupported { get; }
    /// <summary>C[0..rows, 0..NR) (= or += when load) Σ_k a[k·MR + r]·b[k·NR + j]; rows ≤ MR.</summary>
    static abstract void Tile(int rows, int kc, float* a, float* b, float* c, nint ldc, bool load);
}

/// <summary>Instruction set of a GEMM path (tests call each one explicitly).</summary>
internal enum GemmIsa { Portable, Avx2, Avx512 }

internal static unsafe class GemmDriver
{
    /// <summary>The widest path this CPU runs.</summary>
    public static GemmIsa Best => Avx512Kernel.IsSupported ? GemmIsa.Avx512 : Avx2Kernel.IsSupported ? GemmIsa.Avx2 : GemmIsa.Portable;

    public static bool Supported(GemmIsa isa) => isa switch
    {
        GemmIsa.Avx512 => Avx512Kernel.IsSupported,
        GemmIsa.Avx2 => Avx2Kernel.IsSupported,
        _ => true,
    };

    /// <summary>
    /// Dispatches on ISA and B element type. B is float* (bf16 = false) or ushort*. A non-null
    /// <paramref name="bias"/> (N floats, only without acc) starts every row's chains from it: C = bias + op(A)·op(B).
    /// </summary>
    public static void Run(GemmIsa isa, bool bf16, bool transA, bool transB, int M, int N, int K,
        float* A, nint lda, byte* B, nint ldb, float* C, nint ldc, bool acc, float* bias = null)
    {
        if (M <= 0 || N <= 0) return;
        if (K <= 0)
        {
            if (!acc)
                for (int i = 0; i < M; i++)
                    if (bias != null) new ReadOnlySpan<float>(bias, N).CopyTo(new Span<float>(C + i * ldc, N));
                    else new Span<float>(C + i * ldc, N).Clear();
            return;
        }
        byte* a = (byte*)A;
        switch (isa, bf16)
        {
            case (GemmIsa.Avx512, false): Run<Avx512Kernel, F32Elem, F32Elem>(transA, transB, M, N, K, a, lda, B, ldb, C, ldc, acc, bias); break;
            case (GemmIsa.Avx512, true): Run<Avx512Kernel, F32Elem, Bf16Elem>(transA, transB, M, N, K, a, lda, B, ldb, C, ldc, acc, bias); break;
            case (GemmIsa.Avx2, false): Run<Avx2Kernel, F32Elem, F32Elem>(transA, transB, M, N, K, a, lda, B, ldb, C, ldc, acc, bias); break;
            case (GemmIsa.Avx2, true): Run<Avx2Kernel, F32Elem, Bf16Elem>(transA, transB, M, N, K, a, lda, B, ldb, C, ldc, acc, bias); break;
            case (_, false): Run<PortableKernel, F32Elem, F32Elem>(transA, transB, M, N, K, a, lda, B, ldb, C, ldc, acc, bias); break;
            default: Run<PortableKernel, F32Elem, Bf16Elem>(transA, transB, M, N, K, a, lda, B, ldb, C, ldc, acc, bias); break;
        }
    }

    /// <summary>Dispatches on ISA for a bf16 A (ushort*, widened exactly while packing) and an f32 B.</summary>
    public static void RunBf16A(GemmIsa isa, bool transA, bool transB, int M, int N, int K,
        ushort* A, nint lda, float* B, nint ldb, float* C, nint ldc, bool acc)
    {
        if (M <= 0 || N <= 0) return;
        if (K <= 0)
        {
            if (!acc)
                for (int i = 0; i < M; i++) new Span<float>(C + i * ldc, N).Clear();
            return;
        }
        byte* a = (byte*)A, b = (byte*)B;
        switch (isa)
        {
            case GemmIsa.Avx512: Run<Avx512Kernel, Bf16Elem, F32Elem>(transA, transB, M, N, K, a, lda, b, ldb, C, ldc, acc); break;
            case GemmIsa.Avx2: Run<Avx2Kernel, Bf16Elem, F32Elem>(transA, transB, M, N, K, a, lda, b, ldb, C, ldc, acc); break;
            default: Run<PortableKernel, Bf16Elem, F32Elem>(transA, transB, M, N, K, a, lda, b, ldb, C, ldc, acc); break;
        }
    }

    /// <summary>Largest shared pre-packed B (floats, 16 MB: half the L3): beyond it tasks pack their own B panels.</summary>
    private const long SharedBLimit = 4L << 20;

    /// <summary>Floats of B packed per group when B is not transposed (128 KB: four 32-wide panels at KC = 256, in L2 beside the A block).</summary>
    private const int BGroupFloats = 32 << 10;

    /// <summary>Largest packed A (floats, 832 KB of a 1 MB L2) kept for all K slices at once (see wholeK).</summary>
    private const long WholeKFloats = 208L << 10;

    [ThreadStatic] private static NativeBuffer? _packA;
    [ThreadStatic] private static NativeBuffer? _packB;
    [ThreadStatic] private static NativeBuffer? _sharedB;

    private static void Run<TK, TA, TE>(bool transA, bool transB, int M, int N, int K,
        byte* A, nint lda, byte* B, nint ldb, float* C, nint ldc, bool acc, float* bias = null)
        where TK : struct, IGemmKernel where TA : struct, IGemmElem where TE : struct, IGemmElem
    {
        int MR = TK.MR, NR = TK.NR, KC = TK.KC;
        int threads = WorkerPool.Threads;
        int mPanels = (M + MR - 1) / MR, nPanels = (N + NR - 1) / NR;
        // Row blocks: as few as the L2 budget (MC) allows; a multiple of the threads when there are enough.
        int mBlocks = (M + TK.MC - 1) / TK.MC;
        if (threads > 1 && mBlocks >= threads) mBlocks = Math.Min(mPanels, RoundUp(mBlocks, threads));
        int nChunks = 1;
        if (threads > 1 && mBlocks < threads)
        {
            // Fewer row blocks than threads (the 256-row products of a training step): split columns, one
            // chunk per thread. Each task packs its own slices of A into its L2, where they serve all of its
            // columns. Measured on the transformer shapes at two threads, this beats packing A once into a
            // buffer shared by four chunks per thread (an extra parallel pass and barrier, A then read from
            // the other core's cache or L3 by every chunk): 256×768×3072 went from 0.66 to 0.78 of the peak per
            // CPU-second, 256×768×2304 from 0.59 to 0.73, 256³ from 0.22 to 0.35 (busy shared machine, two runs each).
            nChunks = Math.Clamp(RoundUp(threads, mBlocks) / mBlocks, 1, nPanels);
        }
        // Row split (tasks are whole column ranges of a row block): every task would pack the same B panels,
        // once per row block — the weight-gradient products (M = out features, K = B·T = 256) repack all of
        // B 4…180 times. When the packed B fits the budget, pack it once, in parallel, and share it.
        float* sharedB = null;
        if (nChunks == 1 && mBlocks > 1)
        {
            long bFloats = (long)nPanels * NR * K;
            if (bFloats <= SharedBLimit)
            {
                sharedB = Buffer(ref _sharedB, bFloats);
                // With B shared, a smaller row block costs nothing extra (a B panel from L3 still serves
                // several tiles per load): cut about four blocks per thread, so a core that is briefly
                // taken away or finishes late idles the other for a small block, not a quarter of the product.
                if (threads > 1) mBlocks = Math.Min(mPanels, Math.Max(mBlocks, 4 * threads));
                var pack = new PackB<TE> { TransB = transB, B = B, Ldb = ldb, PB = sharedB, N = N, K = K, NR = NR, KC = KC, NPanels = nPanels, Wide = TK.Wide };
                int slices = (K + KC - 1) / KC, items = slices * nPanels;
                WorkerPool.For(items, Math.Max(1, items / (4 * threads)), ref pack);
            }
        }
        // One row block per task, B transposed, and the whole of the task's A (all K slices) fits the L2 budget:
        // pack A once and run every K slice of a B panel before the next panel, so each C tile is finished
        // while it is in L1 instead of being stored to and reloaded from memory once per slice (the LM head's
        // 256×50304 logits over K = 768: 51 MB of C written once instead of written thrice and read twice).
        int rowsPerBlock = (mPanels + mBlocks - 1) / mBlocks * MR;
        bool wholeK = transB && sharedB == null && K > KC && (long)rowsPerBlock * K <= WholeKFloats;
        var body = new Body<TK, TA, TE>
        {
            WholeK = wholeK,
            TransA = transA,
            TransB = transB,
            M = M,
            N = N,
            K = K,
            A = A,
            Lda = lda,
            B = B,
            Ldb = ldb,
            C = C,
            Ldc = ldc,
            Acc = acc,
            Bias = acc ? null : bias,
            MPanels = mPanels,
            NPanels = nPanels,
            MBlocks = mBlocks,
            NChunks = nChunks,
            SharedB = sharedB,
        };
        WorkerPool.For(mBlocks * nChunks, 1, ref body);
    }

    private static int RoundUp(int x, int m) => (x + m - 1) / m * m;

    private static float* Buffer(ref NativeBuffer? buf, long floats)
    {
        long bytes = (floats + 64) * sizeof(float);
        if (buf is null || buf.Bytes < bytes)
        {
            buf?.Dispose();
            buf = new NativeBuffer(bytes);
        }
        return (float*)buf.Pointer;
    }

    /// <summary>Item = (KC slice, NR panel) of the whole of B, packed where <see cref="Body{TK,TA,TE}"/> expects it: slice s at s·KC·NPanels·NR, panel jp at jp·NR·kc within it.</summary>
    private struct PackB<TE> : IParallelBody where TE : struct, IGemmElem
    {
        public bool TransB, Wide;
        public int N, K, NR, KC, NPanels;
        public nint Ldb;
        public byte* B;
        public float* PB;

        public readonly void Execute(int start, int end)
        {
            for (int item = start; item < end; item++)
            {
                int s = item / NPanels, jp = item % NPanels;
                int p0 = s * KC, kc = Math.Min(KC, K - p0), j = jp * NR, cols = Math.Min(NR, N - j);
                float* dst = PB + (nint)p0 * NPanels * NR + (nint)jp * NR * kc;
                if (TransB) GemmPack.Rows<TE>(B + (j * Ldb + p0) * TE.Size, Ldb, cols, kc, dst, NR, Wide);
                else GemmPack.Cols<TE>(B + (p0 * Ldb + j) * TE.Size, Ldb, cols, kc, dst, NR, Wide);
            }
        }
    }

    /// <summary>Where the software prefetch of the next packed B group stands: rows of <see cref="Lines"/> cache lines from <see cref="Src"/>.</summary>
    private struct SourcePrefetch
    {
        public byte* Src;
        public int Rows, Lines, Row, Line, PerTile;
    }

    private struct Body<TK, TA, TE> : IParallelBody where TK : struct, IGemmKernel where TA : struct, IGemmElem where TE : struct, IGemmElem
    {
        public bool TransA, TransB, Acc, WholeK;
        public int M, N, K, MPanels, NPanels, MBlocks, NChunks;
        public nint Lda, Ldb, Ldc;
        public float* C, SharedB, Bias;
        public byte* A, B;

        public readonly void Execute(int start, int end)
        {
            int MR = TK.MR, NR = TK.NR, KC = TK.KC;
            // panel ip of a slice at pa + (ip − ip0)·MR·kc; with WholeK, slice p0 at pa + p0·(ip1 − ip0)·MR
            float* pa = Buffer(ref _packA, WholeK ? WholeKFloats + (long)MR * K : (long)(TK.MC + MR) * KC);
            // A B source that is not transposed (the weights of x·W, dY of the weight gradients) is packed a
            // group of panels at a time, each source row read as one contiguous run (GemmPack.ColsPanels): panel
            // by panel, 32 floats per row at a stride of N floats missed the prefetcher on weights coming from
            // DRAM. A transposed B is packed per panel (its rows are contiguous along k already).
            int group = SharedB == null && !TransB ? Math.Max(1, BGroupFloats / (KC * NR)) : 1;
            float* pb = SharedB == null ? Buffer(ref _packB, (long)KC * NR * group) : null;
            float* pbGroup = pb;
            var pf = default(SourcePrefetch);
            float* edge = stackalloc float[16 * 64]; // one MR×NR tile for the right edge (MR ≤ 16, NR ≤ 64)
            for (int task = start; task < end; task++)
            {
                int mb = task / NChunks, nb = task % NChunks;
                // Whole panels, balanced: block b gets panels [b·P/Blocks, (b+1)·P/Blocks).
                int ip0 = (int)((long)mb * MPanels / MBlocks), ip1 = (int)((long)(mb + 1) * MPanels / MBlocks);
                int jp0 = (int)((long)nb * NPanels / NChunks), jp1 = (int)((long)(nb + 1) * NPanels / NChunks);
                if (ip0 == ip1 || jp0 == jp1) continue;
                if (WholeK)
                {
                    RunWholeK(ip0, ip1, jp0, jp1, pa, pb, edge);
                    continue;
                }
                for (int p0 = 0; p0 < K; p0 += KC)
                {
                    int kc = Math.Min(KC, K - p0);
                    bool load = Acc || p0 > 0;
                    PackA(ip0, ip1, p0, kc, pa);
                    for (int jp = jp0; jp < jp1; jp++)
                    {
                        int j = jp * NR, cols = Math.Min(NR, N - j);
                        if (SharedB != null) pb = SharedB + (nint)p0 * NPanels * NR + (nint)jp * NR * kc;
                        else if (TransB) GemmPack.Rows<TE>(B + (j * Ldb + p0) * TE.Size, Ldb, cols, kc, pb, NR, TK.Wide);
                        else
                        {
                            int g = (jp - jp0) % group;
                            if (g == 0)
                            {
                                GemmPack.ColsPanels<TE>(B + (p0 * Ldb + j) * TE.Size, Ldb, Math.Min(N, Math.Min(jp1, jp + group) * NR) - j, kc, pbGroup, NR, TK.Wide);
                                // While this group's tiles compute, bring the next group's source rows into the
                                // cache (the next columns of this slice, or the first of the next slice), spread
                                // evenly over the tiles: weights read once per step come from DRAM.
                                int jn = jp + group, pn = p0;
                                if (jn >= jp1) { jn = jp0; pn = p0 + KC; }
                                pf = default;
                                if (pn < K)
                                {
                                    pf.Src = B + (pn * Ldb + (nint)jn * NR) * TE.Size;
                                    pf.Rows = Math.Min(KC, K - pn);
                                    pf.Lines = (int)(((Math.Min(N, Math.Min(jp1, jn + group) * NR) - jn * NR) * TE.Size + 63) / 64) + 1;
                                    int tiles = Math.Min(group, jp1 - jp) * (ip1 - ip0);
                                    pf.PerTile = (pf.Rows * pf.Lines + tiles - 1) / tiles;
                                }
                            }
                            pb = pbGroup + (nint)g * NR * kc;
                        }
                        for (int ip = ip0; ip < ip1; ip++)
                        {
                            int i = ip * MR, rows = Math.Min(MR, M - i);
                            float* a = pa + (nint)(ip - ip0) * MR * kc;
                            float* c = C + i * Ldc + j;
                            if (ip + 1 < ip1) PrefetchTile(c + MR * Ldc, Math.Min(MR, M - i - MR), NR);
                            if (pf.PerTile > 0) PrefetchSource(ref pf);
                            bool ld = load || StartFromBias(c, rows, cols, j);
                            if (cols == NR) TK.Tile(rows, kc, a, pb, c, Ldc, ld);
                            else EdgeTile(rows, cols, kc, a, pb, c, edge, ld);
                        }
                    }
                }
            }
        }

        /// <summary>Packs rows [ip0·MR, ip1·MR) of A over k in [p0, p0 + kc) as MR-wide panels, panel ip at dst + (ip − ip0)·MR·kc.</summary>
        private readonly void PackA(int ip0, int ip1, int p0, int kc, float* dst)
        {
            int MR = TK.MR;
            if (TransA)
                GemmPack.ColsPanels<TA>(A + (p0 * Lda + ip0 * MR) * TA.Size, Lda, Math.Min(M, ip1 * MR) - ip0 * MR, kc, dst, MR, TK.Wide);
            else
                for (int ip = ip0; ip < ip1; ip++)
                {
                    int i = ip * MR, rows = Math.Min(MR, M - i);
                    GemmPack.Rows<TA>(A + (i * Lda + p0) * TA.Size, Lda, rows, kc, dst + (nint)(ip - ip0) * MR * kc, MR, TK.Wide);
                }
        }

        /// <summary>Packs the task's A for every K slice, then finishes one B panel (all slices) at a time.</summary>
        private readonly void RunWholeK(int ip0, int ip1, int jp0, int jp1, float* pa, float* pb, float* edge)
        {
            int MR = TK.MR, NR = TK.NR, KC = TK.KC, blockPanels = ip1 - ip0;
            for (int p0 = 0; p0 < K; p0 += KC)
            {
                int kc = Math.Min(KC, K - p0);
                PackA(ip0, ip1, p0, kc, pa + (nint)p0 * blockPanels * MR);
            }
            for (int jp = jp0; jp < jp1; jp++)
            {
                int j = jp * NR, cols = Math.Min(NR, N - j);
                for (int p0 = 0; p0 < K; p0 += KC)
                {
                    int kc = Math.Min(KC, K - p0);
                    bool load = Acc || p0 > 0;
                    GemmPack.Rows<TE>(B + (j * Ldb + p0) * TE.Size, Ldb, cols, kc, pb, NR, TK.Wide);
                    float* slice = pa + (nint)p0 * blockPanels * MR;
                    for (int ip = ip0; ip < ip1; ip++)
                    {
                        int i = ip * MR, rows = Math.Min(MR, M - i);
                        float* c = C + i * Ldc + j;
                        if (p0 == 0 && ip + 1 < ip1) PrefetchTile(c + MR * Ldc, Math.Min(MR, M - i - MR), NR);
                        bool ld = load || StartFromBias(c, rows, cols, j);
                        if (cols == NR) TK.Tile(rows, kc, slice + (nint)(ip - ip0) * MR * kc, pb, c, Ldc, ld);
                        else EdgeTile(rows, cols, kc, slice + (nint)(ip - ip0) * MR * kc, pb, c, edge, ld);
                    }
                }
            }
        }

        /// <summary>
        /// Asks for the next tile's C rows while this one computes. With a short K (the weight gradients:
        /// K = B·T = 256, into a C of up to 154 MB) the tile's C load, or the ownership requests of its stores
        /// when it only writes, is one burst of 2·MR cache misses from DRAM at a 3 KB+ stride that the
        /// hardware prefetcher does not follow.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly void PrefetchTile(float* c, int rows, int NR)
        {
            if (!Sse.IsSupported) return;
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < NR; j += 16) Sse.Prefetch0(c + r * Ldc + j);
        }

        /// <summary>Issues the next <see cref="SourcePrefetch.PerTile"/> line prefetches of the next B group, row by row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly void PrefetchSource(ref SourcePrefetch pf)
        {
            if (!Sse.IsSupported) { pf.PerTile = 0; return; }
            nint rowBytes = Ldb * TE.Size;
            for (int n = 0; n < pf.PerTile; n++)
            {
                if (pf.Row >= pf.Rows) { pf.PerTile = 0; return; }
                Sse.Prefetch1(pf.Src + pf.Row * rowBytes + pf.Line * 64);
                if (++pf.Line == pf.Lines) { pf.Line = 0; pf.Row++; }
            }
        }

        /// <summary>
        /// With a bias, writes it into the tile's C rows (columns j..j+cols) just before the tile's first slice, which
        /// then loads them from L1: the chains start from the bias, the same bits as a C filled with it beforehand,
        /// without a separate pass writing all of C to memory and reading it back. Returns whether it wrote.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly bool StartFromBias(float* c, int rows, int cols, int j)
        {
            if (Bias == null) return false;
            for (int r = 0; r < rows; r++) new ReadOnlySpan<float>(Bias + j, cols).CopyTo(new Span<float>(c + r * Ldc, cols));
            return true;
        }

        /// <summary>A tile narrower than NR: run the full-width kernel on a scratch tile, copy the valid columns.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private readonly void EdgeTile(int rows, int cols, int kc, float* a, float* b, float* c, float* tile, bool load)
        {
            int NR = TK.NR;
            if (load)
                for (int r = 0; r < rows; r++)
                    for (int j = 0; j < cols; j++) tile[r * NR + j] = c[r * Ldc + j];
            TK.Tile(rows, kc, a, b, tile, NR, load);
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < cols; j++) c[r * Ldc + j] = tile[r * NR + j];
        }
    }
}
