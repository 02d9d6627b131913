// Greedy decoding and logits against the PyTorch golden fixtures of reference/generate_golden.py (torch
// 1.13, seed 20261129, computed in float64 by full recomputation): a tiny GPT-2 (padded vocabulary, tied
// head) and a tiny Llama with grouped-query attention and an untied head, loaded by Hugging Face names.
using System.Text.Json;
using SharpLM.Models.Inference;

namespace SharpLM.Models.Tests.Inference;

public sealed class GoldenGenerateTests
{
    internal static string Dir(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "generate", name);

    internal sealed record Golden(int[] Prompt, int[] Tokens, int NewTokens, double[] Logits, int T, int V, double Margin);

    internal static Golden Load(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir(name), "expected.json")));
        var r = doc.RootElement;
        var shape = r.GetProperty("logits_shape").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        return new Golden(
            r.GetProperty("prompt").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            r.GetProperty("tokens").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            r.GetProperty("new_tokens").GetInt32(),
            r.GetProperty("logits").EnumerateArray().Select(x => x.GetDouble()).ToArray(),
            shape[0], shape[1], r.GetProperty("min_greedy_margin").GetDouble());
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    [InlineData("llama_bpe")]
    [InlineData("gpt2_bpe")]
    public void GreedyTokensMatchPyTorch(string name)
    {
        var g = Load(name);
        using var model = InferenceModel.Load(Dir(name), WeightFormat.F32);
        var gen = new Generator(model);
        var res = gen.Generate([g.Prompt], new GenerationOptions { MaxNewTokens = g.NewTokens, Sampling = new SamplingOptions { Temperature = 0 } }, out var stats);
        Assert.Equal(g.Tokens[g.Prompt.Length..], res[0].Tokens);
        Assert.Equal("length", res[0].FinishReason);
        Assert.Equal(g.NewTokens, stats.GeneratedTokens);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    [InlineData("llama_bpe")]
    [InlineData("gpt2_bpe")]
    public void LogitsOfEveryPositionMatchPyTorch(string name)
    {
        var g = Load(name);
        using var model = InferenceModel.Load(Dir(name), WeightFormat.F32);
        var logits = model.FullLogits(g.Tokens);
        Assert.Equal(g.V, model.Config.PaddedVocabSize);
        double maxErr = 0;
        for (int i = 0; i < g.Logits.Length; i++) maxErr = Math.Max(maxErr, Math.Abs(logits[i] - g.Logits[i]));
        Assert.True(maxErr < 2e-4, $"{name}: max |logit − torch| = {maxErr}");
    }

    [Theory]
    [InlineData("gpt2", WeightFormat.BF16, 0.05)]
    [InlineData("llama", WeightFormat.BF16, 0.05)]
    [InlineData("gpt2", WeightFormat.Int8, 0.25)]
    [InlineData("llama", WeightFormat.Int8, 0.25)]
    public void ReducedPrecisionStaysCloseToPyTorch(string name, WeightFormat f, double relTol)
    {
        // Error relative to the logits' spread: bf16 rounds weights by ≤ 2⁻⁹; int8 rounds weights and activations by ≤ 1/254 of a
        // block's max (measured here: ≈ 0.13–0.17 sd at the worst logit of these deliberately large-weight tiny models).
        var g = Load(name);
        using var model = InferenceModel.Load(Dir(name), f);
        var logits = model.FullLogits(g.Tokens);
        double maxErr = 0, mean = g.Logits.Average(), sd = Math.Sqrt(g.Logits.Select(v => (v - mean) * (v - mean)).Average());
        for (int i = 0; i < g.Logits.Length; i++) maxErr = Math.Max(maxErr, Math.Abs(logits[i] - g.Logits[i]));
        Assert.True(maxErr < relTol * sd, $"{name} {f}: max |logit − torch| = {maxErr}, logit sd {sd}");
        Assert.True(maxErr > 0, "reduced precision should not be exact");
    }
}
