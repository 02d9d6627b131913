// TransformerModel checks that need no PyTorch: central finite differences of the loss against the
// analytic gradient, overfitting one batch, GPT-2 initialisation statistics and determinism, checkpoint
// round trips through model.safetensors + config.json (and Hugging Face's prefix-less GPT-2 names), and
// clear errors on bad input.
using SharpLM.Models.Config;
using SharpLM.Models.IO;
using SharpLM.Models.Modeling;
using SharpLM.Tensors.Kernels;

namespace SharpLM.Models.Tests.Modeling;

public sealed class TransformerModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharplm-model-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static ModelConfig Tiny(ModelStyle style, int kvHeads = 2, bool tie = true) => new()
    {
        Style = style,
        NumLayers = 2,
        NumHeads = 4,
        NumKvHeads = style == ModelStyle.Gpt2 ? 4 : kvHeads,
        HiddenSize = 32,
        IntermediateSize = style == ModelStyle.Gpt2 ? 128 : 48,
        MaxPositions = 32,
        VocabSize = 50,
        PaddedVocabSize = 64,
        TieWordEmbeddings = tie,
    };

    internal static int[] Tokens(int B, int T, int V, int seed)
    {
        var r = new Random(seed);
        var t = new int[B * (T + 1)];
        for (int i = 0; i < t.Length; i++) t[i] = r.Next(V);
        return t;
    }

    // Central differences (h = 1e-2 on f32 weights; the loss sums in double) against ForwardBackward's
    // gradient, on the elements with the largest gradients of several tensors. Truncation error is
    // O(h²·f‴) ≈ 1e-5 and rounding ≈ 1e-7/h, so 2% of the gradient plus 2e-4 absolute is a tight bound.
    [Theory]
    [InlineData(ModelStyle.Gpt2, 4, true)]
    [InlineData(ModelStyle.Llama, 2, false)]
    [InlineData(ModelStyle.Llama, 1, true)]
    public void GradientsMatchFiniteDifferences(ModelStyle style, int kv, bool tie)
    {
        var cfg = Tiny(style, kv, tie);
        using var m = new TransformerModel(cfg, seed: 7);
        ScaleUp(m); // larger weights than 0.02 so every path carries gradient
        int B = 2, T = 8;
        var tokens = Tokens(B, T, cfg.VocabSize, 3);
        m.ZeroGrad();
        m.ForwardBackward(tokens, B, T, 1f);
        int checkedCount = 0;
        foreach (var p in m.Parameters)
        {
            var g = p.Grad.AsSpan<float>().ToArray();
            int best = 0;
            for (int i = 1; i < g.Length; i++) if (Math.Abs(g[i]) > Math.Abs(g[best])) best = i;
            foreach (int i in new[] { best, g.Length / 3 })
            {
                var v = p.Value.AsSpan<float>();
                float old = v[i];
                const float h = 1e-2f;
                v[i] = old + h; double up = m.Loss(tokens, B, T);
                v[i] = old - h; double down = m.Loss(tokens, B, T);
                v[i] = old;
                double fd = (up - down) / (2 * h);
                Assert.True(Math.Abs(fd - g[i]) <= 0.02 * Math.Abs(g[i]) + 2e-4, $"{style}: {p.Name}[{i}]: analytic {g[i]} vs finite difference {fd}");
                checkedCount++;
            }
        }
        Assert.True(checkedCount >= 2 * 10);
    }

    private static void ScaleUp(TransformerModel m)
    {
        var r = new Random(11);
        foreach (var p in m.Parameters)
        {
            var v = p.Value.AsSpan<float>();
            bool norm = p.Value.Rank == 1 && p.Name.Contains("weight");
            for (int i = 0; i < v.Length; i++) v[i] = (norm ? 1f : 0f) + 0.15f * (float)(r.NextDouble() * 2 - 1);
        }
    }

    [Theory]
    [InlineData(ModelStyle.Gpt2)]
    [InlineData(ModelStyle.Llama)]
    public unsafe void OverfitsOneBatch(ModelStyle style)
    {
        var cfg = Tiny(style);
        using var m = new TransformerModel(cfg, seed: 5);
        int B = 2, T = 16;
        var tokens = Tokens(B, T, cfg.VocabSize, 9);
        var st = m.Parameters.Select(p => (p, new float[p.Value.Length], new float[p.Value.Length])).ToList();
        float first = 0, loss = 0;
        for (int step = 1; step <= 150; step++)
        {
            m.ZeroGrad();
            loss = m.ForwardBackward(tokens, B, T, 1f);
            if (step == 1) first = loss;
            foreach (var (p, mo, ve) in st)
                fixed (float* a = mo, b = ve) Optim.AdamW(p.Value.Data, p.Grad.Data, a, b, p.Value.Length, 1e-2f, 0.9f, 0.95f, 1e-8f, 0f, step);
        }
        Assert.InRange(first, 3.5f, 4.3f); // ≈ ln 50 at initialisation
        Assert.True(loss < 0.05f, $"{style}: loss after 150 steps {loss} (started at {first})");
    }

    [Fact]
    public void InitialisationIsGpt2StyleAndDeterministic()
    {
        var cfg = ModelConfig.Preset("llama-tiny") with { NumLayers = 8, VocabSize = 1000, PaddedVocabSize = 1024 };
        using var a = new TransformerModel(cfg, seed: 42);
        using var b = new TransformerModel(cfg, seed: 42);
        using var c = new TransformerModel(cfg, seed: 43);
        Assert.True(a.FlatValues.AsSpan<float>().SequenceEqual(b.FlatValues.AsSpan<float>()));
        Assert.False(a.FlatValues.AsSpan<float>().SequenceEqual(c.FlatValues.AsSpan<float>()));
        Assert.Equal(cfg.ParameterCount(), a.FlatValues.Length);
        (double mean, double std) Stats(string n)
        {
            var v = a[n].Value.AsSpan<float>();
            double s = 0, s2 = 0; foreach (float x in v) { s += x; s2 += (double)x * x; }
            return (s / v.Length, Math.Sqrt(s2 / v.Length - s * s / v.Length / v.Length));
        }
        var (m1, s1) = Stats("model.layers.0.self_attn.q_proj.weight");
        Assert.InRange(m1, -1e-3, 1e-3); Assert.InRange(s1, 0.0198, 0.0202);
        var (_, s2) = Stats("model.layers.3.mlp.down_proj.weight");
        Assert.InRange(s2, 0.02 / 4 * 0.98, 0.02 / 4 * 1.02); // 0.02/√(2·8)
        var (_, s3) = Stats("model.layers.5.self_attn.o_proj.weight");
        Assert.InRange(s3, 0.02 / 4 * 0.98, 0.02 / 4 * 1.02);
        Assert.True(a["model.norm.weight"].Value.AsSpan<float>().ToArray().All(x => x == 1f));
    }

    [Theory]
    [InlineData(ModelStyle.Gpt2, true)]
    [InlineData(ModelStyle.Gpt2, false)]
    [InlineData(ModelStyle.Llama, false)]
    public void CheckpointRoundTripsBitForBit(ModelStyle style, bool tie)
    {
        var cfg = Tiny(style, tie: tie);
        using var m = new TransformerModel(cfg, seed: 9);
        m.Save(_dir);
        Assert.True(File.Exists(Path.Combine(_dir, "model.safetensors")));
        using (var f = SafetensorsFile.Open(Path.Combine(_dir, "model.safetensors")))
        {
            Assert.Equal("pt", f.Metadata["format"]);
            Assert.Equal(m.Parameters.Count, f.Tensors.Count);
            Assert.Equal(!tie, f.Contains("lm_head.weight"));
        }
        using var back = TransformerModel.Load(_dir);
        Assert.Equal(cfg, back.Config);
        Assert.True(m.FlatValues.AsSpan<float>().SequenceEqual(back.FlatValues.AsSpan<float>()));
    }

    [Fact]
    public void LoadsGpt2NamesWithoutTheTransformerPrefixAndSkipsBuffers()
    {
        var cfg = Tiny(ModelStyle.Gpt2);
        using var m = new TransformerModel(cfg, seed: 4);
        var entries = m.Parameters.Select(p => SafetensorsEntry.FromTensor(p.Name.Replace("transformer.", ""), p.Value)).ToList();
        entries.Add(SafetensorsEntry.FromF32("h.0.attn.bias", new float[4], 1, 1, 2, 2));
        string path = Path.Combine(_dir, "hf.safetensors");
        SafetensorsWriter.Write(path, entries);
        using var other = new TransformerModel(cfg, seed: 5);
        other.LoadWeights(path);
        Assert.True(m.FlatValues.AsSpan<float>().SequenceEqual(other.FlatValues.AsSpan<float>()));
    }

    [Fact]
    public void BadInputsAreRefusedWithClearMessages()
    {
        var cfg = Tiny(ModelStyle.Llama);
        using var m = new TransformerModel(cfg);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => m.Loss([1, 2, 99, 3], 1, 3));
        Assert.Contains("token id 99", ex.Message);
        Assert.Contains("tokens: expected", Assert.Throws<ArgumentException>(() => m.Loss([1, 2, 3], 1, 3)).Message);
        Assert.Contains("max positions", Assert.Throws<ArgumentException>(() => m.Loss(new int[34], 1, 33)).Message);

        using var small = new TransformerModel(cfg with { HiddenSize = 64 });
        small.Save(_dir);
        var e2 = Assert.Throws<InvalidDataException>(() => m.LoadWeights(Path.Combine(_dir, "model.safetensors")));
        Assert.Contains("model.embed_tokens.weight", e2.Message);
        Assert.Contains("(64, 64)", e2.Message);
    }

    [Fact]
    public void IgnoredTargetsAreNotCountedAndGradScaleScales()
    {
        var cfg = Tiny(ModelStyle.Llama);
        using var m = new TransformerModel(cfg, seed: 2);
        ScaleUp(m);
        int B = 2, T = 4;
        var tokens = Tokens(B, T, cfg.VocabSize, 1);
        var masked = (int[])tokens.Clone();
        masked[T] = ILanguageModel.IgnoreIndex; // last target of row 0
        // mean over the 7 counted targets = (8·mean_all − loss of the dropped one) / 7: check via the one-row case
        float lossRow1 = m.Loss(tokens[(T + 1)..], 1, T);
        float lossMasked = m.Loss(masked, B, T);
        var row0 = tokens[..(T + 1)];
        var row0Short = row0[..T];
        float lossRow0First3 = m.Loss(row0Short, 1, T - 1);
        Assert.Equal((3 * lossRow0First3 + 4 * lossRow1) / 7, lossMasked, 4);

        m.ZeroGrad();
        m.ForwardBackward(tokens, B, T, 1f);
        var g1 = m.FlatGrads.AsSpan<float>().ToArray();
        m.ZeroGrad();
        m.ForwardBackward(tokens, B, T, 0.25f);
        var g2 = m.FlatGrads.AsSpan<float>();
        for (int i = 0; i < g1.Length; i += 97) Assert.Equal(g1[i] * 0.25f, g2[i], 1e-6f + 1e-4f * Math.Abs(g1[i]));
    }

    [Theory]
    [InlineData(ModelStyle.Gpt2)]
    [InlineData(ModelStyle.Llama)]
    public void ActivationCheckpointingGivesTheSameGradientsBitForBit(ModelStyle style)
    {
        var cfg = Tiny(style);
        if (style == ModelStyle.Llama) cfg = cfg with { NumExperts = 4, ExpertsPerToken = 2, QkNorm = true };
        using var m = new TransformerModel(cfg, seed: 3);
        int B = 2, T = 8;
        var tokens = Tokens(B, T, cfg.VocabSize, 4);
        m.ZeroGrad();
        float l1 = m.ForwardBackward(tokens, B, T, 1f);
        var g1 = m.FlatGrads.AsSpan<float>().ToArray();
        long full = m.ActivationBytes;
        m.CheckpointActivations = true;
        m.ZeroGrad();
        float l2 = m.ForwardBackward(tokens, B, T, 1f);
        Assert.Equal(l1, l2);
        Assert.True(g1.AsSpan().SequenceEqual(m.FlatGrads.AsSpan<float>()));
        Assert.True(m.ActivationBytes < full, $"checkpointed activations {m.ActivationBytes} B vs {full} B");
    }

    [Fact]
    public void OptionsRoundTripThroughConfigJson()
    {
        var llama = Tiny(ModelStyle.Llama) with { NumExperts = 8, ExpertsPerToken = 2, RouterAuxLossCoef = 0.02, QkNorm = true, LogitSoftcap = 30, Alibi = true };
        string json = ModelConfigJson.ToJson(llama);
        Assert.Contains("\"model_type\": \"mixtral\"", json);
        Assert.Equal(llama, ModelConfigJson.Parse(json));
        var gpt = Tiny(ModelStyle.Gpt2) with { Alibi = true, QkNorm = true };
        Assert.Equal(gpt, ModelConfigJson.Parse(ModelConfigJson.ToJson(gpt)));
        using var m = new TransformerModel(llama);
        Assert.Equal(llama.ParameterCount(), m.FlatValues.Length);
        Assert.True(llama.ActiveParameterCount() < llama.ParameterCount());
        using var g = new TransformerModel(gpt);
        Assert.Equal(gpt.ParameterCount(), g.FlatValues.Length);
        Assert.False(g.HasParameter("transformer.wpe.weight"));

        string scaled = ModelConfigJson.ToJson(Tiny(ModelStyle.Llama)).Replace("\"rope_theta\"", "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0},\n  \"rope_theta\"");
        var e = Assert.Throws<InvalidDataException>(() => ModelConfigJson.Parse(scaled, "x/config.json"));
        Assert.Contains("x/config.json: field 'rope_scaling'", e.Message);
    }

    // bf16 weight copies: the GEMMs see weights rounded to 8 significant bits (relative error ≤ 2⁻⁹), so the
    // loss moves by ~1e-3 and gradients by a few per mille of their scale; the master weights are untouched.
    [Theory]
    [InlineData(ModelStyle.Gpt2)]
    [InlineData(ModelStyle.Llama)]
    public void Bf16WeightCopiesStayCloseToF32(ModelStyle style)
    {
        var cfg = Tiny(style, tie: style == ModelStyle.Gpt2);
        using var m = new TransformerModel(cfg, seed: 8);
        ScaleUp(m);
        int B = 2, T = 8;
        var tokens = Tokens(B, T, cfg.VocabSize, 5);
        var before = m.FlatValues.AsSpan<float>().ToArray();
        m.ZeroGrad();
        float l32 = m.ForwardBackward(tokens, B, T, 1f);
        var g32 = m.FlatGrads.AsSpan<float>().ToArray();
        m.UseBf16 = true;
        m.ZeroGrad();
        float l16 = m.ForwardBackward(tokens, B, T, 1f);
        var g16 = m.FlatGrads.AsSpan<float>();
        Assert.NotEqual(l32, l16);
        Assert.True(Math.Abs(l32 - l16) < 2e-2 * l32, $"{style}: bf16 loss {l16} vs f32 {l32}");
        double num = 0, den = 0;
        for (int i = 0; i < g32.Length; i++) { num += (g16[i] - g32[i]) * (double)(g16[i] - g32[i]); den += (double)g32[i] * g32[i]; }
        Assert.True(Math.Sqrt(num / den) < 2e-2, $"{style}: relative gradient difference {Math.Sqrt(num / den):g3}");
        Assert.True(before.AsSpan().SequenceEqual(m.FlatValues.AsSpan<float>()));
    }
}
