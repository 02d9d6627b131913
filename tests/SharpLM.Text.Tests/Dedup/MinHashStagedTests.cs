// The staged (scale-out) MinHash dedup against the in-process MinHashDedup on the same documents: same removed
// ids, same clusters (kept id and similarity per removed document) for world sizes 1, 2 and 3; a corrupted band
// file is refused naming the file; a relaunch skips finished tasks.
using SharpLM.Text.Data;
using SharpLM.Text.Data.Dedup;

namespace SharpLM.Text.Tests.Dedup;

public class MinHashStagedTests
{
    private static List<Document> Corpus()
    {
        // 60 originals, 40 near-duplicates (1–8 % of words mutated: some above the 0.7 threshold, some
        // below), 10 exact copies, 3 empty documents (no shingles).
        var rng = new Random(31);
        var docs = new List<Document>();
        var originals = new List<string[]>();
        for (int i = 0; i < 60; i++) originals.Add(NearDupGen.Words(rng, 60 + rng.Next(120)));
        foreach (var o in originals) docs.Add(new Document { Id = $"o{docs.Count}", Text = string.Join(' ', o) });
        for (int i = 0; i < 40; i++)
        {
            var src = originals[rng.Next(originals.Count)];
            docs.Insert(rng.Next(docs.Count + 1), new Document { Id = $"n{i}", Text = string.Join(' ', NearDupGen.Mutate(rng, src, 0.01 + 0.07 * rng.NextDouble())) });
        }
        for (int i = 0; i < 10; i++) docs.Insert(rng.Next(docs.Count + 1), new Document { Id = $"c{i}", Text = docs[rng.Next(docs.Count)].Text });
        for (int i = 0; i < 3; i++) docs.Insert(rng.Next(docs.Count + 1), new Document { Id = $"e{i}", Text = "" });
        return docs;
    }

    private static Dictionary<string, (string Kept, double Sim)> InProcess(List<Document> docs, MinHashOptions o)
    {
        var f = MinHashDedup.Prepare(docs.Select(Copy), o, threads: 1);
        var removed = new Dictionary<string, (string, double)>();
        foreach (var d in docs.Select(Copy))
            if (!f.Apply(d).Keep) removed[d.Id] = ((string)d.Metadata["cluster"]!, (double)d.Metadata["similarity"]!);
        return removed;
    }

    private static Document Copy(Document d) => new() { Id = d.Id, Text = d.Text };

    private static List<Document> Shard(List<Document> docs, int rank, int world)
    {
        int per = (docs.Count + world - 1) / world;
        return docs.Skip(rank * per).Take(per).Select(Copy).ToList();
    }

    private static Dictionary<string, (string Kept, double Sim)> Staged(List<Document> docs, MinHashOptions o, int world, string work)
    {
        var st = new MinHashStaged(o, work, world);
        for (int r = 0; r < world; r++) st.Signatures(r, Shard(docs, r, world), threads: 1, batchSize: 17);
        for (int r = world - 1; r >= 0; r--) st.Buckets(r);
        st.Cluster();
        var removed = new Dictionary<string, (string, double)>();
        for (int r = 0; r < world; r++)
        {
            var f = new MinHashStaged(o, work, world).Filter(r);
            foreach (var d in Shard(docs, r, world))
                if (!f.Apply(d).Keep) removed[d.Id] = ((string)d.Metadata["cluster"]!, (double)d.Metadata["similarity"]!);
            st.FilterDone(r, 0);
        }
        return removed;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void StagedEqualsInProcess(int world)
    {
        var docs = Corpus();
        var o = new MinHashOptions();
        var expected = InProcess(docs, o);
        Assert.True(expected.Count >= 20, $"{expected.Count} removed: the corpus should hold many near-duplicates");
        Assert.True(expected.Count < 50, $"{expected.Count} removed: some mutated copies should fall below the threshold");
        string work = Path.Combine(Path.GetTempPath(), $"mhst-{Guid.NewGuid():N}");
        try
        {
            var got = Staged(docs, o, world, work);
            Assert.Equal(expected.Keys.Order(), got.Keys.Order());
            foreach (var (id, v) in expected) Assert.Equal(v, got[id]);
        }
        finally { Directory.Delete(work, true); }
    }

    [Fact]
    public void CorruptBandFileIsRefusedNamingTheFile()
    {
        var docs = Corpus();
        var o = new MinHashOptions();
        string work = Path.Combine(Path.GetTempPath(), $"mhst-{Guid.NewGuid():N}");
        try
        {
            var st = new MinHashStaged(o, work, 2);
            st.Signatures(0, Shard(docs, 0, 2), 1);
            st.Signatures(1, Shard(docs, 1, 2), 1);
            string f = st.BandFile(1, 3);
            var bytes = File.ReadAllBytes(f);
            bytes[20] ^= 0x10; // one bit inside a record
            File.WriteAllBytes(f, bytes);
            st.Buckets(0);
            var e = Assert.Throws<InvalidDataException>(() => st.Buckets(1));
            Assert.Contains(f, e.Message);
            Assert.Contains("checksum", e.Message);
            Assert.False(st.IsDone("buckets", 1));
        }
        finally { Directory.Delete(work, true); }
    }

    [Fact]
    public void RelaunchSkipsFinishedTasks()
    {
        var docs = Corpus();
        var o = new MinHashOptions();
        string work = Path.Combine(Path.GetTempPath(), $"mhst-{Guid.NewGuid():N}");
        try
        {
            var first = new MinHashStaged(o, work, 2);
            first.Signatures(0, Shard(docs, 0, 2), 1);
            first.Buckets(0); // fails: rank 1 has not signed yet
        }
        catch (InvalidOperationException e) { Assert.Contains("rank 1", e.Message); }
        try
        {
            int enumerated = 0;
            IEnumerable<Document> Counted(int r) { foreach (var d in Shard(docs, r, 2)) { enumerated++; yield return d; } }
            var again = new MinHashStaged(o, work, 2);
            var c = again.RunAll(r => Counted(r), 1);
            Assert.Equal(1, again.Skipped);                       // rank 0's signatures
            Assert.Equal(docs.Count - Shard(docs, 0, 2).Count, enumerated); // only rank 1 was read
            var third = new MinHashStaged(o, work, 2);
            var c2 = third.RunAll(r => throw new InvalidOperationException("must not read documents"), 1);
            Assert.Equal(5, third.Skipped); // 2 signatures + 2 buckets + the cluster files (recomputed in memory, not rewritten)
            Assert.Equal(c.Representative, c2.Representative);
        }
        finally { Directory.Delete(work, true); }
    }
}
