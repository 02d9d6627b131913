// Generation end to end: stop strings cut the text before the string and the streamed deltas add up to the
// final text; stop tokens end a sequence without being emitted; ahead-of-time quantized checkpoints give the
// same logits as converting on load; the validation loss equals the cross-entropy of the PyTorch logits.
using SharpLM.Models.Config;
using SharpLM.Models.Inference;

namespace SharpLM.Models.Tests.Inference;

public sealed class GeneratorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharplm-gen-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static InferenceModel TinyWithTokenizerVocab() => new(
        new ModelConfig { Style = ModelStyle.Llama, NumLayers = 1, NumHeads = 2, NumKvHeads = 1, HiddenSize = 32, IntermediateSize = 64, MaxPositions = 64, VocabSize = 261, PaddedVocabSize = 264 }.Validate(),
        new RandomSource(5), WeightFormat.F32);

    [Fact]
    public void StopStringsCutTheTextAndTheStreamAddsUp()
    {
        var tok = GgufTests.SmallTokenizer();
        using var model = TinyWithTokenizerVocab();
        var gen = new Generator(model, tok);
        var prompt = tok.Encode("the cat");
        var baseOpts = new GenerationOptions { MaxNewTokens = 30, Sampling = new SamplingOptions { Temperature = 1f, Seed = 2 } };
        string full = gen.Generate([prompt], baseOpts, out _)[0].Text!;
        Assert.True(full.Length >= 6, $"text too short: '{full}'");
        string stop = full.Substring(4, 2);
        int at = full.IndexOf(stop, StringComparison.Ordinal);
        var streamed = new System.Text.StringBuilder();
        var res = gen.Generate([prompt], baseOpts with { StopStrings = [stop] }, out _, (_, d) => streamed.Append(d))[0];
        Assert.Equal("stop", res.FinishReason);
        Assert.Equal(full[..at], res.Text);
        Assert.Equal(res.Text, streamed.ToString());
        // Without a stop, the stream also equals the text.
        streamed.Clear();
        var plain = gen.Generate([prompt], baseOpts, out var stats, (_, d) => streamed.Append(d))[0];
        Assert.Equal(plain.Text, streamed.ToString());
        Assert.Equal(30, stats.GeneratedTokens);
        Assert.True(stats.TimeToFirstToken > 0 && stats.PrefillSeconds > 0);
    }

    [Fact]
    public void StopTokenEndsWithoutBeingEmitted()
    {
        using var model = TinyWithTokenizerVocab();
        var gen = new Generator(model);
        var opts = new GenerationOptions { MaxNewTokens = 20, Sampling = new SamplingOptions { Temperature = 0 } };
        var greedy = gen.Generate([[5, 6, 7]], opts, out _)[0].Tokens;
        int stopAt = 3;
        var res = gen.Generate([[5, 6, 7]], opts with { StopTokens = [greedy[stopAt]] }, out _)[0];
        int first = Array.IndexOf(greedy, greedy[stopAt]);
        Assert.Equal(greedy[..first], res.Tokens);
        Assert.Equal("stop", res.FinishReason);
    }

    [Theory]
    [InlineData("gpt2", WeightFormat.Int8, 32)]
    [InlineData("llama", WeightFormat.Int8, 32)]
    [InlineData("llama", WeightFormat.Int8, 0)]
    [InlineData("gpt2", WeightFormat.BF16, 32)]
    public void QuantizedCheckpointEqualsConversionOnLoad(string name, WeightFormat f, int block)
    {
        var g = GoldenGenerateTests.Load(name);
        string outDir = Path.Combine(_dir, $"{name}-{f}-{block}");
        var (n, _) = CheckpointQuantizer.Run(GoldenGenerateTests.Dir(name), outDir, f, block);
        Assert.Equal(name == "gpt2" ? 8 : 15, n); // 4 Conv1D per GPT-2 block; 7 projections per Llama block + lm_head
        using var a = InferenceModel.Load(GoldenGenerateTests.Dir(name), f, block);
        using var b = InferenceModel.Load(outDir, f, block);
        Assert.Equal(a.FullLogits(g.Tokens), b.FullLogits(g.Tokens));
        Assert.True(new FileInfo(Path.Combine(outDir, "model.safetensors")).Length < new FileInfo(Path.Combine(GoldenGenerateTests.Dir(name), "model.safetensors")).Length);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void MeanLossIsTheCrossEntropyOfTorchLogits(string name)
    {
        var g = GoldenGenerateTests.Load(name);
        using var model = InferenceModel.Load(GoldenGenerateTests.Dir(name), WeightFormat.F32);
        int V = model.Config.VocabSize;
        double expect = 0;
        for (int t = 0; t + 1 < g.Tokens.Length; t++)
        {
            var row = g.Logits.AsSpan(t * g.V, V).ToArray();
            double mx = row.Max(), lse = mx + Math.Log(row.Sum(z => Math.Exp(z - mx)));
            expect += lse - row[g.Tokens[t + 1]];
        }
        expect /= g.Tokens.Length - 1;
        Assert.Equal(expect, model.MeanLoss(g.Tokens), 4);
        // The quality cost of int8, as a loss change, is small but not zero.
        using var q = InferenceModel.Load(GoldenGenerateTests.Dir(name), WeightFormat.Int8);
        double dq = q.MeanLoss(g.Tokens) - expect;
        Assert.True(Math.Abs(dq) < 0.1 && dq != 0, $"{name}: int8 loss change {dq}");
    }
}
