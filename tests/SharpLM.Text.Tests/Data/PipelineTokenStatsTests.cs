// Tokens in and out per step in stats.json (`data run --tokenizer`): with a tiny BPE tokenizer trained here,
// every step's figures are checked against the tokenizer run directly on the texts the step saw — the input
// texts, the redacted texts (pii changes them), the removed documents of each step and the kept output —
// for one and two threads (the counts are computed in parallel over documents and must not depend on it).
using SharpLM.Text.Data;
using SharpLM.Text.Data.Dedup;
using SharpLM.Text.Data.Pipeline;
using SharpLM.Text.Data.Readers;
using SharpLM.Text.Tokenization;

namespace SharpLM.Text.Tests.Data;

public sealed class PipelineTokenStatsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"sharplm-tokstats-{Guid.NewGuid():N}");

    public PipelineTokenStatsTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<Document> Corpus()
    {
        var rng = new Random(5);
        var docs = new List<Document>();
        for (int i = 0; i < 120; i++)
        {
            string text = string.Join(' ', SharpLM.Text.Tests.Dedup.NearDupGen.Words(rng, 40 + rng.Next(60)));
            if (i % 7 == 0) text += $" write to user{i}@example.com or call +1 415 555 01{i % 100:D2} today";
            if (i % 11 == 5) text = docs[rng.Next(docs.Count)].Text;                 // exact copy
            if (i % 13 == 6) text = string.Join(' ', SharpLM.Text.Tests.Dedup.NearDupGen.Mutate(rng, docs[rng.Next(docs.Count)].Text.Split(' '), 0.01));
            docs.Add(new Document { Id = $"d{i}", Text = text });
        }
        return docs;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void TokensPerStepMatchTheTokenizerOnWhatEachStepSaw(int threads)
    {
        var docs = Corpus();
        var tok = new BpeTrainer(new BpeTrainerOptions(256 + 60, Pattern: PreTokenizerPatterns.Cl100k)).TrainTexts(docs.Take(30).Select(d => d.Text));
        long Count(string t) => tok.EncodeOrdinary(t).Length;

        string outDir = Path.Combine(_dir, $"t{threads}");
        var items = PipelineConfig.FromNames("pii,exact_dedup,minhash_dedup").Build(StepCatalog.Default());
        var stats = new PipelineRunner(items, new PipelineRunOptions { Threads = threads, BatchSize = 23, CompressOutput = false, TokenCounter = t => Count(t) })
            .Run(docs.Select(d => new Document { Id = d.Id, Text = d.Text }), outDir);
        var saved = PipelineStats.Load(Path.Combine(outDir, "stats.json"));

        long input = docs.Sum(d => Count(d.Text));
        var redactor = new SharpLM.Text.Data.Pii.PiiRedactor();
        long redacted = docs.Sum(d => { var c = new Document { Id = d.Id, Text = d.Text }; redactor.Apply(c); return Count(c.Text); });
        long RemovedBy(string step) => DocumentReaders.ReadFile(Path.Combine(outDir, "removed", $"{step}.jsonl.gz")).Sum(d => Count(d.Text));
        long output = DocumentReaders.ReadFile(Path.Combine(outDir, "documents.jsonl")).Sum(d => Count(d.Text));

        Assert.NotEqual(input, redacted); // pii changed some texts
        Assert.True(RemovedBy("exact_dedup") > 0 && RemovedBy("minhash_dedup") > 0);
        Assert.Equal(["pii", "exact_dedup", "minhash_dedup"], saved.Steps.Select(s => s.Name));
        Assert.Equal(input, saved.TokensIn);
        Assert.Equal(input, saved.Steps[0].TokensIn);
        Assert.Equal(redacted, saved.Steps[0].TokensOut);
        Assert.Equal(redacted, saved.Steps[1].TokensIn);
        Assert.Equal(redacted - RemovedBy("exact_dedup"), saved.Steps[1].TokensOut);
        Assert.Equal(saved.Steps[1].TokensOut, saved.Steps[2].TokensIn);
        Assert.Equal(saved.Steps[2].TokensIn - RemovedBy("minhash_dedup"), saved.Steps[2].TokensOut);
        Assert.Equal(output, saved.Steps[2].TokensOut);
        Assert.Equal(output, saved.TokensOut);
        Assert.Equal(stats.TokensOut, saved.TokensOut);
    }

    [Fact]
    public void WithoutATokenizerStatsHaveNoTokenFields()
    {
        var items = PipelineConfig.FromNames("exact_dedup").Build(StepCatalog.Default());
        string outDir = Path.Combine(_dir, "none");
        new PipelineRunner(items, new PipelineRunOptions { Threads = 1, CompressOutput = false }).Run(Corpus(), outDir);
        string json = File.ReadAllText(Path.Combine(outDir, "stats.json"));
        Assert.DoesNotContain("tokens_in", json);
        Assert.Contains("bytes_in", json);
    }
}
