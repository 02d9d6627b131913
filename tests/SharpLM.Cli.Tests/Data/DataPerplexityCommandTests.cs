// `sharplm data perplexity` and the perplexity step of `sharplm data run --config`, end to end on a checkpoint
// folder written here (random weights, a BPE tokenizer beside it): the kept and removed documents must be exactly
// those the library's scorer puts on either side of the threshold, the funnel must count them, and both verbs must
// agree. A missing checkpoint is a one-line error (exit code 1).
using System.CommandLine;
using SharpLM.Cli.Commands;
using SharpLM.Models.Config;
using SharpLM.Models.Inference;
using SharpLM.Models.Modeling;
using SharpLM.Text.Data;
using SharpLM.Text.Data.Pipeline;
using SharpLM.Text.Data.Quality;
using SharpLM.Text.Data.Readers;
using SharpLM.Text.Tokenization;

namespace SharpLM.Cli.Tests.Data;

public sealed class DataPerplexityCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharplm-cli-ppl-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int Run(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(DataCommands.Create());
        return root.Parse(args).Invoke(new InvocationConfiguration { Output = new StringWriter(), Error = new StringWriter() });
    }

    [Fact]
    public void VerbAndConfigStepKeepExactlyTheDocumentsTheScorerPutsUnderTheThreshold()
    {
        var texts = new[]
        {
            "The cat sat on the mat and looked at the rain.", "A dog ran along the river bank every morning.",
            "zqxj vvkw ppfh qqzt xxkw", "Our teacher read a long letter to the class.", "0110 1001 1110 0001 ####", "She sells sea shells by the sea shore.",
        };
        var tok = BpeTokenizer.Train(texts.Concat(texts), 300, ["<|endoftext|>"]);
        string model = Path.Combine(_dir, "model");
        var cfg = new ModelConfig { Style = ModelStyle.Llama, NumLayers = 1, NumHeads = 2, NumKvHeads = 1, HiddenSize = 32, IntermediateSize = 64, MaxPositions = 16, VocabSize = tok.VocabSize, PaddedVocabSize = (tok.VocabSize + 63) / 64 * 64 }.Validate();
        using (var m = new TransformerModel(cfg, 4)) m.Save(model);
        tok.Save(Path.Combine(model, "tokenizer.json"));
        string input = Path.Combine(_dir, "in.jsonl");
        File.WriteAllLines(input, texts.Select((t, i) => DocumentJson.ToLine(new Document { Id = $"d{i}", Text = t })));

        var scores = new PerplexityScore[texts.Length];
        using (var scorer = ModelPerplexityScorer.Load(model)) scorer.Score(texts, scores);
        var bpb = scores.Select(s => s.BitsPerByte).ToArray();
        double threshold = bpb.Order().ElementAt(2) + 1e-6; // keeps the three lowest
        var expectKept = Enumerable.Range(0, texts.Length).Where(i => bpb[i] <= threshold).Select(i => $"d{i}").ToList();
        Assert.Equal(3, expectKept.Count);

        string t = threshold.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(0, Run("data", "perplexity", "-i", input, "-o", Path.Combine(_dir, "verb"), "-m", model, "--max-bpb", t, "--threads", "1", "--plain"));
        var kept = DocumentReaders.ReadFile(Path.Combine(_dir, "verb", "documents.jsonl")).ToList();
        Assert.Equal(expectKept, kept.Select(d => d.Id));
        for (int k = 0; k < kept.Count; k++)
            Assert.Equal(Math.Round(bpb[int.Parse(kept[k].Id[1..], System.Globalization.CultureInfo.InvariantCulture)], 4), kept[k].Metadata["bits_per_byte"]);
        var removed = DocumentReaders.ReadFile(Path.Combine(_dir, "verb", "removed", "perplexity.jsonl.gz")).ToList();
        Assert.Equal(3, removed.Count);
        Assert.All(removed, d => Assert.Equal("perplexity:bits_per_byte_above_max", d.Metadata["removed_by"]));
        var stats = PipelineStats.Load(Path.Combine(_dir, "verb", "stats.json"));
        Assert.Equal(("perplexity", 6L, 3L), (stats.Steps[0].Name, stats.Steps[0].DocsIn, stats.Steps[0].DocsOut));

        string config = Path.Combine(_dir, "pipeline.yaml");
        File.WriteAllText(config, $"steps:\n  - perplexity: {{model: {model}, max_bits_per_byte: {t}, rows_per_forward: 7}}\n");
        Assert.Equal(0, Run("data", "run", "-i", input, "-o", Path.Combine(_dir, "run"), "-c", config, "--plain"));
        Assert.Equal(expectKept, DocumentReaders.ReadFile(Path.Combine(_dir, "run", "documents.jsonl")).Select(d => d.Id));

        Assert.Equal(1, Run("data", "perplexity", "-i", input, "-o", Path.Combine(_dir, "bad"), "-m", Path.Combine(_dir, "nope")));
    }
}
