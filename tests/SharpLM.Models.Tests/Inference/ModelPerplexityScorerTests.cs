// The perplexity scorer of the data pipeline against independent computations: the training model's own loss
// (TransformerModel.Loss: another GEMM, another attention, another cross-entropy) on the same windows, and a
// log-softmax worked in double over InferenceModel.FullLogits; a document's score must not depend on how its
// windows were packed into passes. Then the filter's purpose: a tiny model trained here for a few seconds on
// generated English must find held-out sentences of that English less surprising than the same words shuffled,
// and those less surprising than random letters.
using System.Text;
using SharpLM.Models.Config;
using SharpLM.Models.Inference;
using SharpLM.Models.Modeling;
using SharpLM.Text.Data;
using SharpLM.Text.Data.Quality;
using SharpLM.Text.Tokenization;
using Xunit.Abstractions;

namespace SharpLM.Models.Tests.Inference;

public sealed class ModelPerplexityScorerTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharplm-ppl-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Subjects = ["the cat", "a dog", "my sister", "the old farmer", "our teacher", "a small bird", "the king", "his friend"];
    private static readonly string[] Verbs = ["sees", "likes", "finds", "carries", "paints", "follows", "feeds", "visits"];
    private static readonly string[] Objects = ["the red apple", "a wooden box", "the river", "a long letter", "the green field", "her brother", "the market", "a tall tree"];
    private static readonly string[] Endings = ["in the morning", "after dinner", "every day", "near the house", "with great care", "before the rain"];

    /// <summary>Sentences of a small grammar: subject verb object ending.</summary>
    internal static string English(Random rng, int sentences)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < sentences; i++)
        {
            string s = $"{Subjects[rng.Next(Subjects.Length)]} {Verbs[rng.Next(Verbs.Length)]} {Objects[rng.Next(Objects.Length)]} {Endings[rng.Next(Endings.Length)]}.";
            sb.Append(char.ToUpperInvariant(s[0])).Append(s, 1, s.Length - 1).Append(i % 4 == 3 ? "\n" : " ");
        }
        return sb.ToString().TrimEnd();
    }

    private static BpeTokenizer Tokenizer() =>
        BpeTokenizer.Train(Enumerable.Range(0, 40).Select(i => English(new Random(i), 20)), 300, ["<|endoftext|>"]);

    private static ModelConfig Config(ModelStyle style, int vocab, int context) => new ModelConfig
    {
        Style = style,
        NumLayers = 2,
        NumHeads = 4,
        NumKvHeads = style == ModelStyle.Llama ? 2 : 4,
        HiddenSize = 64,
        IntermediateSize = style == ModelStyle.Llama ? 96 : 256,
        MaxPositions = context,
        VocabSize = vocab,
        PaddedVocabSize = (vocab + 63) / 64 * 64,
        TieWordEmbeddings = style == ModelStyle.Gpt2,
    }.Validate();

    [Theory]
    [InlineData(ModelStyle.Gpt2)]
    [InlineData(ModelStyle.Llama)]
    public void ScoreEqualsTheTrainingModelsLossAndADoubleLogSoftmax(ModelStyle style)
    {
        var tok = Tokenizer();
        const int ctx = 16;
        string dir = Path.Combine(_dir, style.ToString());
        using (var train = new TransformerModel(Config(style, tok.VocabSize, ctx), 11)) train.Save(dir);
        using var reference = TransformerModel.Load(dir);
        using var model = InferenceModel.Load(dir, WeightFormat.F32);
        var texts = new[] { English(new Random(100), 9), "Short one.", English(new Random(101), 3), "x" };
        int bos = tok.SpecialTokens["<|endoftext|>"];

        using var scorer = new ModelPerplexityScorer(model, tok, new PerplexityScorerOptions { RowsPerForward = 4096 });
        var scores = new PerplexityScore[texts.Length];
        scorer.Score(texts, scores);

        for (int d = 0; d < texts.Length; d++)
        {
            int[] seq = [bos, .. tok.EncodeOrdinary(texts[d])];
            Assert.Equal(seq, scorer.Tokens(texts[d]));
            double viaTraining = 0, viaDouble = 0;
            int V = model.Config.VocabSize, Vp = model.Config.PaddedVocabSize;
            for (int s = 0; s < seq.Length - 1; s += ctx)
            {
                int len = Math.Min(ctx, seq.Length - 1 - s);
                var window = seq.AsSpan(s, len + 1);
                viaTraining += (double)reference.Loss(window, 1, len) * len;
                var logits = model.FullLogits(window[..len]);
                for (int t = 0; t < len; t++)
                {
                    var row = logits.AsSpan(t * Vp, V);
                    double max = double.NegativeInfinity, sum = 0;
                    foreach (float z in row) max = Math.Max(max, z);
                    foreach (float z in row) sum += Math.Exp(z - max);
                    viaDouble += max + Math.Log(sum) - row[window[t + 1]];
                }
            }
            Assert.Equal(seq.Length - 1, scores[d].Tokens);
            Assert.Equal(Encoding.UTF8.GetByteCount(texts[d]), scores[d].Bytes); // with <|endoftext|> in front every byte is predicted
            Assert.True(Math.Abs(scores[d].Nats - viaDouble) <= 1e-4 * Math.Max(1, viaDouble), $"doc {d}: scorer {scores[d].Nats} vs double log-softmax {viaDouble}");
            Assert.True(Math.Abs(scores[d].Nats - viaTraining) <= 2e-4 * Math.Max(1, viaTraining), $"doc {d}: scorer {scores[d].Nats} vs training model {viaTraining}");
            Assert.Equal(Math.Exp(viaDouble / (seq.Length - 1)), scores[d].Perplexity, 3);
            Assert.Equal(viaDouble / (Math.Log(2) * Encoding.UTF8.GetByteCount(texts[d])), scores[d].BitsPerByte, 4);
        }
    }

    [Fact]
    public void ScoreDoesNotDependOnHowWindowsArePackedIntoPasses()
    {
        var tok = Tokenizer();
        string dir = Path.Combine(_dir, "pack");
        using (var train = new TransformerModel(Config(ModelStyle.Llama, tok.VocabSize, 12), 5)) train.Save(dir);
        using var model = InferenceModel.Load(dir, WeightFormat.F32);
        var texts = Enumerable.Range(0, 7).Select(i => English(new Random(200 + i), 1 + i * 2)).ToArray();
        using var big = new ModelPerplexityScorer(model, tok, new PerplexityScorerOptions { RowsPerForward = 10_000 });
        var together = new PerplexityScore[texts.Length];
        big.Score(texts, together);
        // 5 rows per pass: windows of 12 are cut across passes and continue from the cache.
        using var small = new ModelPerplexityScorer(model, tok, new PerplexityScorerOptions { RowsPerForward = 5 });
        for (int d = 0; d < texts.Length; d++)
        {
            var alone = new PerplexityScore[1];
            small.Score([texts[d]], alone);
            Assert.Equal(together[d].Tokens, alone[0].Tokens);
            Assert.Equal(together[d].Bytes, alone[0].Bytes);
            Assert.True(Math.Abs(together[d].Nats - alone[0].Nats) <= 1e-9 * together[d].Nats, $"doc {d}: {together[d].Nats} together vs {alone[0].Nats} alone");
        }
        // MaxTokens scores only the first tokens.
        using var capped = new ModelPerplexityScorer(model, tok, new PerplexityScorerOptions { MaxTokens = 7 });
        var c = new PerplexityScore[1];
        capped.Score([texts[^1]], c);
        Assert.Equal(7, c[0].Tokens);
    }

    [Fact]
    public void ATinyTrainedModelRanksInDomainTextBelowShuffledAndGarbage()
    {
        var tok = Tokenizer();
        const int T = 32, B = 8;
        var cfg = Config(ModelStyle.Llama, tok.VocabSize, T);
        string dir = Path.Combine(_dir, "trained");
        int bos = tok.SpecialTokens["<|endoftext|>"];
        var stream = new List<int>();
        for (int i = 0; i < 400; i++) { stream.Add(bos); stream.AddRange(tok.EncodeOrdinary(English(new Random(1000 + i), 4))); }
        using (var m = new TransformerModel(cfg, 3))
        {
            // Adam (β 0.9/0.99, lr 3e-3) on random windows for a fixed number of steps.
            var p = m.FlatValues.AsSpan<float>().ToArray();
            var mom = new float[p.Length]; var vel = new float[p.Length];
            var rng = new Random(9);
            var batch = new int[B * (T + 1)];
            for (int step = 1; step <= 150; step++)
            {
                for (int b = 0; b < B; b++) stream.CopyTo(rng.Next(stream.Count - T - 1), batch, b * (T + 1), T + 1);
                m.ZeroGrad();
                m.ForwardBackward(batch, B, T, 1f);
                var w = m.FlatValues.AsSpan<float>(); var g = m.FlatGrads.AsSpan<float>();
                double c1 = 1 - Math.Pow(0.9, step), c2 = 1 - Math.Pow(0.99, step);
                for (int i = 0; i < w.Length; i++)
                {
                    mom[i] = 0.9f * mom[i] + 0.1f * g[i];
                    vel[i] = 0.99f * vel[i] + 0.01f * g[i] * g[i];
                    w[i] -= (float)(3e-3 * (mom[i] / c1) / (Math.Sqrt(vel[i] / c2) + 1e-8));
                }
            }
            m.Save(dir);
        }
        tok.Save(Path.Combine(dir, "tokenizer.json"));
        using var scorer = ModelPerplexityScorer.Load(dir);
        var rngText = new Random(77);
        var inDomain = Enumerable.Range(0, 6).Select(i => English(new Random(5000 + i), 6)).ToArray();
        var shuffled = inDomain.Select(t => string.Join(' ', t.Split(' ').OrderBy(_ => rngText.Next()))).ToArray();
        var garbage = inDomain.Select(t => new string(t.Select(ch => ch == ' ' ? ' ' : (char)('a' + rngText.Next(26))).ToArray())).ToArray();
        double Bpb(string[] texts)
        {
            var s = new PerplexityScore[texts.Length];
            scorer.Score(texts, s);
            return s.Sum(x => x.Nats) / (Math.Log(2) * s.Sum(x => x.Bytes));
        }
        double a = Bpb(inDomain), sh = Bpb(shuffled), ga = Bpb(garbage);
        output.WriteLine($"bits per byte: in-domain {a:F3}, shuffled {sh:F3}, garbage {ga:F3}");
        Assert.True(a < sh && sh < ga, $"bits per byte: in-domain {a:F3}, shuffled {sh:F3}, garbage {ga:F3}");

        // The filter keeps what the threshold between them keeps.
        var filter = new PerplexityFilter(scorer, new PerplexityFilterOptions { MaxBitsPerByte = (a + sh) / 2 });
        var docs = inDomain.Concat(shuffled).Concat(garbage).Select((t, i) => new Document { Id = i.ToString(System.Globalization.CultureInfo.InvariantCulture), Text = t }).ToList();
        var verdicts = new FilterVerdict[docs.Count];
        filter.ApplyBatch(docs, verdicts);
        int keptIn = verdicts.Take(6).Count(v => v.Keep), keptOther = verdicts.Skip(6).Count(v => v.Keep);
        Assert.True(keptIn >= 5 && keptOther <= 1, $"kept {keptIn}/6 in-domain and {keptOther}/12 shuffled or garbage");
        Assert.All(docs, d => Assert.True(d.Metadata.ContainsKey("bits_per_byte")));
    }
}
