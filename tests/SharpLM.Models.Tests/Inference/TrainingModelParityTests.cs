// The inference engine against the training model (a second, independent implementation: GEMM tiles,
// FlashAttention-style causal attention, its own option code): a TransformerModel with seeded, deliberately
// large random weights is saved as a checkpoint, loaded by name into InferenceModel, and its
// full-sequence logits are compared with InferenceModel's, for both styles and every ModelConfig option
// (ALiBi, QK-norm, final-logit soft-cap, mixture of experts). For the same configurations the KV-cache decode
// must reproduce InferenceModel's own full recompute exactly at every step.
using SharpLM.Models.Config;
using SharpLM.Models.Inference;
using SharpLM.Models.Modeling;

namespace SharpLM.Models.Tests.Inference;

public sealed class TrainingModelParityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharplm-parity-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ModelConfig Config(string name)
    {
        var gpt2 = new ModelConfig { Style = ModelStyle.Gpt2, NumLayers = 2, NumHeads = 4, NumKvHeads = 4, HiddenSize = 64, IntermediateSize = 256, MaxPositions = 32, VocabSize = 90, PaddedVocabSize = 96, TieWordEmbeddings = true };
        var llama = new ModelConfig { Style = ModelStyle.Llama, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, HiddenSize = 64, IntermediateSize = 96, MaxPositions = 32, VocabSize = 96, PaddedVocabSize = 96, TieWordEmbeddings = false, NormEps = 1e-5 };
        return (name switch
        {
            "gpt2" => gpt2,
            "gpt2-alibi-qknorm-softcap" => gpt2 with { Alibi = true, QkNorm = true, LogitSoftcap = 5 },
            "llama" => llama,
            "llama-qknorm-softcap" => llama with { QkNorm = true, LogitSoftcap = 5 },
            "llama-alibi" => llama with { Alibi = true },
            "llama-moe" => llama with { NumExperts = 4, ExpertsPerToken = 2 },
            _ => throw new ArgumentException(name),
        }).Validate();
    }

    private static readonly string[] AllNames = ["gpt2", "gpt2-alibi-qknorm-softcap", "llama", "llama-qknorm-softcap", "llama-alibi", "llama-moe"];

    public static TheoryData<string> Names() => new(AllNames);

    private string SaveRandomized(string name)
    {
        var cfg = Config(name);
        using var m = new TransformerModel(cfg, 7);
        var r = new Random(11);
        foreach (var p in m.Parameters)
        {
            var v = p.Value.AsSpan<float>();
            bool norm = p.Name.Contains("norm", StringComparison.Ordinal) || p.Name.Contains("ln_", StringComparison.Ordinal);
            for (int i = 0; i < v.Length; i++)
            {
                double g = Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
                v[i] = norm && p.Name.EndsWith(".weight", StringComparison.Ordinal) ? (float)(1 + 0.1 * g) : (float)(0.25 * g);
            }
        }
        string dir = Path.Combine(_dir, name);
        m.Save(dir);
        return dir;
    }

    private static int[] Tokens(int T, int V) { var r = new Random(T); return Enumerable.Range(0, T).Select(_ => r.Next(V)).ToArray(); }

    [Theory]
    [MemberData(nameof(Names))]
    public void LogitsMatchTheTrainingModel(string name)
    {
        string dir = SaveRandomized(name);
        var cfg = Config(name);
        int T = 12, V = cfg.VocabSize, Vp = cfg.PaddedVocabSize;
        var tokens = Tokens(T, V);
        var train = new float[T * V];
        using (var m = TransformerModel.Load(dir)) m.Logits(tokens, 1, T, train);
        using var inf = InferenceModel.Load(dir, WeightFormat.F32);
        var ours = inf.FullLogits(tokens);
        double maxErr = 0, maxAbs = 0;
        for (int t = 0; t < T; t++)
            for (int i = 0; i < V; i++)
            {
                maxErr = Math.Max(maxErr, Math.Abs(ours[t * Vp + i] - train[t * V + i]));
                maxAbs = Math.Max(maxAbs, Math.Abs(train[t * V + i]));
            }
        Assert.True(maxAbs > 1, $"{name}: logits too small to be a test ({maxAbs})");
        Assert.True(maxErr < 2e-5 * Math.Max(1, maxAbs) * 10, $"{name}: max |Δlogit| = {maxErr} (max |logit| {maxAbs})");
    }

    public static TheoryData<string, WeightFormat> NamesAndFormats()
    {
        var d = new TheoryData<string, WeightFormat>();
        foreach (var n in AllNames) d.Add(n, WeightFormat.F32);
        d.Add("llama-moe", WeightFormat.BF16); // experts grouped over the prompt's tokens, one token per decode step
        d.Add("llama-moe", WeightFormat.Int8);
        return d;
    }

    [Theory]
    [MemberData(nameof(NamesAndFormats))]
    public void CachedDecodeEqualsRecomputeForEveryOption(string name, WeightFormat format)
    {
        string dir = SaveRandomized(name);
        var cfg = Config(name);
        int T = 10, Vp = cfg.PaddedVocabSize;
        var tokens = Tokens(T, cfg.VocabSize);
        using var inf = InferenceModel.Load(dir, format);
        var full = inf.FullLogits(tokens);
        using var cache = inf.CreateCache(1, T);
        var step = new float[Vp];
        inf.Forward(cache, tokens.AsSpan(0, 4), new int[4], [0, 1, 2, 3], [3], step);
        Assert.True(full.AsSpan(3 * Vp, Vp).SequenceEqual(step));
        for (int t = 4; t < T; t++)
        {
            inf.Forward(cache, [tokens[t]], [0], [t], [0], step);
            Assert.True(full.AsSpan(t * Vp, Vp).SequenceEqual(step), $"{name}: step {t}");
        }
    }
}
