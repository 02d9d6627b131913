// Export of a SharpLM checkpoint (config.json + model.safetensors [+ tokenizer.json]) to GGUF for llama.cpp
// and ollama, following the names and keys llama.cpp's converter (convert_hf_to_gguf.py) writes.
// Llama style → the "llama" architecture:
//   token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down},
//   output_norm, output (omitted when tied: llama.cpp then reuses token_embd);
//   llama.{context_length, embedding_length, block_count, feed_forward_length, attention.head_count,
//   attention.head_count_kv, attention.layer_norm_rms_epsilon, rope.freq_base, rope.dimension_count, vocab_size};
//   tokenizer.ggml.{model = "gpt2" (byte-level BPE), pre, tokens, token_type, merges, bos/eos_token_id}.
// RoPE pairing: Hugging Face Llama rotates the two halves of a head (channel j with j + HS/2), llama.cpp's
// "normal" RoPE rotates adjacent pairs (2j with 2j + 1). The converter therefore permutes the rows of
// q_proj and k_proj within each head so that new row 2i = old row i and new row 2i+1 = old row HS/2 + i
// (k uses the KV head count); attention scores are unchanged because q and k get the same permutation.
// GPT-2 style → the "gpt2" architecture (llama.cpp's gpt2 loader):
//   token_embd, position_embd (n_ctx rows, learned positions), blk.N.{attn_norm, attn_qkv, attn_output,
//   ffn_norm, ffn_up, ffn_down} each with .weight and .bias, output_norm.{weight, bias}, output (omitted when
//   tied); gpt2.{context_length, embedding_length, block_count, feed_forward_length, attention.head_count,
//   attention.layer_norm_epsilon, vocab_size}. c_attn stays fused (q, k, v rows in that order) as the
//   converter keeps it; HF Conv1D weights (in, out) are transposed to (out, in) as the converter does.
//   GPT-2 has no RoPE, so nothing is permuted. Options the gpt2 graph lacks (ALiBi, QK-norm, logit soft-cap)
//   are refused rather than silently dropped.
// Norm weights, biases and the position table are always F32 (convert_hf_to_gguf keeps POS_EMBD in f32);
// matrices and the token embedding are F32, F16 or Q8_0 as asked.
// Not here: tokenizers other than byte-level BPE, chat templates.
using SharpLM.Models.Config;
using SharpLM.Models.IO;
using SharpLM.Text.Tokenization;

namespace SharpLM.Models.Inference;

/// <summary>Writes a Llama-style checkpoint as GGUF.</summary>
public static class GgufExport
{
    /// <summary>Parses "f32", "f16" or "q8_0".</summary>
    public static GgmlType ParseType(string s) => s.ToLowerInvariant() switch
    {
        "f32" => GgmlType.F32,
        "f16" => GgmlType.F16,
        "q8_0" or "q8" or "int8" => GgmlType.Q8_0,
        _ => throw new ArgumentException($"unknown GGUF tensor type '{s}'; expected f32, f16 or q8_0"),
    };

    /// <summary>Exports the checkpoint in <paramref name="dir"/> to <paramref name="outPath"/>; returns the number of tensors written.</summary>
    public static int Export(string dir, string outPath, GgmlType type, string? name = null)
    {
        var cfg = ModelConfigJson.Read(Path.Combine(dir, "config.json"));
        using var file = SafetensorsFile.Open(Path.Combine(dir, "model.safetensors"));
        var src = new SafetensorsSource(file);
        string tokPath = Path.Combine(dir, "tokenizer.json");
        var tok = File.Exists(tokPath) ? TokenizerJson.Load(tokPath) : null;
        string n = name ?? Path.GetFileName(Path.GetFullPath(dir).TrimEnd(Path.DirectorySeparatorChar));
        var w = cfg.Style == ModelStyle.Gpt2 ? BuildGpt2(cfg, src, tok, type, n) : Build(cfg, src, tok, type, n);
        w.Write(outPath);
        return w.TensorCount;
    }

    /// <summary>Builds the writer of a GPT-2 style model, "gpt2" architecture (for tests and the CLI).</summary>
    public static GgufWriter BuildGpt2(ModelConfig cfg, WeightSource src, BpeTokenizer? tok, GgmlType type, string name)
    {
        if (cfg.Style != ModelStyle.Gpt2) throw new ArgumentException("gpt2 GGUF export needs a GPT-2 style config");
        if (cfg.Alibi || cfg.QkNorm || cfg.LogitSoftcap > 0 || cfg.NumKvHeads != cfg.NumHeads || cfg.NumExperts > 0)
            throw new ArgumentException("GGUF gpt2 architecture: llama.cpp's gpt2 graph has learned positions, full multi-head attention and a dense MLP only; "
                + $"this config has alibi={cfg.Alibi}, qk_norm={cfg.QkNorm}, logit_softcap={cfg.LogitSoftcap}, n_kv_heads={cfg.NumKvHeads} (heads {cfg.NumHeads}), experts={cfg.NumExperts}");
        int C = cfg.HiddenSize, V = cfg.PaddedVocabSize, I = cfg.IntermediateSize, P = cfg.MaxPositions;
        var w = new GgufWriter();
        w.Add("general.architecture", GgufValue.Str("gpt2"));
        w.Add("general.name", GgufValue.Str(name));
        w.Add("general.file_type", GgufValue.U32(type switch { GgmlType.F32 => 0u, GgmlType.F16 => 1u, _ => 7u }));
        if (type == GgmlType.Q8_0) w.Add("general.quantization_version", GgufValue.U32(2));
        w.Add("gpt2.context_length", GgufValue.U32((uint)P));
        w.Add("gpt2.embedding_length", GgufValue.U32((uint)C));
        w.Add("gpt2.block_count", GgufValue.U32((uint)cfg.NumLayers));
        w.Add("gpt2.feed_forward_length", GgufValue.U32((uint)I));
        w.Add("gpt2.attention.head_count", GgufValue.U32((uint)cfg.NumHeads));
        w.Add("gpt2.attention.layer_norm_epsilon", GgufValue.F32((float)cfg.NormEps));
        w.Add("gpt2.vocab_size", GgufValue.U32((uint)V));
        if (tok != null) AddTokenizer(w, tok, V);
        else w.Add("tokenizer.ggml.model", GgufValue.Str("no_vocab"));

        GgmlType Mat(int cols) => type == GgmlType.Q8_0 && cols % Gguf.Q8Block != 0 ? GgmlType.F16 : type;
        string p = src.Contains("transformer.wte.weight") ? "transformer." : "";
        w.AddTensor("token_embd.weight", src.F32(p + "wte.weight", (long)V * C), [V, C], Mat(C));
        w.AddTensor("position_embd.weight", src.F32(p + "wpe.weight", (long)P * C), [P, C], GgmlType.F32); // the converter keeps POS_EMBD in f32
        for (int l = 0; l < cfg.NumLayers; l++)
        {
            string h = $"{p}h.{l}.", b = $"blk.{l}.";
            w.AddTensor(b + "attn_norm.weight", src.F32(h + "ln_1.weight", C), [C], GgmlType.F32);
            w.AddTensor(b + "attn_norm.bias", src.F32(h + "ln_1.bias", C), [C], GgmlType.F32);
            w.AddTensor(b + "attn_qkv.weight", Conv1DWeight(src, h + "attn.c_attn.weight", C, 3 * C), [3 * C, C], Mat(C));
            w.AddTensor(b + "attn_qkv.bias", src.F32(h + "attn.c_attn.bias", 3 * C), [3 * C], GgmlType.F32);
            w.AddTensor(b + "attn_output.weight", Conv1DWeight(src, h + "attn.c_proj.weight", C, C), [C, C], Mat(C));
            w.AddTensor(b + "attn_output.bias", src.F32(h + "attn.c_proj.bias", C), [C], GgmlType.F32);
            w.AddTensor(b + "ffn_norm.weight", src.F32(h + "ln_2.weight", C), [C], GgmlType.F32);
            w.AddTensor(b + "ffn_norm.bias", src.F32(h + "ln_2.bias", C), [C], GgmlType.F32);
            w.AddTensor(b + "ffn_up.weight", Conv1DWeight(src, h + "mlp.c_fc.weight", C, I), [I, C], Mat(C));
            w.AddTensor(b + "ffn_up.bias", src.F32(h + "mlp.c_fc.bias", I), [I], GgmlType.F32);
            w.AddTensor(b + "ffn_down.weight", Conv1DWeight(src, h + "mlp.c_proj.weight", I, C), [C, I], Mat(I));
            w.AddTensor(b + "ffn_down.bias", src.F32(h + "mlp.c_proj.bias", C), [C], GgmlType.F32);
        }
        w.AddTensor("output_norm.weight", src.F32(p + "ln_f.weight", C), [C], GgmlType.F32);
        w.AddTensor("output_norm.bias", src.F32(p + "ln_f.bias", C), [C], GgmlType.F32);
        if (!cfg.TieWordEmbeddings && src.Contains("lm_head.weight"))
            w.AddTensor("output.weight", src.F32("lm_head.weight", (long)V * C), [V, C], Mat(C));
        return w;
    }

    /// <summary>A GPT-2 Conv1D weight as (out, in): HF stores (in, out); SharpLM's int8 checkpoints already store (out, in).</summary>
    private static float[] Conv1DWeight(WeightSource src, string name, int inF, int outF)
    {
        var a = src.F32(name, (long)inF * outF);
        if (src.TryInt8(name, out _, out _)) return a;
        var t = new float[a.Length];
        for (int i = 0; i < inF; i++)
            for (int o = 0; o < outF; o++) t[(long)o * inF + i] = a[(long)i * outF + o];
        return t;
    }

    /// <summary>Builds the writer of a Llama-style model, "llama" architecture (for tests and the CLI).</summary>
    public static GgufWriter Build(ModelConfig cfg, WeightSource src, BpeTokenizer? tok, GgmlType type, string name)
    {
        int C = cfg.HiddenSize, V = cfg.PaddedVocabSize, I = cfg.IntermediateSize, HS = cfg.HeadDim, NH = cfg.NumHeads, NKV = cfg.NumKvHeads;
        var w = new GgufWriter();
        w.Add("general.architecture", GgufValue.Str("llama"));
        w.Add("general.name", GgufValue.Str(name));
        w.Add("general.file_type", GgufValue.U32(type switch { GgmlType.F32 => 0u, GgmlType.F16 => 1u, _ => 7u }));
        if (type == GgmlType.Q8_0) w.Add("general.quantization_version", GgufValue.U32(2));
        w.Add("llama.context_length", GgufValue.U32((uint)cfg.MaxPositions));
        w.Add("llama.embedding_length", GgufValue.U32((uint)C));
        w.Add("llama.block_count", GgufValue.U32((uint)cfg.NumLayers));
        w.Add("llama.feed_forward_length", GgufValue.U32((uint)I));
        w.Add("llama.attention.head_count", GgufValue.U32((uint)NH));
        w.Add("llama.attention.head_count_kv", GgufValue.U32((uint)NKV));
        w.Add("llama.attention.layer_norm_rms_epsilon", GgufValue.F32((float)cfg.NormEps));
        w.Add("llama.rope.freq_base", GgufValue.F32((float)cfg.RopeTheta));
        w.Add("llama.rope.dimension_count", GgufValue.U32((uint)HS));
        w.Add("llama.vocab_size", GgufValue.U32((uint)V));
        if (tok != null) AddTokenizer(w, tok, V);
        else w.Add("tokenizer.ggml.model", GgufValue.Str("no_vocab")); // llama.cpp: a model without a vocabulary (token ids in and out)

        GgmlType Mat(int cols) => type == GgmlType.Q8_0 && cols % Gguf.Q8Block != 0 ? GgmlType.F16 : type;
        w.AddTensor("token_embd.weight", src.F32("model.embed_tokens.weight", (long)V * C), [V, C], Mat(C));
        for (int l = 0; l < cfg.NumLayers; l++)
        {
            string h = $"model.layers.{l}.", b = $"blk.{l}.";
            w.AddTensor(b + "attn_norm.weight", src.F32(h + "input_layernorm.weight", C), [C], GgmlType.F32);
            w.AddTensor(b + "attn_q.weight", PermuteRope(src.F32(h + "self_attn.q_proj.weight", (long)NH * HS * C), NH, HS, C), [NH * HS, C], Mat(C));
            w.AddTensor(b + "attn_k.weight", PermuteRope(src.F32(h + "self_attn.k_proj.weight", (long)NKV * HS * C), NKV, HS, C), [NKV * HS, C], Mat(C));
            w.AddTensor(b + "attn_v.weight", src.F32(h + "self_attn.v_proj.weight", (long)NKV * HS * C), [NKV * HS, C], Mat(C));
            w.AddTensor(b + "attn_output.weight", src.F32(h + "self_attn.o_proj.weight", (long)C * NH * HS), [C, NH * HS], Mat(NH * HS));
            w.AddTensor(b + "ffn_norm.weight", src.F32(h + "post_attention_layernorm.weight", C), [C], GgmlType.F32);
            w.AddTensor(b + "ffn_gate.weight", src.F32(h + "mlp.gate_proj.weight", (long)I * C), [I, C], Mat(C));
            w.AddTensor(b + "ffn_up.weight", src.F32(h + "mlp.up_proj.weight", (long)I * C), [I, C], Mat(C));
            w.AddTensor(b + "ffn_down.weight", src.F32(h + "mlp.down_proj.weight", (long)C * I), [C, I], Mat(I));
        }
        w.AddTensor("output_norm.weight", src.F32("model.norm.weight", C), [C], GgmlType.F32);
        if (!cfg.TieWordEmbeddings && src.Contains("lm_head.weight"))
            w.AddTensor("output.weight", src.F32("lm_head.weight", (long)V * C), [V, C], Mat(C));
        return w;
    }

    /// <summary>Rows of each head reordered from rotate-half to adjacent-pair RoPE: new 2i ← old i, new 2i+1 ← old HS/2 + i.</summary>
    public static float[] PermuteRope(float[] w, int heads, int HS, int cols)
    {
        var r = new float[w.Length];
        int half = HS / 2;
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < half; i++)
                for (int j = 0; j < 2; j++)
                    Array.Copy(w, (long)(h * HS + j * half + i) * cols, r, (long)(h * HS + 2 * i + j) * cols, cols);
        return r;
    }

    /// <summary>The inverse of <see cref="PermuteRope"/>.</summary>
    public static float[] UnpermuteRope(float[] w, int heads, int HS, int cols)
    {
        var r = new float[w.Length];
        int half = HS / 2;
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < half; i++)
                for (int j = 0; j < 2; j++)
                    Array.Copy(w, (long)(h * HS + 2 * i + j) * cols, r, (long)(h * HS + j * half + i) * cols, cols);
        return r;
    }

    private static void AddTokenizer(GgufWriter w, BpeTokenizer tok, int V)
    {
        var tokens = new string[V];
        var types = new int[V];
        for (int id = 0; id < V; id++)
        {
            if (tok.SpecialText(id) is { } sp) { tokens[id] = sp; types[id] = 3; }            // CONTROL
            else if (tok.TokenBytes(id) is { } b) { tokens[id] = TokenizerJson.ToByteLevel(b); types[id] = 1; } // NORMAL
            else { tokens[id] = $"[PAD{id}]"; types[id] = 5; }                                  // UNUSED (vocabulary padding)
        }
        var merges = new string[tok.Merges.Length];
        for (int i = 0; i < merges.Length; i++)
        {
            var (a, b, _) = tok.Merges[i];
            merges[i] = TokenizerJson.ToByteLevel(tok.TokenBytes(a)!) + " " + TokenizerJson.ToByteLevel(tok.TokenBytes(b)!);
        }
        w.Add("tokenizer.ggml.model", GgufValue.Str("gpt2"));
        w.Add("tokenizer.ggml.pre", GgufValue.Str(tok.Pattern == PreTokenizerPatterns.Gpt2 || tok.Pattern == PreTokenizerPatterns.Gpt2Original ? "gpt-2" : "default"));
        w.Add("tokenizer.ggml.tokens", GgufValue.Strings(tokens));
        w.Add("tokenizer.ggml.token_type", GgufValue.Int32s(types));
        w.Add("tokenizer.ggml.merges", GgufValue.Strings(merges));
        if (tok.SpecialTokens.TryGetValue("<|endoftext|>", out int eot))
        {
            w.Add("tokenizer.ggml.bos_token_id", GgufValue.U32((uint)eot));
            w.Add("tokenizer.ggml.eos_token_id", GgufValue.U32((uint)eot));
            w.Add("tokenizer.ggml.add_bos_token", new GgufValue(GgufValueType.Bool, false));
        }
    }
}
