// The blocked, packed, parallel driver of the f32 GEMM (Goto & van de Geijn, "Anatomy of
// High-Performance Matrix Multiplication", ACM TOMS 2008; the BLIS loop nest of Van Zee & van de Geijn
// 2015): K is cut into KC-deep slices; for each slice an MC×KC block of A is packed into MR-wide
// micro-panels (kept in L2) and, one at a time, KC×NR micro-panels of B are packed (kept in L1) and
// multiplied against every A micro-panel by the register-tiled micro-kernel.
//
// Parallelism: the C matrix is cut into tasks of (MC-row block) × (column chunk, a multiple of NR);
// WorkerPool hands tasks out dynamically. Every task packs what it reads into buffers owned by the
// thread running it ([ThreadStatic], 64-byte aligned, allocated once per thread, then reused).
//
// Determinism, and why any blocking or thread count gives the same bits: every C element is one
// sequential FMA chain c ← fma(a[k], b[k], c) over k = 0..K-1, started from 0 (or from C when
// accumulating). A KC slice boundary only stores c to C and reloads it — exact — so the result does
// not depend on KC, MC, the task split, the thread count or the ISA (all kernels use fused
// multiply-add). The scalar twin Gemm.FmaChain computes exactly this and the tests compare bitwise.
//
// Not here: the micro-kernels (GemmKernel*.cs) and the packing routines (GemmPack.cs).
using System.Runtime.CompilerServices;
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
    [ThreadStatic] private static NativeBuffer? _packA;
    [ThreadStatic] private static NativeBuffer? _packB;

    /// <summary>The widest path this CPU runs.</summary>
    public static GemmIsa Best => Avx512Kernel.IsSupported ? GemmIsa.Avx512 : Avx2Kernel.IsSupported ? GemmIsa.Avx2 : GemmIsa.Portable;

    public static bool Supported(GemmIsa isa) => isa switch
    {
        GemmIsa.Avx512 => Avx512Kernel.IsSupported,
        GemmIsa.Avx2 => Avx2Kernel.IsSupported,
        _ => true,
    };

    /// <summary>Dispatches on ISA and B element type. B is float* (bf16 = false) or ushort*.</summary>
    public static void Run(GemmIsa isa, bool bf16, bool transA, bool transB, int M, int N, int K,
        float* A, nint lda, byte* B, nint ldb, float* C, nint ldc, bool acc)
    {
        if (M <= 0 || N <= 0) return;
        if (K <= 0)
        {
            if (!acc)
                for (int i = 0; i < M; i++) new Span<float>(C + i * ldc, N).Clear();
            return;
        }
        switch (isa, bf16)
        {
            case (GemmIsa.Avx512, false): Run<Avx512Kernel, F32Elem>(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, acc); break;
            case (GemmIsa.Avx512, true): Run<Avx512Kernel, Bf16Elem>(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, acc); break;
            case (GemmIsa.Avx2, false): Run<Avx2Kernel, F32Elem>(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, acc); break;
            case (GemmIsa.Avx2, true): Run<Avx2Kernel, Bf16Elem>(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, acc); break;
            case (_, false): Run<PortableKernel, F32Elem>(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, acc); break;
            default: Run<PortableKernel, Bf16Elem>(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, acc); break;
        }
    }

    private static void Run<TK, TE>(bool transA, bool transB, int M, int N, int K,
        float* A, nint lda, byte* B, nint ldb, float* C, nint ldc, bool acc)
        where TK : struct, IGemmKernel where TE : struct, IGemmElem
    {
        int MR = TK.MR, NR = TK.NR;
        int threads = WorkerPool.Threads;
        // Row blocks: as few as the L2 budget (MC) allows, balanced, multiples of MR.
        int mBlocks = (M + TK.MC - 1) / TK.MC;
        int mc = RoundUp((M + mBlocks - 1) / mBlocks, MR);
        mBlocks = (M + mc - 1) / mc;
        // Column chunks: enough tasks that every thread has work, with some slack for a busy core.
        int nPanels = (N + NR - 1) / NR;
        int nChunks = threads <= 1 ? 1 : Math.Clamp((2 * threads + mBlocks - 1) / mBlocks, 1, nPanels);
        int panelsPerChunk = (nPanels + nChunks - 1) / nChunks;
        nChunks = (nPanels + panelsPerChunk - 1) / panelsPerChunk;
        var body = new Body<TK, TE>
        {
            TransA = transA, TransB = transB, M = M, N = N, K = K, A = A, Lda = lda, B = B, Ldb = ldb, C = C, Ldc = ldc,
            Acc = acc, Mc = mc, NChunks = nChunks, ChunkCols = panelsPerChunk * NR,
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

    private struct Body<TK, TE> : IParallelBody where TK : struct, IGemmKernel where TE : struct, IGemmElem
    {
        public bool TransA, TransB, Acc;
        public int M, N, K, Mc, NChunks, ChunkCols;
        public nint Lda, Ldb, Ldc;
        public float* A, C;
        public byte* B;

        public readonly void Execute(int start, int end)
        {
            int MR = TK.MR, NR = TK.NR, KC = TK.KC;
            float* pa = Buffer(ref _packA, (long)TK.MC * KC);
            float* pb = Buffer(ref _packB, (long)KC * NR);
            float* edge = stackalloc float[16 * 64]; // one MR×NR tile for the right edge (MR ≤ 16, NR ≤ 64)
            for (int task = start; task < end; task++)
            {
                int m0 = task / NChunks * Mc, m1 = Math.Min(M, m0 + Mc);
                int n0 = task % NChunks * ChunkCols, n1 = Math.Min(N, n0 + ChunkCols);
                for (int p0 = 0; p0 < K; p0 += KC)
                {
                    int kc = Math.Min(KC, K - p0);
                    bool load = Acc || p0 > 0;
                    // A block rows m0..m1, depth p0..p0+kc → MR-wide micro-panels of kc·MR floats.
                    for (int i = m0; i < m1; i += MR)
                    {
                        int rows = Math.Min(MR, m1 - i);
                        float* dst = pa + (nint)(i - m0) * kc;
                        if (TransA) GemmPack.Cols<F32Elem>((byte*)(A + p0 * Lda + i), Lda, rows, kc, dst, MR, TK.Wide);
                        else GemmPack.Rows<F32Elem>((byte*)(A + i * Lda + p0), Lda, rows, kc, dst, MR, TK.Wide);
                    }
                    for (int j = n0; j < n1; j += NR)
                    {
                        int cols = Math.Min(NR, n1 - j);
                        if (TransB) GemmPack.Rows<TE>(B + (j * Ldb + p0) * TE.Size, Ldb, cols, kc, pb, NR, TK.Wide);
                        else GemmPack.Cols<TE>(B + (p0 * Ldb + j) * TE.Size, Ldb, cols, kc, pb, NR, TK.Wide);
                        for (int i = m0; i < m1; i += MR)
                        {
                            int rows = Math.Min(MR, m1 - i);
                            float* a = pa + (nint)(i - m0) * kc;
                            float* c = C + i * Ldc + j;
                            if (cols == NR) TK.Tile(rows, kc, a, pb, c, Ldc, load);
                            else EdgeTile(rows, cols, kc, a, pb, c, edge, load);
                        }
                    }
                }
            }
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
