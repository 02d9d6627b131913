// Token embedding lookup: forward gathers rows out[bt] = wte[ids[bt]]; backward scatter-adds
// dwte[ids[bt]] += dout[bt]. The backward is parallel over blocks of channels: each task walks every
// row in order for its own channels, so no two threads touch the same element and the summation order
// is fixed (no atomics, bit-identical for any thread count). Ids are validated before any write.
// What it is not: position embeddings (a plain add of a wpe slice) or a sparse-gradient format.
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Kernels;

/// <summary>Embedding gather / scatter-add. Shapes: ids (BT); wte, dwte (V, C); out, dout (BT, C).</summary>
public static unsafe class Embedding
{
    /// <summary>out[bt, :] = wte[ids[bt], :].</summary>
    public static void Forward(float* output, int* ids, float* wte, int BT, int C, int V)
    {
        Check(ids, BT, V);
        // An output far larger than the caches is written with streaming stores (no read-for-ownership
        // of lines that are about to be overwritten); rows must then start on 64-byte boundaries.
        // No software prefetch of the next rows: prefetching the row two ids ahead measured slower here
        // (≈ 0.58 against ≈ 0.68 of copy bandwidth per CPU-second), the hardware keeps up within a row.
        bool stream = Avx512F.IsSupported && (long)BT * C * sizeof(float) > (8L << 20) && C % 16 == 0 && ((nint)output & 63) == 0;
        var body = new Fwd { Out = output, Ids = ids, Wte = wte, C = C, Stream = stream };
        WorkerPool.For(BT, Math.Max(1, 8192 / Math.Max(1, C)), ref body);
    }

    private struct Fwd : IParallelBody
    {
        public float* Out, Wte; public int* Ids; public int C; public bool Stream;
        public readonly void Execute(int start, int end)
        {
            if (Stream)
            {
                for (int r = start; r < end; r++)
                {
                    float* src = Wte + (long)Ids[r] * C, dst = Out + (long)r * C;
                    for (int i = 0; i < C; i += 16) Avx512F.StoreAlignedNonTemporal(dst + i, Vector512.Load(src + i));
                }
                Sse.StoreFence(); // streaming stores are weakly ordered: publish them before the task ends
                return;
            }
            long bytes = (long)C * sizeof(float);
            for (int r = start; r < end; r++) Buffer.MemoryCopy(Wte + (long)Ids[r] * C, Out + (long)r * C, bytes, bytes);
        }
    }

    /// <summary>dwte[ids[bt], :] += dout[bt, :], deterministically.</summary>
    public static void Backward(float* dwte, float* dout, int* ids, int BT, int C, int V)
    {
        Check(ids, BT, V);
        // Two column blocks per thread, whole 64-byte lines, at least 64 channels: long contiguous runs
        // of each dout row for the prefetcher, and enough blocks to balance.
        int colBlock = Math.Max(64, (C + 2 * WorkerPool.Threads - 1) / (2 * WorkerPool.Threads) + 15 & ~15);
        var body = new Bwd { Dwte = dwte, Dout = dout, Ids = ids, BT = BT, C = C, Block = colBlock };
        WorkerPool.For((C + colBlock - 1) / colBlock, 1, ref body);
    }

    private struct Bwd : IParallelBody
    {
        public float* Dwte, Dout; public int* Ids; public int BT, C, Block;
        public readonly void Execute(int start, int end)
        {
            int c0 = start * Block, c1 = Math.Min(C, end * Block);
            for (int r = 0; r < BT; r++)
                Simd.Add(Dout + (long)r * C + c0, Dwte + (long)Ids[r] * C + c0, c1 - c0);
        }
    }

    private static void Check(int* ids, int BT, int V)
    {
        for (int r = 0; r < BT; r++)
            if ((uint)ids[r] >= (uint)V) throw new ArgumentOutOfRangeException(nameof(ids), $"embedding: token id {ids[r]} at position {r} is outside the vocabulary [0, {V})");
    }

    /// <summary>Scalar twin of <see cref="Backward"/> (double accumulation per vocabulary row).</summary>
    public static void BackwardReference(Span<float> dwte, ReadOnlySpan<float> dout, ReadOnlySpan<int> ids, int BT, int C)
    {
        var acc = new Dictionary<int, double[]>();
        for (int r = 0; r < BT; r++)
        {
            if (!acc.TryGetValue(ids[r], out var a)) acc[ids[r]] = a = new double[C];
            for (int c = 0; c < C; c++) a[c] += dout[r * C + c];
        }
        foreach (var (id, a) in acc)
            for (int c = 0; c < C; c++) dwte[id * C + c] = (float)(dwte[id * C + c] + a[c]);
    }
}
