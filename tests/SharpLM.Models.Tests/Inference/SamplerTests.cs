// Sampling against hand-worked values (penalties, top-p / min-p cut-offs) and against the softmax
// distribution itself (frequencies of many seeded draws within 5 standard errors), plus reproducibility.
using SharpLM.Models.Inference;

namespace SharpLM.Models.Tests.Inference;

public sealed class SamplerTests
{
    private static int[] Histogram(SamplingOptions o, float[] logits, int draws)
    {
        var s = new Sampler(o, logits.Length);
        var h = new int[logits.Length];
        for (int i = 0; i < draws; i++) h[s.Sample(logits)]++;
        return h;
    }

    [Fact]
    public void GreedyIsArgmaxWithLowestIdOnTies()
    {
        var s = new Sampler(new SamplingOptions { Temperature = 0 }, 5);
        Assert.Equal(1, s.Sample([0f, 3f, 1f, 3f, -2f]));
        // Padding beyond the vocabulary is never chosen.
        Assert.Equal(2, new Sampler(new SamplingOptions { Temperature = 0 }, 3).Sample([0f, 1f, 2f, 9f]));
    }

    [Fact]
    public void FrequenciesFollowTheSoftmax()
    {
        float[] z = [2f, 1f, 0f, -1f];
        const int N = 20000;
        foreach (float T in new[] { 1f, 0.5f })
        {
            var h = Histogram(new SamplingOptions { Temperature = T, Seed = 11 }, z, N);
            double sum = z.Sum(v => Math.Exp(v / T));
            for (int i = 0; i < z.Length; i++)
            {
                double p = Math.Exp(z[i] / T) / sum, se = Math.Sqrt(p * (1 - p) / N);
                Assert.True(Math.Abs((double)h[i] / N - p) < 5 * se + 1e-9, $"T={T} id {i}: {(double)h[i] / N} vs {p}");
            }
        }
    }

    [Fact]
    public void TopPKeepsTheSmallestSetReachingP()
    {
        // p = [0.5, 0.3, 0.15, 0.05]: cumulative 0.5, 0.8 ≥ 0.7 → keep {0, 1}, renormalised to 0.625 / 0.375.
        float[] z = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f)];
        const int N = 20000;
        var h = Histogram(new SamplingOptions { TopP = 0.7f, Seed = 3 }, z, N);
        Assert.Equal(0, h[2] + h[3]);
        Assert.True(Math.Abs(h[0] / (double)N - 0.625) < 5 * Math.Sqrt(0.625 * 0.375 / N));
    }

    [Fact]
    public void MinPAndTopKCut()
    {
        float[] z = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f)];
        // min-p 0.35: floor 0.175 → {0, 1}.
        var h = Histogram(new SamplingOptions { MinP = 0.35f, Seed = 4 }, z, 5000);
        Assert.Equal(0, h[2] + h[3]);
        Assert.True(h[1] > 0);
        // top-k 3 → never id 3; top-k 1 is greedy.
        h = Histogram(new SamplingOptions { TopK = 3, Seed = 5 }, z, 5000);
        Assert.Equal(0, h[3]);
        Assert.True(h[2] > 0);
        h = Histogram(new SamplingOptions { TopK = 1, Temperature = 5, Seed = 6 }, z, 500);
        Assert.Equal(500, h[0]);
    }

    [Fact]
    public void PenaltiesChangeLogitsAsSpecified()
    {
        // Repetition θ = 2 on seen {0, 1}: [1.2, −1, 1.0] → [0.6, −2, 1.0] → greedy picks 2 (0 without the penalty).
        var s = new Sampler(new SamplingOptions { Temperature = 0, RepetitionPenalty = 2f }, 3);
        s.ObservePrompt([0, 1]);
        Assert.Equal(2, s.Sample([1.2f, -1f, 1.0f]));
        Assert.Equal(0, new Sampler(new SamplingOptions { Temperature = 0 }, 3).Sample([1.2f, -1f, 1.0f]));
        // Frequency 0.1 after token 0 twice: 1.0 − 0.2 = 0.8 < 0.9 → 1. Presence 0.05 alone: 0.95 > 0.9 → 0.
        var f = new Sampler(new SamplingOptions { Temperature = 0, FrequencyPenalty = 0.1f }, 2);
        f.Observe(0); f.Observe(0);
        Assert.Equal(1, f.Sample([1.0f, 0.9f]));
        var p = new Sampler(new SamplingOptions { Temperature = 0, PresencePenalty = 0.05f }, 2);
        p.Observe(0); p.Observe(0);
        Assert.Equal(0, p.Sample([1.0f, 0.9f]));
        // Prompt tokens do not count for frequency/presence.
        var q = new Sampler(new SamplingOptions { Temperature = 0, FrequencyPenalty = 1f }, 2);
        q.ObservePrompt([0]);
        Assert.Equal(0, q.Sample([1.0f, 0.9f]));
    }

    [Fact]
    public void SeededStreamsReproduceAndDiffer()
    {
        float[] z = Enumerable.Range(0, 50).Select(i => (float)Math.Sin(i)).ToArray();
        int[] Draw(ulong seed, int stream) { var s = new Sampler(new SamplingOptions { Seed = seed, TopP = 0.9f }, 50, stream); return Enumerable.Range(0, 40).Select(_ => s.Sample(z)).ToArray(); }
        Assert.Equal(Draw(9, 0), Draw(9, 0));
        Assert.NotEqual(Draw(9, 0), Draw(9, 1));
        Assert.NotEqual(Draw(9, 0), Draw(10, 0));
    }

    [Fact]
    public void BadOptionsNameTheField()
    {
        Assert.Contains("top-p", Assert.Throws<ArgumentException>(() => new SamplingOptions { TopP = 0 }.Validate()).Message);
        Assert.Contains("temperature", Assert.Throws<ArgumentException>(() => new SamplingOptions { Temperature = -1 }.Validate()).Message);
        Assert.Contains("min-p", Assert.Throws<ArgumentException>(() => new SamplingOptions { MinP = 1 }.Validate()).Message);
    }
}
