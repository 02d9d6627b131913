// One pretraining run directory, end to end: resolve the model config (preset, depth dial or config.json),
// find the tokenizer (for bits per byte and decoded samples), open the train_* / val_* shards, build the
// model through a factory, record every setting in run.json, resume from the newest checkpoint if asked,
// and run the Trainer. This is what `sharplm train` does after parsing its options; tests drive it directly.
//   <out>/run.json        every setting (paths, model choice and config, hyper-parameters, threads, seed)
//   <out>/config.json     the model config (Hugging Face names), as in every checkpoint
//   <out>/metrics.jsonl   one line per step;  <out>/samples.jsonl  greedy samples
//   <out>/step_NNNNNNNN/  checkpoints (CheckpointStore)
// Not here: option parsing and progress display (CLI), the model itself (the factory).
using System.Globalization;
using System.Text;
using System.Text.Json;
using SharpLM.Models.Config;
using SharpLM.Models.IO;
using SharpLM.Models.Modeling;
using SharpLM.Text.Tokenization;
using SharpLM.Training.Checkpoints;
using SharpLM.Training.Data;

namespace SharpLM.Training.Pretraining;

/// <summary>Everything a pretraining run is given.</summary>
public sealed record RunSettings
{
    /// <summary>Directory of train_*.bin / val_*.bin token shards.</summary>
    public required string DataDir { get; init; }
    /// <summary>Run directory written by training.</summary>
    public required string OutDir { get; init; }
    /// <summary>Named model preset (ModelConfig.Preset), or null.</summary>
    public string? Preset { get; init; }
    /// <summary>Depth dial (ModelConfig.FromDepth), or 0.</summary>
    public int Depth { get; init; }
    /// <summary>Family used with <see cref="Depth"/>.</summary>
    public ModelStyle Style { get; init; } = ModelStyle.Gpt2;
    /// <summary>A Hugging Face config.json to train, or null.</summary>
    public string? ConfigFile { get; init; }
    /// <summary>tokenizer.json path, or null to look beside the data (see <see cref="TrainRun.FindTokenizer"/>).</summary>
    public string? TokenizerPath { get; init; }
    /// <summary>Hyper-parameters.</summary>
    public TrainOptions Train { get; init; } = new();
}

/// <summary>Sets up and runs a pretraining run directory.</summary>
public static class TrainRun
{
    /// <summary>Name of the settings file in the run directory.</summary>
    public const string RunFile = "run.json";

    /// <summary>The tokenizer.json in <paramref name="dataDir"/> or in ../tokenizer/ beside it (the run layout), or null.</summary>
    public static string? FindTokenizer(string dataDir)
    {
        foreach (var p in new[] { Path.Combine(dataDir, "tokenizer.json"), Path.Combine(dataDir, "..", "tokenizer", "tokenizer.json") })
            if (File.Exists(p)) return Path.GetFullPath(p);
        return null;
    }

    /// <summary>The model config the settings ask for; <paramref name="dataVocab"/> is the shards' vocabulary size.</summary>
    public static ModelConfig ResolveModel(RunSettings s, BpeTokenizer? tok, int dataVocab)
    {
        int chosen = (s.Preset != null ? 1 : 0) + (s.Depth > 0 ? 1 : 0) + (s.ConfigFile != null ? 1 : 0);
        if (chosen != 1) throw new ArgumentException($"choose the model with exactly one of --preset, --depth or --config (got {chosen})");
        ModelConfig c;
        if (s.Preset != null) c = ModelConfig.Preset(s.Preset);
        else if (s.ConfigFile != null) c = ModelConfigJson.Read(s.ConfigFile);
        else c = ModelConfig.FromDepth(s.Depth, s.Style, vocabSize: Math.Max(tok?.VocabSize ?? 0, dataVocab), contextLength: Math.Max(s.Train.SeqLen, 1));
        if (dataVocab > c.VocabSize) throw new ArgumentException($"{s.DataDir}: the token shards use a vocabulary of {dataVocab} ids but the model has {c.VocabSize}");
        if (s.Train.SeqLen > c.MaxPositions) throw new ArgumentException($"--seq {s.Train.SeqLen} exceeds the model's context of {c.MaxPositions} positions");
        return c;
    }

    /// <summary>
    /// Runs (or with <paramref name="resume"/> continues) the run <paramref name="s"/> describes, building the
    /// model with <paramref name="factory"/>(config, seed). Messages go to <paramref name="onMessage"/>, per-step
    /// figures to <paramref name="onStep"/>; <paramref name="peakFlops"/> is the machine's peak for MFU (0 = unknown).
    /// </summary>
    public static TrainResult Execute(RunSettings s, bool resume, Func<ModelConfig, ulong, ILanguageModel> factory,
                                      Action<string>? onMessage = null, Action<StepReport>? onStep = null,
                                      double peakFlops = 0, CancellationToken cancel = default)
    {
        var o = s.Train.Validate();
        string tokPath = s.TokenizerPath ?? FindTokenizer(s.DataDir) ?? "";
        BpeTokenizer? tok = tokPath.Length > 0 ? TokenizerJson.Load(tokPath) : null;
        var trainFiles = TokenLoader.Find(s.DataDir, "train_");
        string[] valFiles = [];
        try { valFiles = TokenLoader.Find(s.DataDir, "val_"); }
        catch (FileNotFoundException) { onMessage?.Invoke($"warning: {s.DataDir} has no val_*.bin shards; no validation loss or bits per byte"); }

        Checkpoint? ckpt = null;
        if (resume)
        {
            ckpt = new CheckpointStore(s.OutDir).Latest()
                ?? throw new FileNotFoundException($"{s.OutDir}: --resume given but there is no complete checkpoint (step_*/) to resume from");
        }

        using var train = new TokenLoader(trainFiles, new LoaderOptions(o.MicroBatch, o.SeqLen, SamplingMode.Random, o.Seed, o.AlignToDocuments));
        TokenLoader? valLoader = null;
        if (valFiles.Length > 0)
        {
            try { valLoader = new TokenLoader(valFiles, new LoaderOptions(o.MicroBatch, o.SeqLen, SamplingMode.Sequential, o.Seed)); }
            catch (ArgumentException e) { onMessage?.Invoke($"warning: validation disabled: {e.Message}"); }
        }
        using var val = valLoader;
        int dataVocab = 0;
        foreach (var sh in train.Shards) dataVocab = Math.Max(dataVocab, sh.VocabSize);
        var config = ckpt?.Config ?? ResolveModel(s, tok, dataVocab);
        if (ckpt != null && dataVocab > config.VocabSize) throw new ArgumentException($"{s.DataDir}: the token shards use a vocabulary of {dataVocab} ids but the checkpoint's model has {config.VocabSize}");

        using var model = factory(config, o.Seed);
        if (o.Steps == 0)
        {
            double step = MeasureStepSeconds(model, train, o);
            o = o with { Steps = Math.Max(1, (long)(o.Minutes * 60 / step)) };
            s = s with { Train = o };
            onMessage?.Invoke($"one step takes ≈ {step:F3} s: {o.Steps} steps fit {o.Minutes} minutes (schedule length; recorded in run.json)");
        }
        o.Validate();
        Directory.CreateDirectory(s.OutDir);
        ModelConfigJson.Write(Path.Combine(s.OutDir, CheckpointStore.ConfigFile), config);
        WriteRunFile(Path.Combine(s.OutDir, RunFile), s, config, tokPath.Length > 0 ? tokPath : null, ckpt?.State.Step);

        using var trainer = new Trainer(model, o, train, val, tok, s.OutDir) { OnMessage = onMessage, OnStep = onStep, PeakFlops = peakFlops };
        if (ckpt != null)
        {
            trainer.Resume(ckpt);
            onMessage?.Invoke($"resumed from {ckpt.Directory} (step {ckpt.State.Step})");
        }
        return trainer.Run(cancel);
    }

    /// <summary>
    /// Seconds one optimizer step takes: the median of timed micro-batches (after one warmup call, at least 3
    /// and 1.5 s worth, at most 20, so the JIT has settled) times the accumulation steps, plus 10% for the
    /// update. Gradients are zeroed afterwards, so the model is unchanged. Validation and samples are not counted.
    /// </summary>
    public static double MeasureStepSeconds(ILanguageModel model, TokenLoader train, TrainOptions o)
    {
        int B = o.MicroBatch, T = o.SeqLen, W = T + 1;
        var rows = new int[B * W];
        var (shard, start) = train.Locate(0); // a window that exists; the loader's position is not touched
        for (int b = 0; b < B; b++) shard.CopyTokens(start, rows.AsSpan(b * W, W));
        model.ForwardBackward(rows, B, T, 1f);
        var times = new List<double>();
        double total = 0;
        while (times.Count < 20 && (times.Count < 3 || total < 1.5))
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            model.ForwardBackward(rows, B, T, 1f);
            double dt = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;
            times.Add(dt);
            total += dt;
        }
        foreach (var p in model.Parameters) p.Grad.AsSpan<float>().Clear();
        times.Sort();
        return times[times.Count / 2] * o.AccumulationSteps * 1.1;
    }

    /// <summary>Writes run.json: every setting, the resolved model, threads and when it started.</summary>
    public static void WriteRunFile(string path, RunSettings s, ModelConfig config, string? tokenizer, long? resumedFromStep)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("stage", "pretrain");
            w.WriteString("started", DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture));
            if (resumedFromStep is long r) w.WriteNumber("resumed_from_step", r);
            w.WriteString("data", Path.GetFullPath(s.DataDir));
            w.WriteString("out", Path.GetFullPath(s.OutDir));
            if (tokenizer != null) w.WriteString("tokenizer", tokenizer); else w.WriteNull("tokenizer");
            w.WriteStartObject("model");
            if (s.Preset != null) w.WriteString("preset", s.Preset);
            if (s.Depth > 0) { w.WriteNumber("depth", s.Depth); w.WriteString("style", s.Style == ModelStyle.Gpt2 ? "gpt2" : "llama"); }
            if (s.ConfigFile != null) w.WriteString("config_file", Path.GetFullPath(s.ConfigFile));
            w.WriteNumber("parameters", config.ParameterCount());
            w.WriteNumber("flops_per_token", config.TrainingFlopsPerToken(s.Train.SeqLen));
            w.WritePropertyName("config");
            using (var doc = JsonDocument.Parse(ModelConfigJson.ToJson(config))) doc.RootElement.WriteTo(w);
            w.WriteEndObject();
            w.WriteNumber("threads", SharpLM.Tensors.Threading.WorkerPool.Threads);
            w.WriteStartObject("train");
            s.Train.WriteTo(w);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        AtomicFile.WriteAllText(path, Encoding.UTF8.GetString(ms.ToArray()) + "\n");
    }

    /// <summary>Reads the settings back from a run.json (for --resume); errors name the file and field.</summary>
    public static RunSettings ReadRunFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: run settings not found (is this a run directory written by `sharplm train`?)", path);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})", e); }
        using (doc)
        {
            var r = doc.RootElement;
            if (!r.TryGetProperty("model", out var m) || m.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: field 'model' missing or not an object");
            if (!r.TryGetProperty("train", out var t) || t.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: field 'train' missing or not an object");
            string style = m.TryGetProperty("style", out var st) && st.ValueKind == JsonValueKind.String ? st.GetString()! : "gpt2";
            return new RunSettings
            {
                DataDir = TrainOptions.Str(r, "data", path),
                OutDir = TrainOptions.Str(r, "out", path),
                TokenizerPath = r.TryGetProperty("tokenizer", out var tk) && tk.ValueKind == JsonValueKind.String ? tk.GetString() : null,
                Preset = m.TryGetProperty("preset", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null,
                Depth = m.TryGetProperty("depth", out var d) && d.TryGetInt32(out int dv) ? dv : 0,
                Style = style switch
                {
                    "gpt2" => ModelStyle.Gpt2,
                    "llama" => ModelStyle.Llama,
                    _ => throw new InvalidDataException($"{path}: field 'model.style' is '{style}'; expected 'gpt2' or 'llama'"),
                },
                ConfigFile = m.TryGetProperty("config_file", out var cf) && cf.ValueKind == JsonValueKind.String ? cf.GetString() : null,
                Train = TrainOptions.ReadFrom(t, path),
            };
        }
    }
}
