// Model configuration: one record for both transformer families SharpLM trains — GPT-2 style (learned
// positions, LayerNorm with bias, GELU MLP 4·C, biases everywhere) and Llama style (RoPE, RMSNorm,
// SwiGLU MLP, grouped-query attention, no biases) — with named presets, a depth dial, and the
// parameter-count and FLOPs formulas.
//   Parameter counts are exact sums over the tensors each family has (Hugging Face GPT2LMHeadModel /
//   LlamaForCausalLM layouts). Training FLOPs per token = 6·N + 12·L·T·C (Kaplan et al. 2020 §2.1;
//   PaLM appendix B; llm.c `gpt2_estimate_mfu`, which uses all parameters N including embeddings).
//   The depth dial follows nanochat: width = 64·depth, head dim 64 (GPT-2) or 128 (Llama).
// Reading/writing Hugging Face config.json lives in ModelConfigJson.cs. Not here: the model itself.
namespace SharpLM.Models.Config;

/// <summary>Transformer family.</summary>
public enum ModelStyle
{
    /// <summary>GPT-2: learned positions, LayerNorm (weight+bias), GELU MLP of 4·C, biases, tied lm_head.</summary>
    Gpt2,
    /// <summary>Llama: RoPE, RMSNorm, SwiGLU MLP, grouped-query attention, no biases.</summary>
    Llama,
}

/// <summary>Hyper-parameters of a transformer language model (dimension names as in llm.c: L, NH, C, T, V).</summary>
public sealed record ModelConfig
{
    /// <summary>Family.</summary>
    public required ModelStyle Style { get; init; }
    /// <summary>Number of transformer blocks (L).</summary>
    public required int NumLayers { get; init; }
    /// <summary>Attention heads (NH).</summary>
    public required int NumHeads { get; init; }
    /// <summary>Key/value heads (= NumHeads for multi-head attention; fewer for grouped-query attention).</summary>
    public required int NumKvHeads { get; init; }
    /// <summary>Residual width (C).</summary>
    public required int HiddenSize { get; init; }
    /// <summary>MLP inner width (4·C for GPT-2; the SwiGLU width for Llama).</summary>
    public required int IntermediateSize { get; init; }
    /// <summary>Longest sequence (T max; GPT-2 n_positions, Llama max_position_embeddings).</summary>
    public required int MaxPositions { get; init; }
    /// <summary>Tokenizer vocabulary size (ids the tokenizer can produce).</summary>
    public required int VocabSize { get; init; }
    /// <summary>Rows of the embedding / lm_head (VocabSize rounded up for faster matmuls, e.g. 50257 → 50304).</summary>
    public required int PaddedVocabSize { get; init; }
    /// <summary>Normalisation epsilon (layer_norm_epsilon or rms_norm_eps).</summary>
    public double NormEps { get; init; } = 1e-5;
    /// <summary>RoPE base (Llama only).</summary>
    public double RopeTheta { get; init; } = 10000.0;
    /// <summary>True if lm_head shares the token embedding matrix.</summary>
    public bool TieWordEmbeddings { get; init; } = true;
    /// <summary>Final-logit soft-cap c (Gemma 2): logits = c·tanh(logits/c); 0 disables it.</summary>
    public double LogitSoftcap { get; init; }
    /// <summary>ALiBi attention biases (Press et al. 2022) instead of learned positions (GPT-2) or RoPE (Llama).</summary>
    public bool Alibi { get; init; }
    /// <summary>QK-norm: RMSNorm over each head's query and key (weights of HeadDim, as Qwen3 / OLMo-2) before RoPE.</summary>
    public bool QkNorm { get; init; }
    /// <summary>Experts in a mixture-of-experts MLP (Mixtral style); 0 = a dense MLP.</summary>
    public int NumExperts { get; init; }
    /// <summary>Experts each token is routed to (top-k) when <see cref="NumExperts"/> &gt; 0.</summary>
    public int ExpertsPerToken { get; init; } = 2;
    /// <summary>Weight of the load-balancing auxiliary loss (Switch Transformer; HF router_aux_loss_coef).</summary>
    public double RouterAuxLossCoef { get; init; } = 0.01;

    /// <summary>Per-head width (C / NH).</summary>
    public int HeadDim => HiddenSize / NumHeads;

    /// <summary>Throws <see cref="ArgumentException"/> naming the field if the configuration is inconsistent.</summary>
    public ModelConfig Validate()
    {
        Positive(NumLayers, "num_layers"); Positive(NumHeads, "num_heads"); Positive(NumKvHeads, "num_kv_heads");
        Positive(HiddenSize, "hidden_size"); Positive(IntermediateSize, "intermediate_size"); Positive(MaxPositions, "max_positions");
        Positive(VocabSize, "vocab_size");
        if (HiddenSize % NumHeads != 0) throw new ArgumentException($"model config: hidden_size {HiddenSize} is not divisible by num_heads {NumHeads}");
        if (NumHeads % NumKvHeads != 0) throw new ArgumentException($"model config: num_heads {NumHeads} is not a multiple of num_kv_heads {NumKvHeads}");
        if (Style == ModelStyle.Gpt2 && NumKvHeads != NumHeads) throw new ArgumentException($"model config: GPT-2 style needs num_kv_heads = num_heads ({NumHeads}), got {NumKvHeads}");
        if (PaddedVocabSize < VocabSize) throw new ArgumentException($"model config: padded vocab size {PaddedVocabSize} is smaller than vocab_size {VocabSize}");
        if (!(NormEps > 0)) throw new ArgumentException($"model config: norm epsilon must be > 0, got {NormEps}");
        if (!(LogitSoftcap >= 0)) throw new ArgumentException($"model config: final_logit_softcapping must be ≥ 0 (0 = off), got {LogitSoftcap}");
        if (NumExperts < 0) throw new ArgumentException($"model config: num_local_experts must be ≥ 0, got {NumExperts}");
        if (NumExperts > 0 && (ExpertsPerToken < 1 || ExpertsPerToken > NumExperts))
            throw new ArgumentException($"model config: num_experts_per_tok must be in [1, {NumExperts}], got {ExpertsPerToken}");
        if (NumExperts > 0 && Style != ModelStyle.Llama) throw new ArgumentException("model config: a mixture-of-experts MLP needs the Llama style (SwiGLU experts)");
        if (!(RouterAuxLossCoef >= 0)) throw new ArgumentException($"model config: router_aux_loss_coef must be ≥ 0, got {RouterAuxLossCoef}");
        if (Style == ModelStyle.Llama && HeadDim % 2 != 0) throw new ArgumentException($"model config: RoPE needs an even head dim, got {HeadDim}");
        return this;
    }

    /// <summary>Exact number of trainable parameters (embedding rows = <see cref="PaddedVocabSize"/>; a tied lm_head counts once).</summary>
    public long ParameterCount() => Count(active: false);

    /// <summary>Parameters a token passes through: as <see cref="ParameterCount"/>, but a mixture-of-experts MLP counts only its top-k experts.</summary>
    public long ActiveParameterCount() => Count(active: true);

    private long Count(bool active)
    {
        long C = HiddenSize, L = NumLayers, V = PaddedVocabSize, T = MaxPositions, I = IntermediateSize;
        long kv = (long)NumKvHeads * HeadDim;
        long lmHead = TieWordEmbeddings ? 0 : V * C;
        if (Style == ModelStyle.Gpt2)
        {
            long block = 2 * C               // ln_1 weight, bias
                       + C * 3 * C + 3 * C   // attn.c_attn (q,k,v fused) weight, bias
                       + C * C + C           // attn.c_proj
                       + 2 * C               // ln_2
                       + C * I + I           // mlp.c_fc
                       + I * C + C;          // mlp.c_proj
            if (QkNorm) block += 2 * HeadDim;
            return V * C + (Alibi ? 0 : T * C) + L * block + 2 * C + lmHead; // wte, wpe, blocks, ln_f
        }
        else
        {
            long block = C                   // input_layernorm (RMSNorm weight)
                       + C * C + 2 * C * kv  // q_proj, k_proj, v_proj
                       + C * C               // o_proj
                       + C                   // post_attention_layernorm
                       + 3 * C * I;          // gate_proj, up_proj, down_proj
            if (QkNorm) block += 2 * HeadDim;  // q_norm, k_norm
            if (NumExperts > 0)                // router + E (or top-k) SwiGLU experts instead of one MLP
                block += (long)NumExperts * C + ((active ? ExpertsPerToken : NumExperts) - 1) * 3 * C * I;
            return V * C + L * block + C + lmHead; // embed_tokens, layers, norm
        }
    }

    /// <summary>Training FLOPs per token at context <paramref name="seqLen"/>: 6·N + 12·L·T·C (forward + backward; llm.c convention; N = active parameters for MoE).</summary>
    public double TrainingFlopsPerToken(int seqLen) =>
        6.0 * ActiveParameterCount() + 12.0 * NumLayers * (double)seqLen * HiddenSize;

    /// <summary>Model FLOPs utilisation: achieved training FLOP/s over the machine's peak.</summary>
    public double Mfu(int seqLen, double tokensPerSecond, double peakFlops) =>
        TrainingFlopsPerToken(seqLen) * tokensPerSecond / peakFlops;

    /// <summary>Rounds <paramref name="vocab"/> up to a multiple of <paramref name="multiple"/> (64 in nanoGPT/llm.c).</summary>
    public static int PadVocab(int vocab, int multiple) =>
        multiple <= 1 ? vocab : checked((vocab + multiple - 1) / multiple * multiple);

    /// <summary>The SwiGLU inner width Llama uses: ⌊8·C/3⌋ rounded up to a multiple of <paramref name="multipleOf"/>.</summary>
    public static int SwiGluWidth(int hidden, int multipleOf = 256)
    {
        int h = 8 * hidden / 3;
        return (h + multipleOf - 1) / multipleOf * multipleOf;
    }

    /// <summary>
    /// The depth dial (nanochat): width = 64·depth; GPT-2 style uses head dim 64 and a 4·C MLP; Llama style
    /// uses head dim 128 when the width allows it (else 64), full multi-head attention and the SwiGLU width rule.
    /// </summary>
    public static ModelConfig FromDepth(int depth, ModelStyle style, int vocabSize = 50257, int contextLength = 1024, int vocabPadMultiple = 64)
    {
        if (depth < 1) throw new ArgumentException($"depth must be ≥ 1, got {depth}");
        int C = 64 * depth;
        int headDim = style == ModelStyle.Llama && C % 128 == 0 ? 128 : 64;
        int nh = C / headDim;
        return new ModelConfig
        {
            Style = style,
            NumLayers = depth,
            NumHeads = nh,
            NumKvHeads = nh,
            HiddenSize = C,
            IntermediateSize = style == ModelStyle.Gpt2 ? 4 * C : SwiGluWidth(C),
            MaxPositions = contextLength,
            VocabSize = vocabSize,
            PaddedVocabSize = PadVocab(vocabSize, vocabPadMultiple),
            NormEps = 1e-5,
            RopeTheta = 10000.0,
            TieWordEmbeddings = style == ModelStyle.Gpt2,
        }.Validate();
    }

    /// <summary>Names accepted by <see cref="Preset"/>.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["gpt2-124m", "gpt2-350m", "llama-tiny", "llama-small", "llama-125m"];

    /// <summary>A named configuration; throws naming the accepted names if unknown.</summary>
    public static ModelConfig Preset(string name) => name switch
    {
        // GPT-2 small (Radford et al. 2019), vocab padded to 50304 as in nanoGPT / llm.c.
        "gpt2-124m" => Gpt2(layers: 12, heads: 12, width: 768),
        // GPT-2 medium.
        "gpt2-350m" => Gpt2(layers: 24, heads: 16, width: 1024),
        // Small Llama-style models for tests and single-machine runs (GQA with 2 query heads per KV head).
        "llama-tiny" => Llama(layers: 4, heads: 4, kvHeads: 2, width: 256, context: 1024),
        "llama-small" => Llama(layers: 8, heads: 8, kvHeads: 4, width: 512, context: 2048),
        "llama-125m" => Llama(layers: 12, heads: 12, kvHeads: 4, width: 768, context: 2048),
        _ => throw new ArgumentException($"unknown model preset '{name}'; expected one of: {string.Join(", ", PresetNames)}"),
    };

    private static ModelConfig Gpt2(int layers, int heads, int width) => new ModelConfig
    {
        Style = ModelStyle.Gpt2,
        NumLayers = layers,
        NumHeads = heads,
        NumKvHeads = heads,
        HiddenSize = width,
        IntermediateSize = 4 * width,
        MaxPositions = 1024,
        VocabSize = 50257,
        PaddedVocabSize = 50304,
        NormEps = 1e-5,
        TieWordEmbeddings = true,
    }.Validate();

    private static ModelConfig Llama(int layers, int heads, int kvHeads, int width, int context) => new ModelConfig
    {
        Style = ModelStyle.Llama,
        NumLayers = layers,
        NumHeads = heads,
        NumKvHeads = kvHeads,
        HiddenSize = width,
        IntermediateSize = SwiGluWidth(width),
        MaxPositions = context,
        VocabSize = 32000,
        PaddedVocabSize = 32000,
        NormEps = 1e-5,
        RopeTheta = 10000.0,
        TieWordEmbeddings = true,
    }.Validate();

    private static void Positive(int v, string field)
    {
        if (v <= 0) throw new ArgumentException($"model config: {field} must be > 0, got {v}");
    }
}
