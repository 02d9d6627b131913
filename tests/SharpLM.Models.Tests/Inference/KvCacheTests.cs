// The KV cache against recomputation: logits of a prefill followed by one-token decode steps must equal the
// logits of the whole sequence computed from an empty cache, at every step, for both model styles (GQA and
// RoPE positions continuing for Llama) and every weight format; several sequences decoded in one batch must
// equal each decoded alone; n samples sharing one prefill must equal separate prefills.
using SharpLM.Models.Inference;

namespace SharpLM.Models.Tests.Inference;

public sealed class KvCacheTests
{
    public static TheoryData<string, WeightFormat> Cases()
    {
        var d = new TheoryData<string, WeightFormat>();
        foreach (var n in new[] { "gpt2", "llama" })
            foreach (var f in new[] { WeightFormat.F32, WeightFormat.BF16, WeightFormat.Int8 }) d.Add(n, f);
        return d;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CachedDecodeEqualsFullRecomputeAtEveryStep(string name, WeightFormat f)
    {
        var g = GoldenGenerateTests.Load(name);
        using var model = InferenceModel.Load(GoldenGenerateTests.Dir(name), f);
        int V = model.Config.PaddedVocabSize, T = g.Tokens.Length, P = 3;
        var full = model.FullLogits(g.Tokens);
        using var cache = model.CreateCache(1, T);
        var step = new float[V];
        // Prefill of P tokens: logits of its last row.
        model.Forward(cache, g.Tokens.AsSpan(0, P), new int[P], [0, 1, 2], [P - 1], step);
        Assert.Equal(full.AsSpan((P - 1) * V, V).ToArray(), step);
        for (int t = P; t < T; t++)
        {
            model.Forward(cache, [g.Tokens[t]], [0], [t], [0], step);
            Assert.Equal(t + 1, cache.Length(0));
            Assert.True(full.AsSpan(t * V, V).SequenceEqual(step), $"{name} {f}: step {t} differs from recompute");
        }
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama")]
    public void BatchedSequencesEqualSequencesAlone(string name)
    {
        var g = GoldenGenerateTests.Load(name);
        using var model = InferenceModel.Load(GoldenGenerateTests.Dir(name), WeightFormat.F32);
        int V = model.Config.PaddedVocabSize;
        int[] a = g.Tokens[..9], b = [.. g.Tokens[4..8].Reverse()];
        var fa = model.FullLogits(a); var fb = model.FullLogits(b);
        using var cache = model.CreateCache(2, 16);
        // Prefill both prompts' first parts in one call, then decode both together, one token per step.
        var lg = new float[2 * V];
        model.Forward(cache, [a[0], a[1], a[2], b[0], b[1]], [0, 0, 0, 1, 1], [0, 1, 2, 0, 1], [2, 4], lg);
        Assert.True(fa.AsSpan(2 * V, V).SequenceEqual(lg.AsSpan(0, V)));
        Assert.True(fb.AsSpan(1 * V, V).SequenceEqual(lg.AsSpan(V, V)));
        for (int t = 0; t < 2; t++)
        {
            model.Forward(cache, [a[3 + t], b[2 + t]], [0, 1], [3 + t, 2 + t], [0, 1], lg);
            Assert.True(fa.AsSpan((3 + t) * V, V).SequenceEqual(lg.AsSpan(0, V)), $"sequence a, step {t}");
            Assert.True(fb.AsSpan((2 + t) * V, V).SequenceEqual(lg.AsSpan(V, V)), $"sequence b, step {t}");
        }
    }

    [Fact]
    public void SamplesSharingOnePrefillMatchSeparateRuns()
    {
        var g = GoldenGenerateTests.Load("llama");
        using var model = InferenceModel.Load(GoldenGenerateTests.Dir("llama"), WeightFormat.F32);
        var gen = new Generator(model);
        var opts = new GenerationOptions { MaxNewTokens = 6, Samples = 3, Sampling = new SamplingOptions { Temperature = 1.5f, Seed = 7 } };
        var together = gen.Generate([g.Prompt], opts, out _);
        Assert.Equal(3, together.Count);
        // Same seed → same streams; a second run reproduces every sample exactly.
        var again = gen.Generate([g.Prompt], opts, out _);
        for (int s = 0; s < 3; s++) Assert.Equal(together[s].Tokens, again[s].Tokens);
        // Different samples of one prompt differ (independent streams); at T = 1.5 over 96 ids a collision of all 6 tokens is negligible.
        Assert.False(together[0].Tokens.SequenceEqual(together[1].Tokens));
        // Each sample equals teacher-forced recomputation: its tokens are consistent with its own sampler on full logits.
        for (int s = 0; s < 3; s++)
        {
            var sampler = new Sampler(opts.Sampling, model.Config.VocabSize, s);
            sampler.ObservePrompt(g.Prompt);
            var seq = g.Prompt.ToList();
            foreach (int tok in together[s].Tokens)
            {
                var lg = model.FullLogits([.. seq]);
                int V = model.Config.PaddedVocabSize;
                int id = sampler.Sample(lg.AsSpan((seq.Count - 1) * V, V));
                Assert.Equal(tok, id);
                sampler.Observe(id);
                seq.Add(id);
            }
        }
    }
}
