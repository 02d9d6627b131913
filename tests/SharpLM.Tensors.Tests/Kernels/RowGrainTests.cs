// WorkerPool.RowGrain: chunks of 16–256 KB of row data, at least eight per thread when the rows allow
// (values worked by hand from those bounds).
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Tests.Kernels;

[Collection("WorkerPool exclusive")]
public sealed class RowGrainTests
{
    [Theory]
    [InlineData(12288, 1024, 2, 64)] // 768 rows per eighth-of-a-thread, capped at 256 KB = 64 rows of 4 KB
    [InlineData(256, 768, 2, 16)]    // a training batch: 256 / 16 = 16 rows, above the 16 KB floor of 5 rows
    [InlineData(256, 768, 1, 32)]
    [InlineData(10, 768, 2, 5)]      // too few rows to balance: the 16 KB floor (4096 / 768 = 5 rows)
    [InlineData(1000, 100000, 2, 1)] // rows longer than the floor and the cap: one row per chunk
    [InlineData(1 << 20, 1, 2, 65536)]
    public void ClampsTheBalancedGrainToTheChunkSizeBounds(int rows, int rowElements, int threads, int expected)
    {
        int prev = WorkerPool.Threads;
        try
        {
            WorkerPool.Threads = threads;
            Assert.Equal(expected, WorkerPool.RowGrain(rows, rowElements));
        }
        finally { WorkerPool.Threads = prev; }
    }
}
