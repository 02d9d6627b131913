// This machine's own limits, measured in the same run as every benchmark that reports a ratio:
// the f32 FMA peak (GFLOP/s; the widest vector unit the CPU has, enough independent accumulators to
// hide FMA latency) and the copy bandwidth (GB/s counted as bytes read + bytes written, the way
// STREAM's "Copy" counts them) of a buffer far larger than the caches.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SharpLM.Tensors;
using SharpLM.Tensors.Threading;

namespace SharpLM.Cli.Bench;

/// <summary>Peak FMA throughput and memory bandwidth of this machine.</summary>
public static unsafe class MachinePeak
{
    /// <summary>Which vector width the FMA peak uses.</summary>
    public static string Isa => Avx512F.IsSupported ? "avx512" : Fma.IsSupported ? "avx2+fma" : "scalar";

    /// <summary>f32 GFLOP/s of a pure FMA loop on <paramref name="threads"/> threads (median of samples).</summary>
    public static double FmaGflops(int threads)
    {
        // Eight pieces per thread, handed out dynamically: a worker that wakes late takes fewer, instead of
        // the caller running its whole share after its own.
        const int iters = 250_000, pieces = 8;
        var body = new FmaBody { Iters = iters };
        int prev = WorkerPool.Threads;
        WorkerPool.Threads = threads;
        try
        {
            double s = BenchTiming.MedianSeconds(() => WorkerPool.For(pieces * threads, 1, ref body), repeats: 7, warmup: 2);
            return pieces * threads * body.FlopsPerIter * (double)iters / s / 1e9;
        }
        finally { WorkerPool.Threads = prev; }
    }

    /// <summary>Copy bandwidth in GB/s (read + write bytes) over a 256 MiB buffer on <paramref name="threads"/> threads.</summary>
    public static double CopyGBs(int threads)
    {
        const long bytes = 256L << 20;
        using var src = new NativeBuffer(bytes);
        using var dst = new NativeBuffer(bytes);
        new Span<byte>(src.Pointer, 1 << 20).Fill(1); // touch: pages exist before timing
        var body = new CopyBody { Src = (byte*)src.Pointer, Dst = (byte*)dst.Pointer, Chunk = 1 << 20 };
        int chunks = (int)(bytes / body.Chunk);
        int prev = WorkerPool.Threads;
        WorkerPool.Threads = threads;
        try
        {
            double s = BenchTiming.MedianSeconds(() => WorkerPool.For(chunks, 8, ref body), repeats: 7, warmup: 2);
            return 2.0 * bytes / s / 1e9;
        }
        finally { WorkerPool.Threads = prev; }
    }

    /// <summary>f32 FMA GFLOP per CPU-second per thread over ~0.4 s of the peak loop: the peak as time-sharing leaves it measurable.</summary>
    public static double FmaGflopsPerCpuSecond(int threads)
    {
        const int iters = 2_000_000;
        var body = new FmaBody { Iters = iters };
        int prev = WorkerPool.Threads;
        WorkerPool.Threads = threads;
        try
        {
            WorkerPool.For(threads, 1, ref body);
            var c0 = Environment.CpuUsage.TotalTime; long w0 = System.Diagnostics.Stopwatch.GetTimestamp();
            int reps = 0;
            do { WorkerPool.For(threads, 1, ref body); reps++; }
            while (System.Diagnostics.Stopwatch.GetElapsedTime(w0).TotalSeconds < 0.4);
            double cpu = (Environment.CpuUsage.TotalTime - c0).TotalSeconds;
            return (double)reps * threads * body.FlopsPerIter * iters / Math.Max(1e-9, cpu) * threads / 1e9;
        }
        finally { WorkerPool.Threads = prev; }
    }

    /// <summary>
    /// Copy bandwidth as bytes per CPU-second per thread (process CPU time over 5 copies of 256 MiB, pages
    /// touched beforehand): the same quantity as <see cref="CopyGBs"/> on an idle machine, but it survives
    /// time-sharing with other processes, so kernels measured the same way can be compared with it.
    /// </summary>
    public static double CopyGBsPerCpuSecond(int threads)
    {
        const long bytes = 256L << 20;
        using var src = new NativeBuffer(bytes);
        using var dst = new NativeBuffer(bytes);
        for (long o = 0; o < bytes; o += 1 << 20)
        {
            new Span<byte>((byte*)src.Pointer + o, 1 << 20).Fill(1);
            new Span<byte>((byte*)dst.Pointer + o, 1 << 20).Clear();
        }
        var body = new CopyBody { Src = (byte*)src.Pointer, Dst = (byte*)dst.Pointer, Chunk = 1 << 20 };
        int chunks = (int)(bytes / body.Chunk);
        int prev = WorkerPool.Threads;
        WorkerPool.Threads = threads;
        try
        {
            WorkerPool.For(chunks, 8, ref body);
            var c0 = Environment.CpuUsage.TotalTime;
            for (int i = 0; i < 5; i++) WorkerPool.For(chunks, 8, ref body);
            double cpu = (Environment.CpuUsage.TotalTime - c0).TotalSeconds;
            return 5 * 2.0 * bytes / Math.Max(1e-9, cpu) * threads / 1e9;
        }
        finally { WorkerPool.Threads = prev; }
    }

    private struct FmaBody : IParallelBody
    {
        public int Iters;
        public readonly int FlopsPerIter => Avx512F.IsSupported ? 12 * 16 * 2 : Fma.IsSupported ? 12 * 8 * 2 : 12 * 2;

        public readonly void Execute(int start, int end)
        {
            for (int t = start; t < end; t++) Run();
        }

        // Fully optimised from the first call: the peak is often measured first thing in a process, where a
        // tiered loop would run as on-stack-replacement code (2-thread peaks of 253 GFLOP/s instead of 520
        // were read that way, making the MFU of a training step above 1).
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Run()
        {
            if (Avx512F.IsSupported)
            {
                var m = Vector512.Create(0.999999f); var a = Vector512.Create(1e-7f);
                Vector512<float> c0 = Vector512<float>.One, c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0,
                    c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
                for (int i = 0; i < Iters; i++)
                {
                    c0 = Avx512F.FusedMultiplyAdd(c0, m, a); c1 = Avx512F.FusedMultiplyAdd(c1, m, a);
                    c2 = Avx512F.FusedMultiplyAdd(c2, m, a); c3 = Avx512F.FusedMultiplyAdd(c3, m, a);
                    c4 = Avx512F.FusedMultiplyAdd(c4, m, a); c5 = Avx512F.FusedMultiplyAdd(c5, m, a);
                    c6 = Avx512F.FusedMultiplyAdd(c6, m, a); c7 = Avx512F.FusedMultiplyAdd(c7, m, a);
                    c8 = Avx512F.FusedMultiplyAdd(c8, m, a); c9 = Avx512F.FusedMultiplyAdd(c9, m, a);
                    c10 = Avx512F.FusedMultiplyAdd(c10, m, a); c11 = Avx512F.FusedMultiplyAdd(c11, m, a);
                }
                Sink(Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11));
            }
            else if (Fma.IsSupported)
            {
                var m = Vector256.Create(0.999999f); var a = Vector256.Create(1e-7f);
                Vector256<float> c0 = Vector256<float>.One, c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0,
                    c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
                for (int i = 0; i < Iters; i++)
                {
                    c0 = Fma.MultiplyAdd(c0, m, a); c1 = Fma.MultiplyAdd(c1, m, a);
                    c2 = Fma.MultiplyAdd(c2, m, a); c3 = Fma.MultiplyAdd(c3, m, a);
                    c4 = Fma.MultiplyAdd(c4, m, a); c5 = Fma.MultiplyAdd(c5, m, a);
                    c6 = Fma.MultiplyAdd(c6, m, a); c7 = Fma.MultiplyAdd(c7, m, a);
                    c8 = Fma.MultiplyAdd(c8, m, a); c9 = Fma.MultiplyAdd(c9, m, a);
                    c10 = Fma.MultiplyAdd(c10, m, a); c11 = Fma.MultiplyAdd(c11, m, a);
                }
                Sink(Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11));
            }
            else
            {
                float c0 = 1, c1 = 1, c2 = 1, c3 = 1, c4 = 1, c5 = 1, c6 = 1, c7 = 1, c8 = 1, c9 = 1, c10 = 1, c11 = 1;
                for (int i = 0; i < Iters; i++)
                {
                    c0 = MathF.FusedMultiplyAdd(c0, 0.999999f, 1e-7f); c1 = MathF.FusedMultiplyAdd(c1, 0.999999f, 1e-7f);
                    c2 = MathF.FusedMultiplyAdd(c2, 0.999999f, 1e-7f); c3 = MathF.FusedMultiplyAdd(c3, 0.999999f, 1e-7f);
                    c4 = MathF.FusedMultiplyAdd(c4, 0.999999f, 1e-7f); c5 = MathF.FusedMultiplyAdd(c5, 0.999999f, 1e-7f);
                    c6 = MathF.FusedMultiplyAdd(c6, 0.999999f, 1e-7f); c7 = MathF.FusedMultiplyAdd(c7, 0.999999f, 1e-7f);
                    c8 = MathF.FusedMultiplyAdd(c8, 0.999999f, 1e-7f); c9 = MathF.FusedMultiplyAdd(c9, 0.999999f, 1e-7f);
                    c10 = MathF.FusedMultiplyAdd(c10, 0.999999f, 1e-7f); c11 = MathF.FusedMultiplyAdd(c11, 0.999999f, 1e-7f);
                }
                Sink(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
            }
        }
    }

    private static float _sink;
    private static void Sink(float v) => _sink = v;

    private struct CopyBody : IParallelBody
    {
        public byte* Src, Dst;
        public int Chunk;
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Execute(int start, int end)
        {
            long off = (long)start * Chunk, n = (long)(end - start) * Chunk;
            Buffer.MemoryCopy(Src + off, Dst + off, n, n);
        }
    }
}
