// The perplexity step inside the pipeline runner, with a scorer whose numbers are worked by hand: every
// character is one token costing 1 nat, except 'z' which costs 3 nats; bytes are the UTF-8 bytes. So "ab" has
// perplexity e^1 and 1/ln 2 = 1.4427 bits per byte, "zz" perplexity e^3 and 4.328 bits per byte. The runner must
// hand the batch step only the documents still alive, in order, and write its removals and funnel like any step.
using System.Text;
using SharpLM.Text.Data;
using SharpLM.Text.Data.Pipeline;
using SharpLM.Text.Data.Quality;
using SharpLM.Text.Data.Readers;

namespace SharpLM.Text.Tests.Data;

public class PerplexityFilterTests
{
    private sealed class CharScorer : IPerplexityScorer
    {
        public readonly List<int> BatchSizes = [];
        public string Describe => "one nat per character, three per z";
        public void Score(IReadOnlyList<string> texts, Span<PerplexityScore> scores)
        {
            BatchSizes.Add(texts.Count);
            for (int i = 0; i < texts.Count; i++)
                scores[i] = new PerplexityScore(texts[i].Sum(c => c == 'z' ? 3.0 : 1.0), texts[i].Length, Encoding.UTF8.GetByteCount(texts[i]));
        }
    }

    private sealed class DropIfContains(string needle) : IParallelSafeFilter
    {
        public string Name => "no_" + needle;
        public FilterVerdict Apply(Document d) => d.Text.Contains(needle) ? FilterVerdict.Drop($"no_{needle}:has") : FilterVerdict.Kept;
    }

    [Fact]
    public void ScoresAndThresholds_WorkedByHand()
    {
        var f = new PerplexityFilter(new CharScorer(), new PerplexityFilterOptions { MaxBitsPerByte = 2.0, MinPerplexity = 2.0 });
        var docs = new List<Document> { new() { Id = "a", Text = "ab" }, new() { Id = "b", Text = "zz" }, new() { Id = "c", Text = "" }, new() { Id = "d", Text = "abz" } };
        var v = new FilterVerdict[docs.Count];
        f.ApplyBatch(docs, v);
        Assert.True(v[0].Keep);
        Assert.Equal(Math.Round(Math.E, 4), docs[0].Metadata["perplexity"]);
        Assert.Equal(Math.Round(1 / Math.Log(2), 4), docs[0].Metadata["bits_per_byte"]);
        Assert.Equal("perplexity:bits_per_byte_above_max", v[1].Reason); // 6 nats / (ln2 · 2) = 4.33
        Assert.Equal("perplexity:empty", v[2].Reason);
        // "abz": 5 nats over 3 tokens, 3 bytes: perplexity e^(5/3) = 5.29, 2.40 bits per byte > 2.
        Assert.Equal("perplexity:bits_per_byte_above_max", v[3].Reason);
        Assert.Equal(Math.Round(Math.Exp(5.0 / 3), 4), docs[3].Metadata["perplexity"]);
        var low = new PerplexityFilter(new CharScorer(), new PerplexityFilterOptions { MinPerplexity = 3.0 });
        Assert.Equal("perplexity:perplexity_below_min", low.Apply(new Document { Id = "x", Text = "ab" }).Reason); // e < 3
        Assert.Throws<ArgumentException>(() => new PerplexityFilterOptions { MinBitsPerByte = 3, MaxBitsPerByte = 2 }.Validate());
    }

    [Theory]
    [InlineData(1, 256)]
    [InlineData(2, 2)]
    public void RunnerFeedsSurvivorsInBatches_WritesRemovedAndFunnel(int threads, int batch)
    {
        using var dir = new TempDir();
        var scorer = new CharScorer();
        var items = new List<PipelineItem>
        {
            PipelineItem.Of(new DropIfContains("q")),
            PipelineItem.Of(new PerplexityFilter(scorer, new PerplexityFilterOptions { MaxPerplexity = 5 })),
        };
        var docs = new List<Document>
        {
            new() { Id = "0", Text = "abc" }, new() { Id = "1", Text = "zzz" }, new() { Id = "2", Text = "qq" },
            new() { Id = "3", Text = "az" }, new() { Id = "4", Text = "hello" },
        };
        var stats = new PipelineRunner(items, new() { Threads = threads, BatchSize = batch }).Run(docs, dir.Path);
        // perplexities: abc e^1, zzz e^3 (dropped), az e^2 = 7.39 (dropped), hello e^1.
        Assert.Equal(["0", "4"], DocumentReaders.ReadFile(dir.File("documents.jsonl.gz")).Select(d => d.Id));
        var removed = DocumentReaders.ReadFile(dir.File("removed/perplexity.jsonl.gz")).ToList();
        Assert.Equal(["1", "3"], removed.Select(d => d.Id));
        Assert.All(removed, d => Assert.Equal("perplexity:perplexity_above_max", d.Metadata["removed_by"]));
        var st = stats.Steps[1];
        Assert.Equal(("perplexity", 4L, 2L, 13L, 8L), (st.Name, st.DocsIn, st.DocsOut, st.BytesIn, st.BytesOut));
        Assert.Equal(2, st.Removed["perplexity:perplexity_above_max"]);
        Assert.Equal(4, scorer.BatchSizes.Sum()); // the document dropped before never reaches the model
        Assert.Equal(batch == 2 ? 3 : 1, scorer.BatchSizes.Count);
    }
}
