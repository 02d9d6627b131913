// ModelConfig: parameter counts and FLOPs against hand-worked sums, presets, the depth dial, and config.json
// round trips / errors.
using SharpLM.Models.Config;

namespace SharpLM.Models.Tests.Config;

public sealed class ModelConfigTests
{
    [Fact]
    public void Gpt2SmallParameterCountMatchesPublishedValue()
    {
        // V·C + T·C + L·(12C² + 13C) + 2C with V=50257, T=1024, C=768, L=12:
        // 38,597,376 + 786,432 + 12·7,087,872 + 1,536 = 124,439,808 (the HF gpt2 checkpoint's count).
        var c = ModelConfig.Preset("gpt2-124m") with { PaddedVocabSize = 50257 };
        Assert.Equal(124_439_808L, c.ParameterCount());
        // Padded to 50304 rows: + 47·768 = 36,096.
        Assert.Equal(124_475_904L, ModelConfig.Preset("gpt2-124m").ParameterCount());
        // Untied lm_head adds another V·C.
        Assert.Equal(124_439_808L + 50257L * 768, (c with { TieWordEmbeddings = false }).ParameterCount());
    }

    [Fact]
    public void LlamaTinyParameterCountByHand()
    {
        // V=32000, C=256, L=4, NH=4, KV=2 (head dim 64 → k/v width 128), I=⌊8·256/3⌋=682 → 768.
        // embed 8,192,000; per layer: q 65,536 + k 32,768 + v 32,768 + o 65,536 + mlp 3·256·768=589,824
        // + norms 512 = 786,944; ×4 = 3,147,776; final norm 256 → 11,340,032 (tied).
        var c = ModelConfig.Preset("llama-tiny");
        Assert.Equal(768, c.IntermediateSize);
        Assert.Equal(11_340_032L, c.ParameterCount());
        Assert.Equal(11_340_032L + 8_192_000L, (c with { TieWordEmbeddings = false }).ParameterCount());
    }

    [Fact]
    public void TrainingFlopsPerTokenIsSixNPlusAttention()
    {
        // gpt2-124m padded, T=1024: 6·124,475,904 + 12·12·1024·768 = 746,855,424 + 113,246,208.
        var c = ModelConfig.Preset("gpt2-124m");
        Assert.Equal(860_101_632.0, c.TrainingFlopsPerToken(1024));
        // MFU: 1000 tok/s on a 1 TFLOP/s machine → 0.860101632.
        Assert.Equal(0.860101632, c.Mfu(1024, 1000, 1e12), 12);
    }

    [Fact]
    public void DepthDialDerivesWidthHeadsAndMlp()
    {
        var g = ModelConfig.FromDepth(12, ModelStyle.Gpt2);
        Assert.Equal((12, 768, 12, 3072, 50304), (g.NumLayers, g.HiddenSize, g.NumHeads, g.IntermediateSize, g.PaddedVocabSize));
        Assert.Equal(ModelConfig.Preset("gpt2-124m").ParameterCount(), g.ParameterCount()); // depth 12 is GPT-2 small
        var l = ModelConfig.FromDepth(20, ModelStyle.Llama, vocabSize: 65536, contextLength: 2048);
        Assert.Equal((1280, 10, 128, 3584), (l.HiddenSize, l.NumHeads, l.HeadDim, l.IntermediateSize)); // ⌊8·1280/3⌋=3413 → 3584
        var odd = ModelConfig.FromDepth(3, ModelStyle.Llama);
        Assert.Equal((192, 3, 64), (odd.HiddenSize, odd.NumHeads, odd.HeadDim)); // 192 not a multiple of 128 → head dim 64
        Assert.Throws<ArgumentException>(() => ModelConfig.FromDepth(0, ModelStyle.Gpt2));
    }

    [Fact]
    public void PresetsAreValidAndUnknownNamesListTheChoices()
    {
        foreach (var n in ModelConfig.PresetNames) ModelConfig.Preset(n).Validate();
        var e = Assert.Throws<ArgumentException>(() => ModelConfig.Preset("gpt5"));
        Assert.Contains("gpt2-124m", e.Message);
        Assert.Throws<ArgumentException>(() => (ModelConfig.Preset("llama-tiny") with { NumKvHeads = 3 }).Validate());
    }

    [Theory]
    [InlineData("gpt2-124m")]
    [InlineData("llama-small")]
    public void ConfigJsonRoundTrips(string preset)
    {
        var c = ModelConfig.Preset(preset);
        Assert.Equal(c, ModelConfigJson.Parse(ModelConfigJson.ToJson(c)));
        var f = ModelConfig.FromDepth(5, ModelStyle.Llama, vocabSize: 1000);
        Assert.Equal(f, ModelConfigJson.Parse(ModelConfigJson.ToJson(f)));
    }

    [Fact]
    public void ReadsHuggingFaceConfigs()
    {
        // The fields of the published gpt2 config.json (n_inner null → 4·n_embd).
        const string gpt2 = """
            {"activation_function":"gelu_new","architectures":["GPT2LMHeadModel"],"bos_token_id":50256,"eos_token_id":50256,
             "layer_norm_epsilon":1e-05,"model_type":"gpt2","n_ctx":1024,"n_embd":768,"n_head":12,"n_inner":null,"n_layer":12,
             "n_positions":1024,"vocab_size":50257}
            """;
        var g = ModelConfigJson.Parse(gpt2);
        Assert.Equal(124_439_808L, g.ParameterCount());
        Assert.Equal(3072, g.IntermediateSize);
        Assert.True(g.TieWordEmbeddings);
        // A Llama-style config (TinyLlama-1.1B's published field values).
        const string llama = """
            {"architectures":["LlamaForCausalLM"],"hidden_size":2048,"intermediate_size":5632,"max_position_embeddings":2048,
             "model_type":"llama","num_attention_heads":32,"num_hidden_layers":22,"num_key_value_heads":4,"rms_norm_eps":1e-05,
             "rope_theta":10000.0,"tie_word_embeddings":false,"vocab_size":32000}
            """;
        var l = ModelConfigJson.Parse(llama);
        Assert.Equal((22, 32, 4, 64), (l.NumLayers, l.NumHeads, l.NumKvHeads, l.HeadDim));
        // 2·32000·2048 + 22·(2·2048 + 2·2048² + 2·2048·256 + 3·2048·5632) + 2048 = 1,100,048,384 (TinyLlama's "1.1B").
        Assert.Equal(1_100_048_384L, l.ParameterCount());
    }

    [Fact]
    public void BadConfigsNameTheField()
    {
        var e = Assert.Throws<InvalidDataException>(() => ModelConfigJson.Parse("""{"model_type":"gpt2","n_layer":2,"n_head":2,"n_embd":64,"vocab_size":10}""", "x/config.json"));
        Assert.Contains("x/config.json", e.Message);
        Assert.Contains("'n_positions'", e.Message);
        e = Assert.Throws<InvalidDataException>(() => ModelConfigJson.Parse("""{"model_type":"gpt2","n_layer":"two","n_head":2,"n_embd":64,"n_positions":8,"vocab_size":10}"""));
        Assert.Contains("'n_layer'", e.Message);
        e = Assert.Throws<InvalidDataException>(() => ModelConfigJson.Parse("""{"model_type":"t5"}"""));
        Assert.Contains("'model_type'", e.Message);
        e = Assert.Throws<InvalidDataException>(() => ModelConfigJson.Parse("""{"model_type":"gpt2","n_layer":2,"n_head":3,"n_embd":64,"n_positions":8,"vocab_size":10}"""));
        Assert.Contains("not divisible", e.Message);
    }
}
