// `sharplm data tokenize`: shards decode back to the input documents (the tokenizer's own decoder is the
// reference), the train/val split is a pure function of the id with the requested fraction (binomial
// bound), outputs do not depend on the thread count, shards roll over, and bad options are refused.
using System.Text.Json;
using SharpLM.Cli.Commands;
using SharpLM.Text.Tokenization;
using SharpLM.Training.Data;

namespace SharpLM.Cli.Tests.Data;

public sealed class TokenizeJobTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"sharplm-tok-{Guid.NewGuid():N}");
    private readonly string _tokenizer;
    private readonly List<(string Id, string Text)> _docs = [];
    private readonly string _input;

    public TokenizeJobTests()
    {
        Directory.CreateDirectory(_dir);
        var rng = new Random(17);
        string[] words = ["the", "cat", "sat", "on", "a", "mat", "über", "naïve", "日本", "42", "tokens", "shard", "<|endoftext|>"];
        for (int i = 0; i < 400; i++)
            _docs.Add(($"doc-{i}", string.Join(rng.Next(5) == 0 ? "\n" : " ", Enumerable.Range(0, rng.Next(0, 40)).Select(_ => words[rng.Next(words.Length)]))));
        _input = Path.Combine(_dir, "docs.jsonl");
        File.WriteAllLines(_input, _docs.Select(d => JsonSerializer.Serialize(new { id = d.Id, text = d.Text })));
        var tok = new BpeTrainer(BpeTrainerOptions.Gpt2Style(300)).TrainTexts(_docs.Select(d => d.Text).ToList());
        _tokenizer = Path.Combine(_dir, "tokenizer.json");
        TokenizerJson.Save(tok, _tokenizer);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<int[]> ReadDocs(string bin)
    {
        using var s = TokenShard.Open(bin);
        s.VerifyTokens();
        var list = new List<int[]>();
        for (long d = 0; d < s.DocumentCount; d++)
        {
            long a = s.DocumentStart(d), b = s.DocumentEnd(d);
            var t = new int[b - a];
            s.CopyTokens(a, t);
            list.Add(t);
        }
        return list;
    }

    [Fact]
    public void ShardsDecodeBackToTheDocumentsOnTheirSide()
    {
        string outDir = Path.Combine(_dir, "out");
        var stats = TokenizeJob.Run(new TokenizeOptions { Input = _input, Tokenizer = _tokenizer, OutDir = outDir, ValFraction = 0.2, Eos = true });
        var tok = TokenizerJson.Load(_tokenizer);
        int eos = tok.SpecialTokens["<|endoftext|>"];
        var train = ReadDocs(Path.Combine(outDir, "train_000000.bin"));
        var val = ReadDocs(Path.Combine(outDir, "val_000000.bin"));
        var expTrain = _docs.Where(d => !TokenizeJob.IsValidation(d.Id, 0.2, 0)).ToList();
        var expVal = _docs.Where(d => TokenizeJob.IsValidation(d.Id, 0.2, 0)).ToList();
        Assert.Equal(expTrain.Count, train.Count);
        Assert.Equal(expVal.Count, val.Count);
        foreach (var (got, exp) in train.Zip(expTrain).Concat(val.Zip(expVal)))
        {
            Assert.Equal(eos, got[^1]);
            Assert.Equal(exp.Text, tok.DecodeToString(got.AsSpan(0, got.Length - 1)));   // literal "<|endoftext|>" in text stays text
            Assert.DoesNotContain(eos, got[..^1]);
        }
        using (var s = TokenShard.Open(Path.Combine(outDir, "train_000000.bin"))) Assert.Equal(2, s.Width);
        long tokens = train.Sum(t => t.Length) + val.Sum(t => t.Length);
        Assert.Equal(tokens, stats.Tokens);
        Assert.Equal(_docs.Sum(d => (long)System.Text.Encoding.UTF8.GetByteCount(d.Text)), stats.Bytes);
        var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "stats.json"))).RootElement;
        Assert.Equal(400, json.GetProperty("documents").GetInt32());
        Assert.Equal(tokens, json.GetProperty("tokens").GetInt64());
        Assert.Contains("bytes/token", stats.Line());
    }

    [Fact]
    public void SplitFractionIsWithinBinomialBounds()
    {
        // Each id lands in validation with probability f independently (a hash), so the count over n ids is
        // Binomial(n, f): checked within 5 standard deviations.
        foreach (double f in new[] { 0.01, 0.05, 0.3 })
        {
            const int n = 20000;
            int val = Enumerable.Range(0, n).Count(i => TokenizeJob.IsValidation($"id-{i}", f, 0));
            double sd = Math.Sqrt(n * f * (1 - f));
            Assert.True(Math.Abs(val - n * f) <= 5 * sd, $"f={f}: {val} of {n}");
        }
        Assert.False(TokenizeJob.IsValidation("anything", 0, 0));
        Assert.Equal(TokenizeJob.IsValidation("x", 0.5, 1), TokenizeJob.IsValidation("x", 0.5, 1));
    }

    [Fact]
    public void OutputIsIdenticalForAnyThreadCountAndShardsRollOver()
    {
        var o = new TokenizeOptions { Input = _input, Tokenizer = _tokenizer, OutDir = Path.Combine(_dir, "a"), ValFraction = 0.1, Bos = true, ShardTokens = 1500, Threads = 1, BatchSize = 7 };
        var s1 = TokenizeJob.Run(o);
        var s2 = TokenizeJob.Run(o with { OutDir = Path.Combine(_dir, "b"), Threads = 2, BatchSize = 64 });
        Assert.True(s1.TrainShards > 1, $"{s1.TrainShards} train shards");
        var names = Directory.GetFiles(Path.Combine(_dir, "a"), "*.bin").Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(names, Directory.GetFiles(Path.Combine(_dir, "b"), "*.bin").Select(Path.GetFileName).Order().ToArray());
        foreach (var n in names)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "a", n!)), File.ReadAllBytes(Path.Combine(_dir, "b", n!)));
            using var s = TokenShard.Open(Path.Combine(_dir, "a", n!));
            Assert.True(s.DocumentCount > 0);
        }
        Assert.Equal(s1.Tokens, s2.Tokens);
        // --bos with a GPT-2 style vocabulary falls back to <|endoftext|> as the separator before each document.
        int bos = TokenizerJson.Load(_tokenizer).SpecialTokens["<|endoftext|>"];
        Assert.All(ReadDocs(Path.Combine(_dir, "a", "train_000000.bin")), d => Assert.Equal(bos, d[0]));
    }

    [Fact]
    public void RefusesBadOptionsWithClearMessages()
    {
        string outDir = Path.Combine(_dir, "c");
        var o = new TokenizeOptions { Input = _input, Tokenizer = _tokenizer, OutDir = outDir };
        Assert.Contains("not a token", Assert.Throws<ArgumentException>(() => TokenizeJob.Run(o with { EosToken = "<|nope|>" })).Message);
        Assert.Contains("--val-fraction", Assert.Throws<ArgumentException>(() => TokenizeJob.Run(o with { ValFraction = 1.5 })).Message);
        Assert.Throws<FileNotFoundException>(() => TokenizeJob.Run(o with { Tokenizer = Path.Combine(_dir, "missing.json") }));
        TokenizeJob.Run(o);
        Assert.Contains("--overwrite", Assert.Throws<ArgumentException>(() => TokenizeJob.Run(o)).Message);
        TokenizeJob.Run(o with { Overwrite = true });
    }
}
