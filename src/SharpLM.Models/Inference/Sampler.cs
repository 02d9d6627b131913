// Next-token sampling from logits, in the order Hugging Face's generate applies its processors and warpers:
// repetition penalty (CTRL, Keskar et al. 2019: a seen token's logit is divided by θ if positive, multiplied
// if negative), frequency and presence penalties (OpenAI: logit −= α_f·count + α_p·[count > 0]), then
// greedy argmax when temperature is 0, else temperature, top-k, top-p (nucleus, Holtzman et al. 2020: the
// smallest set of most likely tokens whose probability reaches p) and min-p (Nguyen et al. 2024: tokens
// below min_p·p_max dropped), renormalise, draw. Randomness comes from one SplitMix64 stream per sequence
// seeded from (seed, sequence index), so a run is reproducible and independent of batch composition.
// Not here: beam search, typical sampling, grammar constraints.
namespace SharpLM.Models.Inference;

/// <summary>Sampling settings.</summary>
public sealed record SamplingOptions
{
    /// <summary>0 = greedy (argmax); otherwise logits are divided by it.</summary>
    public float Temperature { get; init; } = 1f;
    /// <summary>Keep only the k most likely tokens (0 = off).</summary>
    public int TopK { get; init; }
    /// <summary>Nucleus mass (1 = off).</summary>
    public float TopP { get; init; } = 1f;
    /// <summary>Drop tokens below min_p × the top probability (0 = off).</summary>
    public float MinP { get; init; }
    /// <summary>CTRL repetition penalty over prompt and generated tokens (1 = off).</summary>
    public float RepetitionPenalty { get; init; } = 1f;
    /// <summary>Subtracted per previous occurrence of a generated token (0 = off).</summary>
    public float FrequencyPenalty { get; init; }
    /// <summary>Subtracted once if a token was generated before (0 = off).</summary>
    public float PresencePenalty { get; init; }
    /// <summary>Seed of the random streams.</summary>
    public ulong Seed { get; init; } = 1234;

    /// <summary>Throws naming the field if a value is out of range.</summary>
    public SamplingOptions Validate()
    {
        if (!(Temperature >= 0) || float.IsInfinity(Temperature)) throw new ArgumentException($"temperature must be ≥ 0, got {Temperature}");
        if (TopK < 0) throw new ArgumentException($"top-k must be ≥ 0, got {TopK}");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"top-p must be in (0, 1], got {TopP}");
        if (!(MinP >= 0 && MinP < 1)) throw new ArgumentException($"min-p must be in [0, 1), got {MinP}");
        if (!(RepetitionPenalty > 0)) throw new ArgumentException($"repetition penalty must be > 0, got {RepetitionPenalty}");
        return this;
    }
}

/// <summary>Samples tokens for one sequence; holds its random stream and token counts.</summary>
public sealed class Sampler
{
    private readonly SamplingOptions _o;
    private readonly int _vocab;
    private ulong _state;
    private readonly Dictionary<int, int> _generated = [];
    private readonly HashSet<int> _seen = [];
    private float[] _work = [];
    private int[] _idx = [];

    /// <summary>A sampler over the first <paramref name="vocab"/> logits for sequence number <paramref name="stream"/>.</summary>
    public Sampler(SamplingOptions options, int vocab, int stream = 0)
    {
        _o = options.Validate();
        _vocab = vocab;
        _state = options.Seed * 0x9E3779B97F4A7C15UL ^ (ulong)(stream + 1) * 0xD1B54A32D192ED03UL;
    }

    /// <summary>Records prompt tokens (they count for the repetition penalty only).</summary>
    public void ObservePrompt(ReadOnlySpan<int> ids)
    {
        foreach (int t in ids) _seen.Add(t);
    }

    /// <summary>Records a generated token (repetition, frequency and presence penalties).</summary>
    public void Observe(int id)
    {
        _seen.Add(id);
        _generated[id] = _generated.GetValueOrDefault(id) + 1;
    }

    /// <summary>Picks the next token from <paramref name="logits"/> (at least the vocabulary size; padding beyond it is ignored).</summary>
    public int Sample(ReadOnlySpan<float> logits)
    {
        int V = _vocab;
        if (_work.Length < V) { _work = new float[V]; _idx = new int[V]; }
        var z = _work.AsSpan(0, V);
        logits[..V].CopyTo(z);
        if (_o.RepetitionPenalty != 1f)
            foreach (int t in _seen)
                if ((uint)t < (uint)V) z[t] = z[t] > 0 ? z[t] / _o.RepetitionPenalty : z[t] * _o.RepetitionPenalty;
        if (_o.FrequencyPenalty != 0 || _o.PresencePenalty != 0)
            foreach (var (t, n) in _generated)
                if ((uint)t < (uint)V) z[t] -= _o.FrequencyPenalty * n + _o.PresencePenalty;
        if (_o.Temperature == 0f) return ArgMax(z);
        if (_o.TopK == 0 && _o.TopP >= 1f && _o.MinP == 0f) return SampleAll(z);

        // Candidates sorted by logit, descending (ties: lower id first), cut to top-k.
        int n0 = V;
        var idx = _idx.AsSpan(0, V);
        for (int i = 0; i < V; i++) idx[i] = i;
        float[] work = _work;
        if (_o.TopK > 0 && _o.TopK < V)
        {
            float kth = KthLargest(z, _o.TopK);
            int c = 0;
            for (int i = 0; i < V; i++) if (z[i] >= kth) idx[c++] = i;
            n0 = c;
        }
        var cand = idx[..n0].ToArray();
        Array.Sort(cand, (a, b) => work[b] != work[a] ? work[b].CompareTo(work[a]) : a.CompareTo(b));
        if (_o.TopK > 0 && cand.Length > _o.TopK) cand = cand[.._o.TopK];

        // Softmax over the candidates at temperature T (in double: the sum of many small terms).
        var p = new double[cand.Length];
        double m = z[cand[0]] / _o.Temperature, sum = 0;
        for (int i = 0; i < cand.Length; i++) { p[i] = Math.Exp(z[cand[i]] / _o.Temperature - m); sum += p[i]; }
        for (int i = 0; i < p.Length; i++) p[i] /= sum;
        int keep = p.Length;
        if (_o.TopP < 1f)
        {
            double cum = 0;
            for (int i = 0; i < p.Length; i++) { cum += p[i]; if (cum >= _o.TopP) { keep = i + 1; break; } }
        }
        if (_o.MinP > 0f)
        {
            double floor = _o.MinP * p[0];
            int k = 1;
            while (k < keep && p[k] >= floor) k++;
            keep = k;
        }
        double total = 0;
        for (int i = 0; i < keep; i++) total += p[i];
        double u = NextDouble() * total, acc = 0;
        for (int i = 0; i < keep; i++)
        {
            acc += p[i];
            if (u < acc) return cand[i];
        }
        return cand[keep - 1];
    }

    /// <summary>Plain sampling at temperature T over the whole vocabulary, in id order (no sort needed).</summary>
    private int SampleAll(ReadOnlySpan<float> z)
    {
        float mx = z[ArgMax(z)];
        double sum = 0;
        for (int i = 0; i < z.Length; i++) sum += Math.Exp((z[i] - mx) / _o.Temperature);
        double u = NextDouble() * sum, acc = 0;
        for (int i = 0; i < z.Length; i++)
        {
            acc += Math.Exp((z[i] - mx) / _o.Temperature);
            if (u < acc) return i;
        }
        return ArgMax(z);
    }

    /// <summary>Index of the largest value (the lowest index on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> z)
    {
        int best = 0;
        for (int i = 1; i < z.Length; i++) if (z[i] > z[best]) best = i;
        return best;
    }

    private static float KthLargest(ReadOnlySpan<float> z, int k)
    {
        var a = z.ToArray();
        Array.Sort(a);
        return a[a.Length - k];
    }

    /// <summary>A uniform double in [0, 1) from the sequence's SplitMix64 stream.</summary>
    public double NextDouble()
    {
        ulong s = _state += 0x9E3779B97F4A7C15UL;
        s = (s ^ (s >> 30)) * 0xBF58476D1CE4E5B9UL;
        s = (s ^ (s >> 27)) * 0x94D049BB133111EBUL;
        s ^= s >> 31;
        return (s >> 11) * (1.0 / (1UL << 53));
    }
}
