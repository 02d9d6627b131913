// TokenLoader: exact windows worked by hand, permutation coverage, determinism, bit-for-bit resume,
// rank partitioning and no allocation per batch. Shards hold token id = global position so a row's
// first token identifies its window.
using SharpLM.Tensors;
using SharpLM.Training.Data;

namespace SharpLM.Training.Tests.Data;

public sealed class TokenLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharplm-loader-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Counting(string name, int start, params int[] docLengths)
    {
        int t = start;
        var docs = docLengths.Select(n => Enumerable.Range(0, n).Select(_ => t++).ToArray()).ToArray();
        return TokenShardTests.Write(_dir, name, 100_000, docs);
    }

    private static List<int[]> Batches(TokenLoader l, int count)
    {
        var list = new List<int[]>();
        var buf = new int[l.Options.BatchSize * (l.Options.SeqLen + 1)];
        for (int i = 0; i < count; i++) { l.NextBatch(buf); list.Add((int[])buf.Clone()); }
        return list;
    }

    [Fact]
    public void SequentialWindowsOverlapByOneTokenAndStayInsideShards()
    {
        string a = Counting("train_000.bin", 0, 10);     // tokens 0..9: windows of 5 at 0, 4 → (10-1)/4 = 2
        string b = Counting("train_001.bin", 100, 13);   // 100..112: windows at 0, 4, 8 → 3
        using var l = new TokenLoader([a, b], new LoaderOptions(BatchSize: 2, SeqLen: 4, Mode: SamplingMode.Sequential));
        Assert.Equal(5, l.SlotCount);
        var bs = Batches(l, 3);
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 4, 5, 6, 7, 8 }, bs[0]);
        Assert.Equal(new[] { 100, 101, 102, 103, 104, 104, 105, 106, 107, 108 }, bs[1]);
        Assert.Equal(new[] { 108, 109, 110, 111, 112, 0, 1, 2, 3, 4 }, bs[2]); // epoch wraps mid-batch
        Assert.Equal(1, l.Position.Epoch);
    }

    [Fact]
    public void DocumentAlignedWindowsStartAtDocumentStarts()
    {
        // Documents of 3, 10, 2, 7 tokens (starts 0, 3, 13, 15; 22 tokens), T = 4 (windows of 5):
        // doc0 → 0; doc1 → 3, 7, 11; doc2 → 13; doc3 → 15 (19 + 5 > 22 does not fit).
        string a = Counting("a.bin", 0, 3, 10, 2, 7);
        using var l = new TokenLoader([a], new LoaderOptions(1, 4, SamplingMode.Sequential, AlignToDocuments: true));
        Assert.Equal(new[] { 0, 3, 7, 11, 13, 15 }, Batches(l, 6).Select(r => r[0]).ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(17)]
    [InlineData(1000)]
    [InlineData(4097)]
    public void FeistelIsABijection(int n)
    {
        var p = new FeistelPermutation(n, 42, 0);
        var seen = new bool[n];
        for (int i = 0; i < n; i++)
        {
            long y = p.Map(i);
            Assert.InRange(y, 0, n - 1);
            Assert.False(seen[y]);
            seen[y] = true;
        }
    }

    [Fact]
    public void RandomOrderVisitsEveryWindowOncePerEpochAndIsSeeded()
    {
        string a = Counting("a.bin", 0, 401); // 100 windows of 5 (T=4)
        var opts = new LoaderOptions(4, 4, SamplingMode.Random, Seed: 7);
        using var l = new TokenLoader([a], opts);
        var epoch0 = Batches(l, 25).SelectMany(b => Enumerable.Range(0, 4).Select(r => b[r * 5])).ToArray();
        Assert.Equal(Enumerable.Range(0, 100).Select(i => 4 * i).ToArray(), epoch0.Order().ToArray());
        Assert.NotEqual(epoch0.Order().ToArray(), epoch0); // actually shuffled
        var epoch1 = Batches(l, 25).SelectMany(b => Enumerable.Range(0, 4).Select(r => b[r * 5])).ToArray();
        Assert.Equal(epoch0.Order(), epoch1.Order());
        Assert.NotEqual(epoch0, epoch1); // re-keyed per epoch

        using var same = new TokenLoader([a], opts);
        Assert.Equal(epoch0, Batches(same, 25).SelectMany(b => Enumerable.Range(0, 4).Select(r => b[r * 5])));
        using var other = new TokenLoader([a], opts with { Seed = 8 });
        Assert.NotEqual(epoch0, Batches(other, 25).SelectMany(b => Enumerable.Range(0, 4).Select(r => b[r * 5])));
    }

    [Fact]
    public void ResumesBitForBit()
    {
        string a = Counting("a.bin", 0, 57, 300), b = Counting("b.bin", 1000, 211);
        var opts = new LoaderOptions(3, 8, SamplingMode.Random, Seed: 99, AlignToDocuments: true);
        using var l = new TokenLoader([a, b], opts);
        Batches(l, 30); // beyond one epoch
        var pos = l.Position;
        var expected = Batches(l, 10);

        using var r = new TokenLoader([a, b], opts);
        r.Restore(pos);
        Assert.Equal(expected, Batches(r, 10));

        using var wrongOpts = new TokenLoader([a, b], opts with { SeqLen = 9 });
        Assert.Contains("options", Assert.Throws<ArgumentException>(() => wrongOpts.Restore(pos)).Message);
        using var wrongData = new TokenLoader([a], opts);
        Assert.Contains("windows", Assert.Throws<ArgumentException>(() => wrongData.Restore(pos)).Message);
    }

    [Fact]
    public void RanksTakeDisjointWindows()
    {
        string a = Counting("a.bin", 0, 81); // 20 windows of 5
        var firsts = new List<int>();
        for (int rank = 0; rank < 2; rank++)
        {
            using var l = new TokenLoader([a], new LoaderOptions(5, 4, SamplingMode.Random, 3, Rank: rank, WorldSize: 2));
            Assert.Equal(10, l.RowsPerEpoch);
            firsts.AddRange(Batches(l, 2).SelectMany(bt => Enumerable.Range(0, 5).Select(r => bt[r * 5])));
        }
        Assert.Equal(Enumerable.Range(0, 20).Select(i => 4 * i), firsts.Order());
    }

    [Fact]
    public void FillsTensorsWithoutAllocating()
    {
        string a = Counting("a.bin", 0, 5000);
        using var l = new TokenLoader([a], new LoaderOptions(8, 64, SamplingMode.Random, 1, AlignToDocuments: false));
        using var t = Tensor.Zeros(DType.I32, 8, 65);
        l.NextBatch(t); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++) l.NextBatch(t);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        var row = t.AsSpan<int>()[..65].ToArray();
        Assert.Equal(Enumerable.Range(row[0], 65), row); // a contiguous window
        Assert.Equal(0, row[0] % 64);
    }

    [Fact]
    public void TooLittleDataIsAClearError()
    {
        string a = Counting("a.bin", 0, 4);
        var e = Assert.Throws<ArgumentException>(() => new TokenLoader([a], new LoaderOptions(1, 4)));
        Assert.Contains("windows of 5 tokens", e.Message);
    }

    [Fact]
    public void FindListsShardsByPrefix()
    {
        Counting("val_000.bin", 0, 10);
        string t1 = Counting("train_001.bin", 0, 10), t0 = Counting("train_000.bin", 0, 10);
        Assert.Equal(new[] { t0, t1 }, TokenLoader.Find(_dir, "train_"));
        Assert.Throws<FileNotFoundException>(() => TokenLoader.Find(_dir, "test_"));
    }
}

public sealed class TokenLoaderResumeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharplm-resume-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void PositionSurvivesTrainerStateJson()
    {
        int t = 0;
        var docs = Enumerable.Range(0, 40).Select(i => Enumerable.Range(0, 5 + i % 17).Select(_ => t++).ToArray()).ToArray();
        string a = TokenShardTests.Write(_dir, "train_000.bin", 100_000, docs);
        var opts = new LoaderOptions(2, 6, SamplingMode.Random, Seed: 0xDEADBEEFCAFEF00DUL, AlignToDocuments: true);
        var buf = new int[2 * 7];
        using var l = new TokenLoader([a], opts);
        for (int i = 0; i < 13; i++) l.NextBatch(buf);
        var json = new SharpLM.Training.Checkpoints.TrainerState { Step = 13, DataPosition = l.Position }.ToJson();
        var want = new List<int[]>();
        for (int i = 0; i < 9; i++) { l.NextBatch(buf); want.Add((int[])buf.Clone()); }

        var state = SharpLM.Training.Checkpoints.TrainerState.Parse(json, "trainer_state.json");
        using var r = new TokenLoader([a], state.DataPosition!.Options);
        r.Restore(state.DataPosition);
        for (int i = 0; i < 9; i++) { r.NextBatch(buf); Assert.Equal(want[i], buf); }
    }

    [Fact]
    public void ValidationLoaderResetsToTheSameBatches()
    {
        string v = TokenShardTests.Write(_dir, "val_000.bin", 1000, Enumerable.Range(0, 300).Select(i => i % 1000).ToArray());
        using var val = new TokenLoader(TokenLoader.Find(_dir, "val_"), new LoaderOptions(4, 16, SamplingMode.Sequential));
        var buf = new int[4 * 17];
        var first = new List<int[]>();
        for (int i = 0; i < 3; i++) { val.NextBatch(buf); first.Add((int[])buf.Clone()); }
        val.Reset();
        for (int i = 0; i < 3; i++) { val.NextBatch(buf); Assert.Equal(first[i], buf); }
        Assert.Equal(Enumerable.Range(0, 17), first[0][..17]);
    }
}
