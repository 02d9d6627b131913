// Checkpoint directories of a run:
//   <root>/step_00001000/
//     model.safetensors      weights, Hugging Face parameter names
//     config.json            Hugging Face model config (ModelConfigJson)
//     optimizer.safetensors  AdamW moments per parameter: "<param>.exp_avg" (m) and "<param>.exp_avg_sq" (v)
//                            (PyTorch's AdamW state names)
//     trainer_state.json     step, tokens, loader position, RNG state, metrics (TrainerState)
// Save() writes all four into <root>/.tmp-step_…/ and renames that directory into place in one step, so a
// checkpoint directory either exists complete or not at all; only then are older checkpoints beyond
// `keep` removed (the previous good one stays until a newer one is complete). Resolve() finds what
// `--resume` means: a checkpoint directory itself, or the newest complete one under a root.
// Not here: sharded weights for models over 2 GiB per tensor, async saving, cloud storage.
using System.Globalization;
using SharpLM.Models.Config;
using SharpLM.Models.IO;

namespace SharpLM.Training.Checkpoints;

/// <summary>A checkpoint on disk.</summary>
/// <param name="Directory">Its directory.</param>
/// <param name="Config">Model configuration read from config.json.</param>
/// <param name="State">Trainer state read from trainer_state.json.</param>
public sealed record Checkpoint(string Directory, ModelConfig Config, TrainerState State)
{
    /// <summary>Path of model.safetensors.</summary>
    public string ModelPath => Path.Combine(Directory, CheckpointStore.ModelFile);
    /// <summary>Path of optimizer.safetensors.</summary>
    public string OptimizerPath => Path.Combine(Directory, CheckpointStore.OptimizerFile);
}

/// <summary>Writes, finds and prunes checkpoint directories under one root.</summary>
public sealed class CheckpointStore
{
    /// <summary>Weights file name.</summary>
    public const string ModelFile = "model.safetensors";
    /// <summary>Model config file name.</summary>
    public const string ConfigFile = "config.json";
    /// <summary>Optimizer state file name.</summary>
    public const string OptimizerFile = "optimizer.safetensors";
    /// <summary>Trainer state file name.</summary>
    public const string StateFile = "trainer_state.json";
    private const string Prefix = "step_";

    /// <summary>Directory holding the checkpoints.</summary>
    public string Root { get; }
    /// <summary>How many complete checkpoints to keep (≥ 1).</summary>
    public int Keep { get; }

    /// <summary>A store under <paramref name="root"/> keeping the newest <paramref name="keep"/> checkpoints.</summary>
    public CheckpointStore(string root, int keep = 2)
    {
        if (keep < 1) throw new ArgumentException($"checkpoints to keep must be ≥ 1, got {keep}");
        Root = Path.GetFullPath(root);
        Keep = keep;
    }

    /// <summary>Name of the m (first moment) tensor of a parameter in optimizer.safetensors.</summary>
    public static string ExpAvgName(string param) => param + ".exp_avg";
    /// <summary>Name of the v (second moment) tensor of a parameter in optimizer.safetensors.</summary>
    public static string ExpAvgSqName(string param) => param + ".exp_avg_sq";

    /// <summary>Directory name of the checkpoint at <paramref name="step"/>.</summary>
    public static string DirectoryName(long step) => Prefix + step.ToString("D8", CultureInfo.InvariantCulture);

    /// <summary>Writes a complete checkpoint for <c>state.Step</c> atomically and prunes old ones; returns its directory.</summary>
    public string Save(ModelConfig config, IEnumerable<SafetensorsEntry> model, IEnumerable<SafetensorsEntry> optimizer, TrainerState state,
                       IReadOnlyDictionary<string, string>? modelMetadata = null)
    {
        Directory.CreateDirectory(Root);
        string final = Path.Combine(Root, DirectoryName(state.Step));
        string tmp = Path.Combine(Root, $".tmp-{DirectoryName(state.Step)}-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(tmp);
        try
        {
            var meta = new Dictionary<string, string> { ["format"] = "pt" };
            if (modelMetadata != null) foreach (var (k, v) in modelMetadata) meta[k] = v;
            SafetensorsWriter.Write(Path.Combine(tmp, ModelFile), model, meta);
            SafetensorsWriter.Write(Path.Combine(tmp, OptimizerFile), optimizer, new Dictionary<string, string> { ["format"] = "pt" });
            ModelConfigJson.Write(Path.Combine(tmp, ConfigFile), config);
            AtomicFile.WriteAllText(Path.Combine(tmp, StateFile), state.ToJson());
            if (Directory.Exists(final))
            {
                // Re-saving the same step: move the old one aside first so the final rename stays a single step.
                string old = final + $".old-{Guid.NewGuid():N}";
                Directory.Move(final, old);
                Directory.Move(tmp, final);
                Directory.Delete(old, recursive: true);
            }
            else Directory.Move(tmp, final);
        }
        catch
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            throw;
        }
        Prune();
        return final;
    }

    /// <summary>Steps of the complete checkpoints under the root, ascending.</summary>
    public List<long> Steps()
    {
        var steps = new List<long>();
        if (!Directory.Exists(Root)) return steps;
        foreach (var d in Directory.GetDirectories(Root, Prefix + "*"))
        {
            string name = Path.GetFileName(d);
            if (long.TryParse(name.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long s) && IsComplete(d)) steps.Add(s);
        }
        steps.Sort();
        return steps;
    }

    /// <summary>The newest complete checkpoint, or null if there is none.</summary>
    public Checkpoint? Latest()
    {
        var steps = Steps();
        return steps.Count == 0 ? null : Load(Path.Combine(Root, DirectoryName(steps[^1])));
    }

    /// <summary>
    /// What <c>--resume PATH</c> means: PATH itself if it holds trainer_state.json, else the newest complete
    /// checkpoint under PATH. Throws naming PATH if there is none.
    /// </summary>
    public static Checkpoint Resolve(string path)
    {
        if (File.Exists(Path.Combine(path, StateFile))) return Load(path);
        if (!Directory.Exists(path)) throw new DirectoryNotFoundException($"{path}: no such checkpoint directory");
        return new CheckpointStore(path).Latest() ?? throw new FileNotFoundException($"{path}: no complete checkpoint (step_*/ with {ModelFile}, {ConfigFile}, {OptimizerFile}, {StateFile})");
    }

    /// <summary>Reads a checkpoint directory's config and trainer state; throws naming the missing file.</summary>
    public static Checkpoint Load(string dir)
    {
        foreach (var f in new[] { ModelFile, ConfigFile, OptimizerFile, StateFile })
            if (!File.Exists(Path.Combine(dir, f))) throw new FileNotFoundException($"{dir}: checkpoint is missing {f}", Path.Combine(dir, f));
        string statePath = Path.Combine(dir, StateFile);
        var state = TrainerState.Parse(File.ReadAllText(statePath), statePath);
        return new Checkpoint(Path.GetFullPath(dir), ModelConfigJson.Read(Path.Combine(dir, ConfigFile)), state);
    }

    private static bool IsComplete(string dir) =>
        File.Exists(Path.Combine(dir, ModelFile)) && File.Exists(Path.Combine(dir, ConfigFile)) &&
        File.Exists(Path.Combine(dir, OptimizerFile)) && File.Exists(Path.Combine(dir, StateFile));

    private void Prune()
    {
        var steps = Steps();
        for (int i = 0; i < steps.Count - Keep; i++) Directory.Delete(Path.Combine(Root, DirectoryName(steps[i])), recursive: true);
        foreach (var d in Directory.GetDirectories(Root, ".tmp-" + Prefix + "*"))
        {
            // Leftovers of a crashed save by an earlier process (ours are already renamed or deleted).
            if (!d.Contains($"-{Environment.ProcessId}-", StringComparison.Ordinal)) Directory.Delete(d, recursive: true);
        }
    }
}
