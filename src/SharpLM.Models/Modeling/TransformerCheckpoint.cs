// Model checkpoints in the Hugging Face layout: a directory holding model.safetensors (f32 tensors under HF
// names, metadata {"format": "pt"} as transformers expects) and config.json (ModelConfigJson). Loading
// accepts what transformers writes for GPT2LMHeadModel / LlamaForCausalLM: GPT-2 names with or without the
// "transformer." prefix (GPT2Model vs GPT2LMHeadModel state dicts), f32/bf16/f16 tensors, a tied lm_head
// that is present or absent, and the non-parameter buffers older files carry (attn.bias, attn.masked_bias,
// rotary_emb.inv_freq), which are skipped. Any other unknown tensor, missing tensor or shape mismatch is an
// error naming the file and the tensor. Not here: optimizer state (the trainer writes it beside these).
using SharpLM.Models.Config;
using SharpLM.Models.IO;

namespace SharpLM.Models.Modeling;

public sealed unsafe partial class TransformerModel
{
    /// <summary>Weights file name inside a checkpoint directory.</summary>
    public const string WeightsFile = "model.safetensors";
    /// <summary>Config file name inside a checkpoint directory.</summary>
    public const string ConfigFile = "config.json";

    /// <summary>Writes model.safetensors and config.json into <paramref name="dir"/> (created if needed), each atomically.</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        var entries = new List<SafetensorsEntry>(_params.Count);
        foreach (var p in _params) entries.Add(SafetensorsEntry.FromTensor(p.Name, p.Value));
        SafetensorsWriter.Write(Path.Combine(dir, WeightsFile), entries, new Dictionary<string, string> { ["format"] = "pt" });
        ModelConfigJson.Write(Path.Combine(dir, ConfigFile), _cfg);
    }

    /// <summary>Loads a checkpoint directory (config.json + model.safetensors), ours or one written by transformers.</summary>
    public static TransformerModel Load(string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: checkpoint directory not found (expected {ConfigFile} and {WeightsFile} in it)");
        var cfg = ModelConfigJson.Read(Path.Combine(dir, ConfigFile));
        var m = new TransformerModel(cfg, 0, init: false);
        try { m.LoadWeights(Path.Combine(dir, WeightsFile)); }
        catch { m.Dispose(); throw; }
        return m;
    }

    /// <summary>Overwrites every parameter from a safetensors file with Hugging Face names; errors name the file and tensor.</summary>
    public void LoadWeights(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: weights file not found", path);
        using var f = SafetensorsFile.Open(path);
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in _params)
        {
            string? name = FindName(f, p.Name);
            if (name == null) throw new InvalidDataException($"{path}: tensor '{p.Name}' missing (shape {Tensors.Tensor.Format(p.Value.Shape)} expected)");
            var info = f.Info(name);
            bool same = info.Shape.Length == p.Value.Rank;
            for (int i = 0; same && i < info.Shape.Length; i++) same = info.Shape[i] == p.Value.Shape[i];
            if (!same) throw new InvalidDataException($"{path}: tensor '{name}' has shape {info.ShapeText}; the config needs {Tensors.Tensor.Format(p.Value.Shape)}");
            f.ReadF32(name, p.Value.AsSpan<float>());
            used.Add(name);
        }
        foreach (var t in f.Tensors)
        {
            if (used.Contains(t.Name) || IsBuffer(t.Name)) continue;
            if (_cfg.TieWordEmbeddings && t.Name == "lm_head.weight") continue; // a tied head saved anyway
            throw new InvalidDataException($"{path}: unexpected tensor '{t.Name}' {t.ShapeText} for a {_cfg.Style} model with this config");
        }
    }

    private static string? FindName(SafetensorsFile f, string name)
    {
        if (f.Contains(name)) return name;
        const string prefix = "transformer.";
        if (name.StartsWith(prefix, StringComparison.Ordinal) && f.Contains(name[prefix.Length..])) return name[prefix.Length..];
        return null;
    }

    private static bool IsBuffer(string name) =>
        name.EndsWith(".attn.bias", StringComparison.Ordinal) || name.EndsWith(".attn.masked_bias", StringComparison.Ordinal)
        || name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal);
}
