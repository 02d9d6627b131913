// Whole-model golden tests against PyTorch (llm.c's test_gpt2): reference/model_golden.py (torch 1.13, seeds
// in the file metadata) builds tiny GPT-2 and Llama style models in plain torch with Hugging Face semantics
// and dumps logits, loss, every parameter's gradient and the losses of 10 AdamW steps. We load the same
// safetensors by Hugging Face names and compare.
// Tolerances (f32 on both sides, different summation orders): logits and loss within 1e-4 absolute
// (values are O(1)); each gradient within 1e-3 of its tensor's largest |value| plus 1e-6 (gradients pass
// through ≈ 10 reductions of length ≤ 128); the 10 AdamW losses within 1e-3 (AdamW's first steps divide by
// √v ≈ |g|, so tiny gradient differences become relative weight differences of ~1e-5 per step).
using SharpLM.Models.Config;
using SharpLM.Models.IO;
using SharpLM.Models.Modeling;
using SharpLM.Tensors.Kernels;

namespace SharpLM.Models.Tests.Modeling;

public sealed class GoldenModelTests
{
    internal static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    internal static (TransformerModel Model, SafetensorsFile Expected, int[] Tokens, int B, int T) Load(string name)
    {
        var cfg = ModelConfigJson.Read(Fixture($"model_{name}.json"));
        var m = new TransformerModel(cfg, seed: 1);
        m.LoadWeights(Fixture($"model_{name}.safetensors"));
        var exp = SafetensorsFile.Open(Fixture($"model_{name}_expected.safetensors"));
        var info = exp.Info("tokens");
        var tokens = new int[info.ElementCount];
        exp.ReadI32("tokens", tokens);
        return (m, exp, tokens, (int)info.Shape[0], (int)info.Shape[1] - 1);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    [InlineData("llama_mqa_tied")]
    [InlineData("gpt2_options")]
    [InlineData("llama_options")]
    [InlineData("llama_alibi")]
    [InlineData("mixtral")]
    public void LogitsLossAndEveryGradientMatchPyTorch(string name)
    {
        var (m, exp, tokens, B, T) = Load(name);
        using var _ = m; using var __ = exp;
        int V = m.Config.VocabSize;

        var inputs = new int[B * T];
        for (int b = 0; b < B; b++) Array.Copy(tokens, b * (T + 1), inputs, b * T, T);
        var logits = new float[B * T * V];
        m.Logits(inputs, B, T, logits);
        var refLogits = exp.ReadF32("logits");
        Assert.Equal(refLogits.Length, logits.Length);
        for (int i = 0; i < logits.Length; i++)
            Assert.True(Math.Abs(logits[i] - refLogits[i]) <= 1e-4, $"{name}: logit {i}: {logits[i]} vs torch {refLogits[i]}");

        m.ZeroGrad();
        float loss = m.ForwardBackward(tokens, B, T, 1f);
        float refLoss = exp.ReadF32("loss")[0];
        Assert.True(Math.Abs(loss - refLoss) <= 1e-4, $"{name}: loss {loss} vs torch {refLoss}");
        Assert.Equal(loss, m.Loss(tokens, B, T), 6);

        int compared = 0;
        foreach (var p in m.Parameters)
        {
            var g = exp.ReadF32("grad." + p.Name);
            var ours = p.Grad.AsSpan<float>();
            Assert.Equal(g.Length, ours.Length);
            double max = 0; foreach (float x in g) max = Math.Max(max, Math.Abs(x));
            double tol = 1e-3 * max + 1e-6;
            for (int i = 0; i < g.Length; i++)
                Assert.True(Math.Abs(ours[i] - g[i]) <= tol, $"{name}: grad of {p.Name}[{i}]: {ours[i]} vs torch {g[i]} (tol {tol:g3})");
            compared++;
        }
        Assert.Equal(exp.Tensors.Count(t => t.Name.StartsWith("grad.", StringComparison.Ordinal)), compared);
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    [InlineData("gpt2_options")]
    [InlineData("llama_alibi")]
    [InlineData("mixtral")]
    public unsafe void TenAdamWStepsMatchPyTorch(string name)
    {
        var (m, exp, tokens, B, T) = Load(name);
        using var _ = m; using var __ = exp;
        var refLosses = exp.ReadF32("adamw_losses");
        var states = m.Parameters.Select(p => (p, mom: new float[p.Value.Length], vel: new float[p.Value.Length],
            wd: p.Value.Rank >= 2 && !p.Name.Contains("wte") && !p.Name.Contains("wpe") && !p.Name.Contains("embed_tokens") ? 0.1f : 0f)).ToList();
        for (int step = 1; step <= 10; step++)
        {
            m.ZeroGrad();
            float loss = m.ForwardBackward(tokens, B, T, 1f);
            Assert.True(Math.Abs(loss - refLosses[step - 1]) <= 1e-3, $"{name}: AdamW step {step}: loss {loss} vs torch {refLosses[step - 1]}");
            foreach (var (p, mom, vel, wd) in states)
                fixed (float* pm = mom, pv = vel)
                    Optim.AdamW(p.Value.Data, p.Grad.Data, pm, pv, p.Value.Length, 1e-2f, 0.9f, 0.95f, 1e-8f, wd, step);
        }
    }
}
