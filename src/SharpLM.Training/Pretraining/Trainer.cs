// The pretraining loop (nanoGPT train.py / llm.c train_gpt2 in shape): per optimizer step, accumulate the
// gradients of `accum` micro-batches (each ForwardBackward adds (1/accum)·∂loss so the sum is the gradient
// of the mean loss over the whole batch), take the global gradient norm, clip by it, AdamW-update at the
// schedule's learning rate, then log a metrics line. Every N steps: validation loss and bits per byte, a
// greedy sample, an atomic checkpoint (weights, config, AdamW moments, trainer state with loader position
// and RNG). A non-finite loss or gradient norm skips the update (gradients are dropped, the data is still
// consumed, the schedule still advances) with a warning; K such steps in a row abort, saving nothing, so
// the newest checkpoint on disk is the last good one. Cancellation (Ctrl-C) and the wall-clock budget are
// checked between steps and end with a checkpoint.
// Determinism: given the same model (deterministic kernels), data, options and seed, the losses are the
// same bit for bit, and a run resumed from a checkpoint continues exactly as the uninterrupted run would:
// everything the next step reads — weights, moments, update count, loader position, step, RNG — is in
// the checkpoint.
// Not here: data parallelism, bf16 and activation checkpointing (properties of the model), post-training.
using System.Diagnostics;
using SharpLM.Models.IO;
using SharpLM.Models.Modeling;
using SharpLM.Text.Tokenization;
using SharpLM.Training.Checkpoints;
using SharpLM.Training.Data;
using SharpLM.Training.Optim;

namespace SharpLM.Training.Pretraining;

/// <summary>How a training run ended.</summary>
public enum TrainStatus
{
    /// <summary>All steps done.</summary>
    Completed,
    /// <summary>The wall-clock budget ran out.</summary>
    TimeBudget,
    /// <summary>Cancelled (Ctrl-C); a checkpoint was saved.</summary>
    Interrupted,
    /// <summary>Too many non-finite steps in a row; nothing was saved after the last good checkpoint.</summary>
    Diverged,
}

/// <summary>What one optimizer step did (for progress displays).</summary>
public readonly record struct StepReport(long Step, long TotalSteps, double Loss, double Lr, double GradNorm, double TokensPerSecond,
                                         double Mfu, double ElapsedSeconds, double EtaSeconds, bool Skipped);

/// <summary>The outcome of <see cref="Trainer.Run"/>.</summary>
/// <param name="Status">How it ended.</param>
/// <param name="Step">Steps completed.</param>
/// <param name="Losses">Training loss of every step run in this call (NaN for skipped steps), in order.</param>
/// <param name="LastCheckpoint">Directory of the newest checkpoint written in this call, if any.</param>
/// <param name="LastValidation">The last validation result, if any.</param>
public sealed record TrainResult(TrainStatus Status, long Step, IReadOnlyList<double> Losses, string? LastCheckpoint, ValidationResult? LastValidation);

/// <summary>Runs pretraining of an <see cref="ILanguageModel"/> over token shards.</summary>
public sealed class Trainer : IDisposable
{
    private readonly ILanguageModel _model;
    private readonly TrainOptions _o;
    private readonly TokenLoader _train;
    private readonly TokenLoader? _val;
    private readonly BpeTokenizer? _tok;
    private readonly AdamWOptimizer _opt;
    private readonly LrSchedule _schedule;
    private readonly CheckpointStore _store;
    private readonly string _outDir;
    private readonly int[] _batch;
    private readonly double _flopsPerToken;
    private long _step, _tokensSeen, _skipped;
    private double _elapsedBefore;
    private ulong _rng;
    private double _lastLoss = double.NaN, _lastNorm = double.NaN;
    private ValidationResult? _lastVal;

    /// <summary>Peak FLOP/s of the machine for MFU (0 = unknown: MFU is NaN).</summary>
    public double PeakFlops { get; init; }

    /// <summary>Called after every optimizer step.</summary>
    public Action<StepReport>? OnStep { get; init; }

    /// <summary>Called with warnings, validation results, samples and checkpoint notices.</summary>
    public Action<string>? OnMessage { get; init; }

    /// <summary>Optimizer steps completed.</summary>
    public long Step => _step;

    /// <summary>The optimizer (moments and update count).</summary>
    public AdamWOptimizer Optimizer => _opt;

    /// <summary>metrics.jsonl of the run.</summary>
    public string MetricsPath => Path.Combine(_outDir, "metrics.jsonl");

    /// <summary>samples.jsonl of the run.</summary>
    public string SamplesPath => Path.Combine(_outDir, "samples.jsonl");

    /// <summary>
    /// A trainer writing into <paramref name="outDir"/> (checkpoints as step_*/, metrics.jsonl, samples.jsonl).
    /// <paramref name="train"/> must have batch size and sequence length of the options; <paramref name="val"/>
    /// (optional) is scored with the same shapes; <paramref name="tokenizer"/> (optional) gives bytes per token and decodes samples.
    /// </summary>
    public Trainer(ILanguageModel model, TrainOptions options, TokenLoader train, TokenLoader? val, BpeTokenizer? tokenizer, string outDir)
    {
        _o = options.Validate();
        if (train.Options.BatchSize != options.MicroBatch || train.Options.SeqLen != options.SeqLen)
            throw new ArgumentException($"training loader yields ({train.Options.BatchSize}, {train.Options.SeqLen}) batches; options ask for ({options.MicroBatch}, {options.SeqLen})");
        if (options.SeqLen > model.Config.MaxPositions)
            throw new ArgumentException($"--seq {options.SeqLen} exceeds the model's context of {model.Config.MaxPositions} positions");
        _model = model;
        _train = train;
        _val = val;
        _tok = tokenizer;
        _outDir = Path.GetFullPath(outDir);
        _opt = new AdamWOptimizer(model.Parameters, options.AdamW);
        _schedule = options.CreateSchedule();
        _store = new CheckpointStore(_outDir, options.KeepCheckpoints);
        _batch = new int[options.MicroBatch * (options.SeqLen + 1)];
        _flopsPerToken = model.Config.TrainingFlopsPerToken(options.SeqLen);
        _rng = options.Seed ^ 0x5DEECE66DUL;
        _opt.ZeroGrad();
    }

    /// <summary>Continues from <paramref name="ckpt"/>: weights, moments, loader position, step, RNG and counters.</summary>
    public void Resume(Checkpoint ckpt)
    {
        if (ckpt.Config != _model.Config)
            throw new ArgumentException($"{ckpt.Directory}: checkpoint model config differs from this run's ({ModelConfigSummary(ckpt.Config)} vs {ModelConfigSummary(_model.Config)})");
        var st = ckpt.State;
        LoadWeights(_model, ckpt.ModelPath);
        long updates = st.Metrics.TryGetValue("optimizer_updates", out double u) ? (long)u : st.Step;
        _opt.LoadState(ckpt.OptimizerPath, updates);
        if (st.DataPosition is { } pos) _train.Restore(pos);
        else throw new InvalidDataException($"{ckpt.Directory}: trainer_state.json has no data_position; cannot resume the data order");
        if (st.RngState.Length != 1) throw new InvalidDataException($"{ckpt.Directory}: trainer_state.json rng_state must hold 1 word, got {st.RngState.Length}");
        _rng = st.RngState[0];
        _step = st.Step;
        _tokensSeen = st.TokensSeen;
        _elapsedBefore = st.ElapsedSeconds;
        _skipped = st.Metrics.TryGetValue("skipped_steps", out double sk) ? (long)sk : 0;
        _opt.ZeroGrad();
    }

    /// <summary>Copies every parameter of <paramref name="model"/> from a model.safetensors; errors name the file and tensor.</summary>
    public static void LoadWeights(ILanguageModel model, string path)
    {
        using var f = SafetensorsFile.Open(path);
        foreach (var p in model.Parameters) AdamWOptimizer.ReadInto(f, p.Name, p.Value);
    }

    /// <summary>Trains until the step count, the time budget, divergence or cancellation; see <see cref="TrainStatus"/>.</summary>
    public TrainResult Run(CancellationToken cancel = default)
    {
        Directory.CreateDirectory(_outDir);
        using var metrics = MetricsLog.Open(MetricsPath, _step);
        TrimSamples();
        var losses = new List<double>();
        int accum = _o.AccumulationSteps, B = _o.MicroBatch, T = _o.SeqLen;
        float gradScale = 1f / accum;
        long tokensPerStep = _o.TokensPerStep;
        double budget = _o.Minutes > 0 ? _o.Minutes * 60 : double.PositiveInfinity;
        var clock = Stopwatch.StartNew();
        string? lastCkpt = null;
        long lastSaved = _store.Steps() is { Count: > 0 } s ? s[^1] : -1;
        int badInARow = 0;
        double emaStep = 0;
        TrainStatus status = TrainStatus.Completed;

        while (_step < _o.Steps)
        {
            if (cancel.IsCancellationRequested) { status = TrainStatus.Interrupted; break; }
            if (_elapsedBefore + clock.Elapsed.TotalSeconds >= budget) { status = TrainStatus.TimeBudget; break; }

            long t0 = Stopwatch.GetTimestamp();
            double lr = _schedule.At(_step);
            float lossSum = 0;
            for (int k = 0; k < accum; k++)
            {
                _train.NextBatch(_batch);
                lossSum += _model.ForwardBackward(_batch, B, T, gradScale);
            }
            NextRandom(); // one draw per step keeps the RNG stream tied to the step count
            float loss = lossSum / accum;
            double norm = _opt.GradNorm();
            bool bad = !float.IsFinite(loss) || !double.IsFinite(norm);
            if (bad)
            {
                _opt.ZeroGrad();
                _skipped++;
                badInARow++;
                OnMessage?.Invoke($"warning: step {_step + 1}: non-finite {(float.IsFinite(loss) ? "gradient norm" : "loss")} ({loss}, grad norm {norm}); update skipped ({badInARow} in a row, abort at {_o.MaxBadSteps})");
            }
            else
            {
                badInARow = 0;
                float clip = _o.GradClip > 0 ? SharpLM.Tensors.Kernels.Optim.ClipScale(norm, _o.GradClip) : 1f;
                bool discarded = _model.DiscardGradients(); // the next backward writes instead of adding
                _opt.Step(lr, clip, clearGrads: !discarded);
            }
            _step++;
            _tokensSeen += tokensPerStep;
            losses.Add(bad ? double.NaN : loss);
            _lastLoss = loss;
            _lastNorm = norm;

            double dt = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            double tps = tokensPerStep / dt;
            double mfu = PeakFlops > 0 ? _flopsPerToken * tps / PeakFlops : double.NaN;
            emaStep = emaStep == 0 ? dt : 0.9 * emaStep + 0.1 * dt;
            double elapsed = _elapsedBefore + clock.Elapsed.TotalSeconds;

            if (badInARow >= _o.MaxBadSteps)
            {
                metrics.Append(new MetricsRecord(_step, loss, lr, norm, tps, mfu, elapsed));
                OnMessage?.Invoke($"error: {badInARow} non-finite steps in a row; stopping. The last good checkpoint is {(lastSaved >= 0 ? Path.Combine(_outDir, CheckpointStore.DirectoryName(lastSaved)) : "(none)")}");
                return new TrainResult(TrainStatus.Diverged, _step, losses, lastCkpt, _lastVal);
            }

            ValidationResult? val = null;
            bool last = _step == _o.Steps;
            if (_val != null && ((_o.EvalEvery > 0 && _step % _o.EvalEvery == 0) || last)) val = RunValidation();
            metrics.Append(new MetricsRecord(_step, loss, lr, norm, tps, mfu, elapsed, val?.Loss) { ValBpb = val?.BitsPerByte });
            OnStep?.Invoke(new StepReport(_step, _o.Steps, loss, lr, norm, tps, mfu, elapsed, emaStep * (_o.Steps - _step), bad));
            if (_o.SampleEvery > 0 && _step % _o.SampleEvery == 0) WriteSample();
            if (!bad && _o.SaveEvery > 0 && _step % _o.SaveEvery == 0 && !last)
            {
                lastCkpt = Save(elapsed);
                lastSaved = _step;
            }
        }

        if (badInARow == 0 && lastSaved != _step)
        {
            lastCkpt = Save(_elapsedBefore + clock.Elapsed.TotalSeconds);
        }
        else if (badInARow > 0)
            OnMessage?.Invoke($"warning: the run ended on {badInARow} skipped step(s); the final state was not saved over the last good checkpoint");
        return new TrainResult(status, _step, losses, lastCkpt, _lastVal);
    }

    private ValidationResult RunValidation()
    {
        // At most one pass over the validation windows (more batches would only repeat them).
        int batches = (int)Math.Clamp(_val!.RowsPerEpoch / _o.MicroBatch, 1, _o.EvalBatches);
        var r = Validation.Evaluate(_model, _val, batches, _tok != null ? _tok.BytesPerToken : default);
        _lastVal = r;
        OnMessage?.Invoke($"step {_step}: val loss {r.Loss:F4}, {r.BitsPerByte:F4} bits/byte ({r.Tokens} tokens{(_tok != null ? $", {r.Bytes} bytes" : ", bytes = tokens")})");
        return r;
    }

    private void WriteSample()
    {
        // Prompt: a few tokens at an RNG-chosen offset of the first validation (else training) shard.
        var shard = (_val ?? _train).Shards[0];
        int P = (int)Math.Min(8, Math.Max(1, shard.TokenCount - 1));
        long off = (long)(NextRandom() % (ulong)Math.Max(1, shard.TokenCount - P));
        var prompt = new int[P];
        shard.CopyTokens(off, prompt);
        int[] gen = Validation.Greedy(_model, prompt, _o.SampleTokens);
        string text = _tok != null ? _tok.DecodeToString(prompt) + "⟦" + _tok.DecodeToString(gen) + "⟧" : string.Join(' ', prompt) + " ⟦" + string.Join(' ', gen) + "⟧";
        OnMessage?.Invoke($"step {_step} sample: {text}");
        using var ms = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteNumber("step", _step);
            w.WriteStartArray("prompt"); foreach (int id in prompt) w.WriteNumberValue(id); w.WriteEndArray();
            w.WriteStartArray("generated"); foreach (int id in gen) w.WriteNumberValue(id); w.WriteEndArray();
            w.WriteString("text", text);
            w.WriteEndObject();
        }
        File.AppendAllText(SamplesPath, System.Text.Encoding.UTF8.GetString(ms.ToArray()) + "\n");
    }

    private void TrimSamples()
    {
        // Like metrics.jsonl: on resume drop samples from steps after the checkpoint.
        if (!File.Exists(SamplesPath)) return;
        var kept = new List<string>();
        foreach (var line in File.ReadAllLines(SamplesPath))
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("step", out var s) && s.TryGetInt64(out long st) && st <= _step) kept.Add(line);
            }
            catch (System.Text.Json.JsonException) { }
        }
        AtomicFile.WriteAllText(SamplesPath, kept.Count == 0 ? "" : string.Join('\n', kept) + "\n");
    }

    private string Save(double elapsed)
    {
        var model = new List<SafetensorsEntry>();
        foreach (var p in _model.Parameters) model.Add(SafetensorsEntry.FromTensor(p.Name, p.Value));
        var m = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["loss"] = _lastLoss,
            ["lr"] = _schedule.At(Math.Max(0, _step - 1)),
            ["grad_norm"] = _lastNorm,
            ["optimizer_updates"] = _opt.Updates,
            ["skipped_steps"] = _skipped,
        };
        if (_lastVal is { } v) { m["val_loss"] = v.Loss; m["val_bpb"] = v.BitsPerByte; }
        var state = new TrainerState
        {
            Step = _step,
            TokensSeen = _tokensSeen,
            ElapsedSeconds = elapsed,
            DataPosition = _train.Position,
            RngState = [_rng],
            Metrics = m,
        };
        string dir = _store.Save(_model.Config, model, _opt.StateEntries(), state);
        OnMessage?.Invoke($"step {_step}: checkpoint {dir}");
        return dir;
    }

    private ulong NextRandom()
    {
        // SplitMix64 (Steele et al. 2014): one word of state, so the checkpoint stores it whole.
        ulong z = _rng += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static string ModelConfigSummary(Models.Config.ModelConfig c) =>
        $"{c.Style} L{c.NumLayers} C{c.HiddenSize} NH{c.NumHeads} V{c.PaddedVocabSize}";

    /// <inheritdoc />
    public void Dispose() => _opt.Dispose();
}
