using System.Runtime.InteropServices;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Tests.Core;

public sealed unsafe class WorkerPoolTests
{
    private struct SquareBody : IParallelBody
    {
        public long* Out;
        public int* Visits;
        public readonly void Execute(int start, int end)
        {
            for (int i = start; i < end; i++)
            {
                Out[i] = (long)i * i;
                Interlocked.Increment(ref Visits[i]);
            }
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(1000, 1)]
    [InlineData(100_003, 64)]
    public void EveryIndexRunsExactlyOnce(int count, int grain)
    {
        var outp = new long[count];
        var visits = new int[count];
        fixed (long* o = outp) fixed (int* v = visits)
        {
            var body = new SquareBody { Out = o, Visits = v };
            for (int rep = 0; rep < 20; rep++) WorkerPool.For(count, grain, ref body);
        }
        for (int i = 0; i < count; i++)
        {
            Assert.Equal((long)i * i, outp[i]);
            Assert.Equal(20, visits[i]);
        }
    }

    private struct NestedBody : IParallelBody
    {
        public long* Out;
        public readonly void Execute(int start, int end)
        {
            for (int i = start; i < end; i++)
            {
                // Nested calls run inline on the worker: the inner body must still cover its range.
                var sum = new SumInto { Out = Out + i * 4L };
                WorkerPool.For(4, 1, ref sum);
            }
        }
    }

    private struct SumInto : IParallelBody
    {
        public long* Out;
        public readonly void Execute(int start, int end)
        {
            for (int i = start; i < end; i++) Out[i] = i + 1;
        }
    }

    [Fact]
    public void NestedCallsRunInline()
    {
        var outp = new long[64 * 4];
        fixed (long* o = outp)
        {
            var body = new NestedBody { Out = o };
            WorkerPool.For(64, 1, ref body);
        }
        for (int i = 0; i < 64; i++)
            for (int k = 0; k < 4; k++) Assert.Equal(k + 1, outp[i * 4 + k]);
    }

    [Fact]
    public void ManyTinyJobsUnderOversubscriptionAllCompleteExactlyOnce()
    {
        // Busy threads beside the pool (more runnable threads than cores), so the caller and the workers are
        // descheduled at arbitrary points between publishing, waking, running and finishing jobs — where late
        // wakes once made a worker count a finished job twice and the caller wait forever.
        using var stop = new CancellationTokenSource();
        var burners = new Thread[2 * Environment.ProcessorCount];
        for (int i = 0; i < burners.Length; i++)
        {
            burners[i] = new Thread(() => { while (!stop.IsCancellationRequested) Thread.SpinWait(1000); }) { IsBackground = true };
            burners[i].Start();
        }
        var visits = new int[4];
        long jobs = 0;
        var run = new Thread(() =>
        {
            fixed (int* v = visits)
            {
                var body = new SquareBody { Out = (long*)Marshal.AllocHGlobal(4 * sizeof(long)), Visits = v };
                var sw = System.Diagnostics.Stopwatch.StartNew();
                while (sw.Elapsed.TotalSeconds < 1.5) { WorkerPool.For(4, 1, ref body); jobs++; }
                Marshal.FreeHGlobal((nint)body.Out);
            }
        })
        { IsBackground = true };
        run.Start();
        bool finished = run.Join(TimeSpan.FromSeconds(60));
        stop.Cancel();
        Assert.True(finished, $"a parallel loop never returned after {jobs} jobs");
        foreach (int n in visits) Assert.Equal(jobs, n);
    }

    private struct ThrowingBody : IParallelBody
    {
        public readonly void Execute(int start, int end)
        {
            if (start <= 50 && 50 < end) throw new InvalidOperationException("index 50");
        }
    }

    [Fact]
    public void ExceptionsReachTheCaller()
    {
        var body = new ThrowingBody();
        var e = Assert.Throws<InvalidOperationException>(() => WorkerPool.For(100, 1, ref body)); // the body's own type
        Assert.Equal("index 50", e.Message);
        // The pool still works afterwards.
        EveryIndexRunsExactlyOnce(1000, 7);
    }
}
