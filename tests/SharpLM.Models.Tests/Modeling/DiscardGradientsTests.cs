// DiscardGradients: after it the next backward writes the weight gradients instead of adding to them and
// zeroes the rest itself. Reference: the same model after ZeroGrad (gradients really zero, every GEMM
// accumulating) — the gradients must agree bit for bit even when the discarded memory held garbage, for
// every model variant (tied/untied head, padded vocabulary, QK-norm, mixture of experts, soft-cap), and a
// second micro-batch must still add to the first.
using SharpLM.Models.Config;
using SharpLM.Models.Modeling;

namespace SharpLM.Models.Tests.Modeling;

public sealed class DiscardGradientsTests
{
    public static TheoryData<string> Variants => ["gpt2", "gpt2-qknorm-untied", "llama", "llama-qknorm-untied", "llama-moe", "gpt2-padded-softcap"];

    private static ModelConfig Config(string name) => name switch
    {
        "gpt2" => TransformerModelTests.Tiny(ModelStyle.Gpt2),
        "gpt2-qknorm-untied" => TransformerModelTests.Tiny(ModelStyle.Gpt2, tie: false) with { QkNorm = true },
        "llama" => TransformerModelTests.Tiny(ModelStyle.Llama),
        "llama-qknorm-untied" => TransformerModelTests.Tiny(ModelStyle.Llama, tie: false) with { QkNorm = true },
        "llama-moe" => TransformerModelTests.Tiny(ModelStyle.Llama) with { NumExperts = 4, ExpertsPerToken = 2 },
        _ => TransformerModelTests.Tiny(ModelStyle.Gpt2) with { VocabSize = 61, PaddedVocabSize = 64, LogitSoftcap = 30 },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void DiscardedGradientsGiveTheBitsOfZeroedOnes(string variant)
    {
        var cfg = Config(variant);
        int B = 2, T = 8;
        var t1 = TransformerModelTests.Tokens(B, T, cfg.VocabSize, 5);
        var t2 = TransformerModelTests.Tokens(B, T, cfg.VocabSize, 6);
        using var zeroed = new TransformerModel(cfg, 7);
        using var discarded = new TransformerModel(cfg, 7);

        zeroed.ZeroGrad();
        var g = discarded.FlatGrads.AsSpan<float>();
        for (int i = 0; i < g.Length; i++) g[i] = i % 3 == 0 ? float.NaN : 1e6f * (i % 7 - 3); // stale garbage
        Assert.True(discarded.DiscardGradients());

        float l1 = zeroed.ForwardBackward(t1, B, T, 0.5f), l2 = discarded.ForwardBackward(t1, B, T, 0.5f);
        Assert.Equal(BitConverter.SingleToInt32Bits(l1), BitConverter.SingleToInt32Bits(l2));
        AssertSameBits(zeroed, discarded, "after the first micro-batch");

        zeroed.ForwardBackward(t2, B, T, 0.5f);
        discarded.ForwardBackward(t2, B, T, 0.5f); // accumulates again
        AssertSameBits(zeroed, discarded, "after a second micro-batch");
        Assert.Contains(zeroed.FlatGrads.AsSpan<float>().ToArray(), x => x != 0);
    }

    [Fact]
    public void AStepWithNoCountedTargetLeavesRealZeros()
    {
        var cfg = TransformerModelTests.Tiny(ModelStyle.Gpt2);
        using var m = new TransformerModel(cfg, 7);
        m.FlatGrads.AsSpan<float>().Fill(3f);
        m.DiscardGradients();
        int[] tokens = [1, ILanguageModel.IgnoreIndex, 2, ILanguageModel.IgnoreIndex]; // 2 rows of seq 1: every target ignored
        Assert.True(float.IsNaN(m.ForwardBackward(tokens, 2, 1, 1f)));
        foreach (float x in m.FlatGrads.AsSpan<float>()) Assert.Equal(0f, x);
    }

    private static void AssertSameBits(TransformerModel expected, TransformerModel actual, string when)
    {
        foreach (var p in expected.Parameters)
        {
            var e = p.Grad.AsSpan<float>();
            var a = actual[p.Name].Grad.AsSpan<float>();
            for (int i = 0; i < e.Length; i++)
                if (BitConverter.SingleToInt32Bits(e[i]) != BitConverter.SingleToInt32Bits(a[i]))
                    Assert.Fail($"{when}: {p.Name}[{i}] is {a[i]:R}, expected {e[i]:R}");
        }
    }
}
