// Hugging Face `config.json` read/write for ModelConfig, using the transformers field names so a checkpoint
// directory loads in transformers (GPT2LMHeadModel / LlamaForCausalLM) and HF checkpoints load here.
//   GPT-2: model_type "gpt2", n_layer, n_head, n_embd, n_positions, n_inner (null → 4·n_embd),
//          vocab_size, layer_norm_epsilon, tie_word_embeddings (default true).
//   Llama: model_type "llama", num_hidden_layers, num_attention_heads, num_key_value_heads (default =
//          heads), hidden_size, intermediate_size, max_position_embeddings, vocab_size, rms_norm_eps
//          (default 1e-6, as LlamaConfig), rope_theta (default 10000), tie_word_embeddings (default false).
// vocab_size is the embedding's row count (our PaddedVocabSize), because that is what the weight shapes
// say; the tokenizer's own size goes in the extra key "sharplm_vocab_size" (transformers ignores it).
// Options: final_logit_softcapping (Gemma 2's name); a Llama-style model with experts is written as
// model_type "mixtral" (num_local_experts, num_experts_per_tok, router_aux_loss_coef; Mixtral's defaults
// 8 / 2 / 0.001 when reading); ALiBi and QK-norm have no transformers field for these families and are
// written as "sharplm_alibi" / "sharplm_qk_norm" (transformers ignores unknown keys).
// Not here: rope_scaling (refused with a message rather than silently ignored), sliding windows.
using System.Text;
using System.Text.Json;
using SharpLM.Models.IO;

namespace SharpLM.Models.Config;

/// <summary>Reads and writes <see cref="ModelConfig"/> as a Hugging Face config.json.</summary>
public static class ModelConfigJson
{
    /// <summary>The JSON text of <paramref name="c"/> (indented, as transformers writes it).</summary>
    public static string ToJson(ModelConfig c)
    {
        c.Validate();
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            if (c.Style == ModelStyle.Gpt2)
            {
                w.WriteStartArray("architectures"); w.WriteStringValue("GPT2LMHeadModel"); w.WriteEndArray();
                w.WriteString("model_type", "gpt2");
                w.WriteNumber("n_layer", c.NumLayers);
                w.WriteNumber("n_head", c.NumHeads);
                w.WriteNumber("n_embd", c.HiddenSize);
                w.WriteNumber("n_inner", c.IntermediateSize);
                w.WriteNumber("n_positions", c.MaxPositions);
                w.WriteNumber("n_ctx", c.MaxPositions);
                w.WriteNumber("vocab_size", c.PaddedVocabSize);
                w.WriteNumber("layer_norm_epsilon", c.NormEps);
                w.WriteString("activation_function", "gelu_new");
            }
            else
            {
                bool moe = c.NumExperts > 0;
                w.WriteStartArray("architectures"); w.WriteStringValue(moe ? "MixtralForCausalLM" : "LlamaForCausalLM"); w.WriteEndArray();
                w.WriteString("model_type", moe ? "mixtral" : "llama");
                if (moe)
                {
                    w.WriteNumber("num_local_experts", c.NumExperts);
                    w.WriteNumber("num_experts_per_tok", c.ExpertsPerToken);
                    w.WriteNumber("router_aux_loss_coef", c.RouterAuxLossCoef);
                }
                w.WriteNumber("num_hidden_layers", c.NumLayers);
                w.WriteNumber("num_attention_heads", c.NumHeads);
                w.WriteNumber("num_key_value_heads", c.NumKvHeads);
                w.WriteNumber("hidden_size", c.HiddenSize);
                w.WriteNumber("head_dim", c.HeadDim);
                w.WriteNumber("intermediate_size", c.IntermediateSize);
                w.WriteNumber("max_position_embeddings", c.MaxPositions);
                w.WriteNumber("vocab_size", c.PaddedVocabSize);
                w.WriteNumber("rms_norm_eps", c.NormEps);
                w.WriteNumber("rope_theta", c.RopeTheta);
                w.WriteString("hidden_act", "silu");
            }
            w.WriteBoolean("tie_word_embeddings", c.TieWordEmbeddings);
            if (c.LogitSoftcap > 0) w.WriteNumber("final_logit_softcapping", c.LogitSoftcap);
            if (c.Alibi) w.WriteBoolean("sharplm_alibi", true);
            if (c.QkNorm) w.WriteBoolean("sharplm_qk_norm", true);
            if (c.VocabSize != c.PaddedVocabSize) w.WriteNumber("sharplm_vocab_size", c.VocabSize);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray()) + "\n";
    }

    /// <summary>Writes <paramref name="c"/> to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, ModelConfig c) => AtomicFile.WriteAllText(path, ToJson(c));

    /// <summary>Reads a config.json; errors name the file and the field.</summary>
    public static ModelConfig Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: model config not found", path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses config.json text; <paramref name="source"/> names it in errors.</summary>
    public static ModelConfig Parse(string json, string source = "config.json")
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not valid JSON ({e.Message})", e); }
        using (doc)
        {
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{source}: expected a JSON object");
            string? type = r.TryGetProperty("model_type", out var mt) && mt.ValueKind == JsonValueKind.String ? mt.GetString() : null;
            ModelStyle style = type switch
            {
                "gpt2" => ModelStyle.Gpt2,
                "llama" or "mixtral" => ModelStyle.Llama,
                null when r.TryGetProperty("n_layer", out _) => ModelStyle.Gpt2,
                null when r.TryGetProperty("num_hidden_layers", out _) => ModelStyle.Llama,
                null => throw new InvalidDataException($"{source}: field 'model_type' missing and neither 'n_layer' nor 'num_hidden_layers' present"),
                _ => throw new InvalidDataException($"{source}: field 'model_type' is '{type}'; expected 'gpt2' or 'llama'"),
            };
            ModelConfig c;
            if (style == ModelStyle.Gpt2)
            {
                int C = Int(r, "n_embd", source), nh = Int(r, "n_head", source);
                int padded = Int(r, "vocab_size", source);
                c = new ModelConfig
                {
                    Style = style,
                    NumLayers = Int(r, "n_layer", source),
                    NumHeads = nh,
                    NumKvHeads = nh,
                    HiddenSize = C,
                    IntermediateSize = OptInt(r, "n_inner", source) ?? 4 * C,
                    MaxPositions = Int(r, "n_positions", source),
                    PaddedVocabSize = padded,
                    VocabSize = OptInt(r, "sharplm_vocab_size", source) ?? padded,
                    NormEps = OptDouble(r, "layer_norm_epsilon", source) ?? 1e-5,
                    TieWordEmbeddings = OptBool(r, "tie_word_embeddings", source) ?? true,
                };
            }
            else
            {
                int nh = Int(r, "num_attention_heads", source);
                int padded = Int(r, "vocab_size", source);
                c = new ModelConfig
                {
                    Style = style,
                    NumLayers = Int(r, "num_hidden_layers", source),
                    NumHeads = nh,
                    NumKvHeads = OptInt(r, "num_key_value_heads", source) ?? nh,
                    HiddenSize = Int(r, "hidden_size", source),
                    IntermediateSize = Int(r, "intermediate_size", source),
                    MaxPositions = Int(r, "max_position_embeddings", source),
                    PaddedVocabSize = padded,
                    VocabSize = OptInt(r, "sharplm_vocab_size", source) ?? padded,
                    NormEps = OptDouble(r, "rms_norm_eps", source) ?? 1e-6,
                    RopeTheta = OptDouble(r, "rope_theta", source) ?? 10000.0,
                    TieWordEmbeddings = OptBool(r, "tie_word_embeddings", source) ?? false,
                };
                if (r.TryGetProperty("rope_scaling", out var rs) && rs.ValueKind != JsonValueKind.Null)
                    throw new InvalidDataException($"{source}: field 'rope_scaling' is {rs.GetRawText()}; scaled RoPE (linear / dynamic / YaRN / llama3) is not supported, expected null");
                int? hd = OptInt(r, "head_dim", source);
                if (hd is int h && h != c.HiddenSize / nh)
                    throw new InvalidDataException($"{source}: field 'head_dim' is {h} but hidden_size / num_attention_heads = {c.HiddenSize / nh}; a separate head_dim is not supported");
            }
            bool mixtral = type == "mixtral";
            c = c with
            {
                LogitSoftcap = OptDouble(r, "final_logit_softcapping", source) ?? 0,
                Alibi = OptBool(r, "sharplm_alibi", source) ?? false,
                QkNorm = OptBool(r, "sharplm_qk_norm", source) ?? false,
                NumExperts = OptInt(r, "num_local_experts", source) ?? (mixtral ? 8 : 0),
                ExpertsPerToken = OptInt(r, "num_experts_per_tok", source) ?? 2,
                RouterAuxLossCoef = OptDouble(r, "router_aux_loss_coef", source) ?? (mixtral ? 0.001 : 0.01),
            };
            try { return c.Validate(); }
            catch (ArgumentException e) { throw new InvalidDataException($"{source}: {e.Message}", e); }
        }
    }

    private static int Int(JsonElement r, string field, string source) =>
        OptInt(r, field, source) ?? throw new InvalidDataException($"{source}: field '{field}' missing (expected an integer)");

    private static int? OptInt(JsonElement r, string field, string source)
    {
        if (!r.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int x)) throw new InvalidDataException($"{source}: field '{field}' must be an integer, got {v.GetRawText()}");
        return x;
    }

    private static double? OptDouble(JsonElement r, string field, string source)
    {
        if (!r.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number) throw new InvalidDataException($"{source}: field '{field}' must be a number, got {v.GetRawText()}");
        return v.GetDouble();
    }

    private static bool? OptBool(JsonElement r, string field, string source)
    {
        if (!r.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidDataException($"{source}: field '{field}' must be true or false, got {v.GetRawText()}"),
        };
    }
}
