// The element-wise driver under every autograd op: an op is a struct with Run(start, length) over at
// most Block elements (so it may stackalloc one Block of scratch); Run<T> cuts [0, n) into blocks and,
// when there are enough, spreads fixed chunks of blocks over the WorkerPool. Output element i depends
// only on input element i, so results are bit-identical for any thread count. Bodies call
// System.Numerics.Tensors.TensorPrimitives on the block's spans (vectorised), or a Vector<float> loop
// where no primitive fits. What it is not: a reduction driver (reductions are ordered, see Reduce.cs).
using System.Numerics.Tensors;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Autograd;

/// <summary>An element-wise body over one block [start, start + length).</summary>
internal interface IBlockOp
{
    void Run(int start, int length);
}

internal static unsafe class Pointwise
{
    /// <summary>Elements per block; a body may stackalloc this many floats (16 KB).</summary>
    public const int Block = 4096;
    private const int BlocksPerChunk = 8; // 32K elements per parallel chunk: well above the pool's wake-up cost

    public static void Run<T>(long n, ref T op) where T : struct, IBlockOp
    {
        if (n <= 0) return;
        int blocks = checked((int)((n + Block - 1) / Block));
        if (blocks <= BlocksPerChunk)
        {
            for (int b = 0; b < blocks; b++)
            {
                int s = b * Block;
                op.Run(s, (int)Math.Min(Block, n - s));
            }
            return;
        }
        var body = new Driver<T> { Op = op, N = n };
        WorkerPool.For(blocks, BlocksPerChunk, ref body);
    }

    private struct Driver<T> : IParallelBody where T : struct, IBlockOp
    {
        public T Op;
        public long N;

        public void Execute(int start, int end)
        {
            for (int b = start; b < end; b++)
            {
                int s = b * Block;
                Op.Run(s, (int)Math.Min(Block, N - s));
            }
        }
    }

    public static Span<float> S(float* p, int start, int length) => new(p + start, length);

    /// <summary>dst += src.</summary>
    public static void AddInto(float* src, float* dst, long n)
    {
        var op = new AccOp { A = src, D = dst };
        Run(n, ref op);
    }

    /// <summary>dst += src (spans of equal length).</summary>
    public static void AddInto(ReadOnlySpan<float> src, Span<float> dst)
    {
        if (src.Length != dst.Length) throw new ArgumentException($"length {src.Length} vs {dst.Length}");
        fixed (float* s = src) fixed (float* d = dst) AddInto(s, d, src.Length);
    }

    /// <summary>dst += c · src.</summary>
    public static void AddScaledInto(float* src, float c, float* dst, long n)
    {
        var op = new AccScaledOp { A = src, C = c, D = dst };
        Run(n, ref op);
    }

    /// <summary>dst += a ⊙ b.</summary>
    public static void AddProductInto(float* a, float* b, float* dst, long n)
    {
        var op = new AccProductOp { A = a, B = b, D = dst };
        Run(n, ref op);
    }

    /// <summary>dst = src.</summary>
    public static void Copy(float* src, float* dst, long n)
    {
        var op = new CopyOp { A = src, D = dst };
        Run(n, ref op);
    }

    private struct AccOp : IBlockOp
    {
        public float* A, D;
        public readonly void Run(int s, int n) => TensorPrimitives.Add(S(D, s, n), S(A, s, n), S(D, s, n));
    }

    private struct AccScaledOp : IBlockOp
    {
        public float* A, D; public float C;
        public readonly void Run(int s, int n) => TensorPrimitives.MultiplyAdd(S(A, s, n), C, S(D, s, n), S(D, s, n));
    }

    private struct AccProductOp : IBlockOp
    {
        public float* A, B, D;
        public readonly void Run(int s, int n) => TensorPrimitives.MultiplyAdd(S(A, s, n), S(B, s, n), S(D, s, n), S(D, s, n));
    }

    private struct CopyOp : IBlockOp
    {
        public float* A, D;
        public readonly void Run(int s, int n) => S(A, s, n).CopyTo(S(D, s, n));
    }
}
