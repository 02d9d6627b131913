// A fixed pool of worker threads (one per core, the calling thread being one of them) and a
// low-overhead parallel-for over index ranges. What it is not: a task scheduler. Bodies are structs
// implementing IParallelBody, called through a function pointer to a generic instantiation, so the
// JIT specialises each body and there is no delegate, closure or allocation per call.
//
// Determinism: the range [0, count) is cut into fixed chunks of `grain` indices; chunks are handed
// out dynamically (the machine is shared, static splits stall on a busy core), but a chunk's bounds
// never depend on scheduling, so a body whose output for an index depends only on that index gives
// the same bits however threads run. Reductions write one partial per chunk and combine them in
// chunk order afterwards (see ChunkCount).
//
// Nested or concurrent calls (a body calling For, or two threads calling For at once) run inline on
// the caller: still correct and deterministic, just not parallel.
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace SharpLM.Tensors.Threading;

/// <summary>A loop body over a half-open index range.</summary>
public interface IParallelBody
{
    /// <summary>Processes indices [start, end).</summary>
    void Execute(int start, int end);
}

/// <summary>The process-wide worker pool.</summary>
public static unsafe class WorkerPool
{
    private static readonly object Gate = new();
    private static Worker[] _workers = [];
    private static int _threads = Math.Max(1, Environment.ProcessorCount);

    [ThreadStatic] private static bool _onWorker;

    // The job being run (written under Gate before workers are woken).
    private static delegate*<void*, int, int, void> _fn;
    private static void* _ctx;
    private static int _count, _grain, _chunks;
    private static int _nextChunk, _running;
    // The published job: generation (high 32 bits) and participating workers (low 32), written in one store
    // after every other job field, so a worker always reads a generation with its own participant count.
    private static long _job;

    private static int Generation(long job) => (int)(job >> 32);
    private static int Participants(long job) => (int)job;
    private static Exception? _error;

    /// <summary>How many threads For uses, the caller included (default: one per core).</summary>
    public static int Threads
    {
        get => _threads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            lock (Gate) _threads = value;
        }
    }

    /// <summary>Sets <see cref="Threads"/> from a CLI value where 0 means one per core.</summary>
    public static void Configure(int threads) => Threads = threads <= 0 ? Math.Max(1, Environment.ProcessorCount) : threads;

    /// <summary>Number of chunks For will cut [0, count) into with this grain.</summary>
    public static int ChunkCount(int count, int grain) => count <= 0 ? 0 : (count + Math.Max(1, grain) - 1) / Math.Max(1, grain);

    /// <summary>
    /// A grain for row-wise, memory-bound kernels over <paramref name="rows"/> rows of <paramref name="rowElements"/>
    /// floats: chunks of 16–256 KB, at least eight per thread when the rows allow. Each thread then streams long runs
    /// of memory (a chunk of a few rows restarts the hardware prefetchers at every chunk: 4-row chunks of a
    /// 12288×1024 softmax ran two threads at half the copy bandwidth), and small batches still spread evenly.
    /// </summary>
    public static int RowGrain(int rows, int rowElements)
    {
        int e = Math.Max(1, rowElements);
        int min = Math.Max(1, 4096 / e), max = Math.Max(min, 65536 / e);
        return Math.Clamp(rows / (8 * Math.Max(1, _threads)), min, max);
    }

    /// <summary>Runs body.Execute over [0, count) in chunks of <paramref name="grain"/> indices, in parallel.</summary>
    public static void For<TBody>(int count, int grain, ref TBody body) where TBody : struct, IParallelBody
    {
        if (count <= 0) return;
        grain = Math.Max(1, grain);
        int chunks = ChunkCount(count, grain);
        int degree = Math.Min(_threads, chunks);
        if (degree <= 1 || _onWorker || !Monitor.TryEnter(Gate))
        {
            body.Execute(0, count);
            return;
        }
        try
        {
            EnsureWorkers(degree - 1);
            TBody local = body; // on this thread's stack: it cannot move while workers read it
            _fn = &Invoke<TBody>;
            _ctx = Unsafe.AsPointer(ref local);
            _count = count; _grain = grain; _chunks = chunks;
            _nextChunk = 0; _error = null;
            Volatile.Write(ref _running, degree - 1);
            Volatile.Write(ref _job, ((long)(Generation(_job) + 1) << 32) | (uint)(degree - 1));
            for (int i = 0; i < degree - 1; i++) _workers[i].Wake();

            bool was = _onWorker;
            _onWorker = true;
            try { RunChunks(); }
            catch (Exception e) { _error ??= e; }
            finally { _onWorker = was; }

            var spin = new SpinWait();
            while (Volatile.Read(ref _running) != 0) spin.SpinOnce(-1);
            // The body's own exception, type and stack trace kept (a bad-input error naming its file stays
            // that error for the caller, not an AggregateException around it).
            if (_error is { } err) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(err).Throw();
        }
        finally
        {
            Monitor.Exit(Gate);
        }
    }

    private static void Invoke<TBody>(void* ctx, int start, int end) where TBody : struct, IParallelBody
        => Unsafe.AsRef<TBody>(ctx).Execute(start, end);

    private static void RunChunks()
    {
        int chunks = _chunks, grain = _grain, count = _count;
        var fn = _fn; var ctx = _ctx;
        while (true)
        {
            int c = Interlocked.Increment(ref _nextChunk) - 1;
            if (c >= chunks) return;
            int start = c * grain;
            fn(ctx, start, Math.Min(count, start + grain));
        }
    }

    private static void EnsureWorkers(int n)
    {
        if (_workers.Length >= n) return;
        var w = new Worker[n];
        Array.Copy(_workers, w, _workers.Length);
        for (int i = _workers.Length; i < n; i++) w[i] = new Worker(i);
        _workers = w;
    }

    private sealed class Worker
    {
        private readonly SemaphoreSlim _signal = new(0);
        private int _sleeping;
        private int _seen;
        private readonly int _index;

        public Worker(int index)
        {
            _index = index;
            _seen = Generation(Volatile.Read(ref _job));
            var t = new Thread(Loop) { IsBackground = true, Name = $"sharplm-worker-{index}" };
            t.Start();
        }

        public void Wake()
        {
            if (Interlocked.Exchange(ref _sleeping, 0) == 1) _signal.Release();
        }

        private void Loop()
        {
            _onWorker = true;
            // Spin briefly after each job: training runs many short kernels back to back, and a
            // kernel-level sleep/wake per kernel would cost more than the kernel.
            long spinTicks = Stopwatch.Frequency / 5000; // 200 µs
            while (true)
            {
                long t0 = Stopwatch.GetTimestamp();
                int spins = 0;
                while (Generation(Volatile.Read(ref _job)) == _seen)
                {
                    if ((++spins & 63) == 0 && Stopwatch.GetTimestamp() - t0 > spinTicks)
                    {
                        // A full fence, not a release store: the flag must be visible before the job is read
                        // again. With a plain store, x86 may let the read pass the store (store buffer), both sides
                        // miss each other's write, and the worker sleeps through a job the caller then waits on forever.
                        Interlocked.Exchange(ref _sleeping, 1);
                        if (Generation(Volatile.Read(ref _job)) != _seen)
                        {
                            if (Interlocked.Exchange(ref _sleeping, 0) == 0) _signal.Wait(); // consume the wake already sent
                        }
                        else _signal.Wait();
                        break;
                    }
                    Thread.SpinWait(8);
                }
                // A wake can arrive late: the caller, descheduled between publishing a job and waking this
                // worker, may wake it after it already ran that job and went back to sleep. Running "again"
                // would decrement _running twice for one job, and a caller reading −1 waits forever (seen as
                // a test process spinning on one core under heavy oversubscription). Only a new generation is work.
                long job = Volatile.Read(ref _job);
                if (Generation(job) == _seen) continue;
                _seen = Generation(job);
                if (_index >= Participants(job)) continue; // a smaller job: not ours
                try { RunChunks(); }
                catch (Exception e) { _error ??= e; }
                Interlocked.Decrement(ref _running);
            }
        }
    }
}
