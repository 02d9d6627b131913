// Hyper-parameters of a pretraining run — everything besides the model architecture that decides what the
// run computes — with GPT-2-reproduction defaults (nanoGPT / llm.c: AdamW β = (0.9, 0.95), weight decay
// 0.1, clip 1.0, lr 6e-4 decaying to a tenth). Bound from the CLI, written to run.json, read back by
// --resume so a resumed run computes the same thing.
// Not here: the model config (ModelConfig / config.json), paths (RunSettings).
using System.Globalization;
using System.Text.Json;
using SharpLM.Training.Optim;

namespace SharpLM.Training.Pretraining;

/// <summary>Learning-rate schedule family.</summary>
public enum ScheduleKind
{
    /// <summary>Linear warmup then cosine decay to the floor.</summary>
    Cosine,
    /// <summary>Warmup, constant, linear decay over the last fraction (WSD).</summary>
    Wsd,
}

/// <summary>Hyper-parameters of a pretraining run.</summary>
public sealed record TrainOptions
{
    /// <summary>Tokens per optimizer step (0 = one micro-batch, no accumulation).</summary>
    public long BatchTokens { get; init; }
    /// <summary>Rows per micro-batch (B).</summary>
    public int MicroBatch { get; init; } = 4;
    /// <summary>Tokens per row (T).</summary>
    public int SeqLen { get; init; } = 256;
    /// <summary>Peak learning rate.</summary>
    public double Lr { get; init; } = 6e-4;
    /// <summary>Learning-rate floor (negative = Lr / 10).</summary>
    public double MinLr { get; init; } = -1;
    /// <summary>Warmup steps.</summary>
    public long WarmupSteps { get; init; }
    /// <summary>Schedule family.</summary>
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Cosine;
    /// <summary>WSD: fraction of the steps spent decaying.</summary>
    public double DecayFraction { get; init; } = 0.2;
    /// <summary>Optimizer steps (the schedule's length); 0 with <see cref="Minutes"/> &gt; 0 = as many as fit the budget (measured once at the start).</summary>
    public long Steps { get; init; } = 1000;
    /// <summary>Wall-clock budget in minutes over the whole run including resumed parts (0 = none): training stops and saves when reached.</summary>
    public double Minutes { get; init; }
    /// <summary>AdamW settings.</summary>
    public AdamWSettings AdamW { get; init; } = new();
    /// <summary>Clip gradients to this global L2 norm (0 = no clipping).</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Validation every this many steps and at the end (0 = only at the end).</summary>
    public int EvalEvery { get; init; } = 100;
    /// <summary>Micro-batches per validation pass.</summary>
    public int EvalBatches { get; init; } = 20;
    /// <summary>A greedy sample every this many steps (0 = none).</summary>
    public int SampleEvery { get; init; } = 200;
    /// <summary>Tokens generated per sample.</summary>
    public int SampleTokens { get; init; } = 32;
    /// <summary>A checkpoint every this many steps and at the end (0 = only at the end).</summary>
    public int SaveEvery { get; init; } = 500;
    /// <summary>Checkpoints kept on disk.</summary>
    public int KeepCheckpoints { get; init; } = 2;
    /// <summary>Seed of model initialisation, data order and the trainer RNG.</summary>
    public ulong Seed { get; init; } = 1337;
    /// <summary>Non-finite steps in a row after which training aborts.</summary>
    public int MaxBadSteps { get; init; } = 5;
    /// <summary>Start rows at document starts.</summary>
    public bool AlignToDocuments { get; init; }
    /// <summary>Execution mode asked of the model: bf16 weight copies for the GEMMs (f32 master weights).</summary>
    public bool Bf16 { get; init; }
    /// <summary>Execution mode asked of the model: recompute block activations in backward.</summary>
    public bool CheckpointActivations { get; init; }
    /// <summary>Execution mode asked of the model: save the activations backward reads as bf16 (f32 arithmetic).</summary>
    public bool Bf16Activations { get; init; }

    /// <summary>The floor actually used.</summary>
    public double EffectiveMinLr => MinLr < 0 ? Lr / 10 : MinLr;

    /// <summary>Micro-batches per optimizer step (checks divisibility).</summary>
    public int AccumulationSteps => BatchTokens == 0 ? 1 : new BatchPlan(BatchTokens, MicroBatch, SeqLen).AccumulationSteps;

    /// <summary>Tokens per optimizer step.</summary>
    public long TokensPerStep => (long)AccumulationSteps * MicroBatch * SeqLen;

    /// <summary>The learning-rate schedule.</summary>
    public LrSchedule CreateSchedule() => Schedule == ScheduleKind.Cosine
        ? new CosineSchedule(Lr, EffectiveMinLr, WarmupSteps, Steps)
        : new WarmupStableDecaySchedule(Lr, EffectiveMinLr, WarmupSteps, Steps, DecayFraction);

    /// <summary>Throws <see cref="ArgumentException"/> naming the option if a value is out of range.</summary>
    public TrainOptions Validate()
    {
        if (MicroBatch <= 0) throw new ArgumentException($"--micro-batch must be > 0, got {MicroBatch}");
        if (SeqLen <= 0) throw new ArgumentException($"--seq must be > 0, got {SeqLen}");
        if (BatchTokens < 0) throw new ArgumentException($"--batch-tokens must be ≥ 0, got {BatchTokens}");
        try { _ = AccumulationSteps; }
        catch (ArgumentException e) { throw new ArgumentException($"--batch-tokens: {e.Message}", e); }
        if (Minutes < 0) throw new ArgumentException($"--minutes must be ≥ 0, got {Minutes}");
        if (Steps < 0 || (Steps == 0 && Minutes == 0)) throw new ArgumentException($"--steps must be > 0 (or 0 with --minutes to fit the budget), got {Steps}");
        if (Steps == 0) return this; // resolved by TrainRun once the model exists
        if (GradClip < 0) throw new ArgumentException($"--grad-clip must be ≥ 0, got {GradClip}");
        if (EvalEvery < 0 || SampleEvery < 0 || SaveEvery < 0) throw new ArgumentException($"--eval-every, --sample-every and --save-every must be ≥ 0, got {EvalEvery}, {SampleEvery}, {SaveEvery}");
        if (EvalBatches <= 0) throw new ArgumentException($"--eval-batches must be > 0, got {EvalBatches}");
        if (SampleTokens <= 0) throw new ArgumentException($"--sample-tokens must be > 0, got {SampleTokens}");
        if (KeepCheckpoints < 1) throw new ArgumentException($"--keep must be ≥ 1, got {KeepCheckpoints}");
        if (MaxBadSteps < 1) throw new ArgumentException($"--max-bad-steps must be ≥ 1, got {MaxBadSteps}");
        _ = CreateSchedule().At(0); // checks lr, floor, warmup, decay fraction
        return this;
    }

    /// <summary>Writes the options as members of the current JSON object.</summary>
    public void WriteTo(Utf8JsonWriter w)
    {
        w.WriteNumber("batch_tokens", BatchTokens);
        w.WriteNumber("micro_batch", MicroBatch);
        w.WriteNumber("seq_len", SeqLen);
        w.WriteNumber("accumulation_steps", AccumulationSteps);
        w.WriteNumber("tokens_per_step", TokensPerStep);
        w.WriteNumber("lr", Lr);
        w.WriteNumber("min_lr", EffectiveMinLr);
        w.WriteNumber("warmup_steps", WarmupSteps);
        w.WriteString("schedule", Schedule == ScheduleKind.Cosine ? "cosine" : "wsd");
        w.WriteNumber("decay_fraction", DecayFraction);
        w.WriteNumber("steps", Steps);
        w.WriteNumber("minutes", Minutes);
        w.WriteNumber("beta1", AdamW.Beta1);
        w.WriteNumber("beta2", AdamW.Beta2);
        w.WriteNumber("eps", AdamW.Eps);
        w.WriteNumber("weight_decay", AdamW.WeightDecay);
        w.WriteNumber("grad_clip", GradClip);
        w.WriteNumber("eval_every", EvalEvery);
        w.WriteNumber("eval_batches", EvalBatches);
        w.WriteNumber("sample_every", SampleEvery);
        w.WriteNumber("sample_tokens", SampleTokens);
        w.WriteNumber("save_every", SaveEvery);
        w.WriteNumber("keep_checkpoints", KeepCheckpoints);
        w.WriteString("seed", Seed.ToString(CultureInfo.InvariantCulture));
        w.WriteNumber("max_bad_steps", MaxBadSteps);
        w.WriteBoolean("align_to_documents", AlignToDocuments);
        w.WriteBoolean("bf16", Bf16);
        w.WriteBoolean("checkpoint_activations", CheckpointActivations);
        w.WriteBoolean("bf16_activations", Bf16Activations);
    }

    /// <summary>Reads options written by <see cref="WriteTo"/>; <paramref name="source"/> names the file in errors.</summary>
    public static TrainOptions ReadFrom(JsonElement o, string source)
    {
        string sched = Str(o, "schedule", source);
        return new TrainOptions
        {
            BatchTokens = Long(o, "batch_tokens", source),
            MicroBatch = (int)Long(o, "micro_batch", source),
            SeqLen = (int)Long(o, "seq_len", source),
            Lr = Dbl(o, "lr", source),
            MinLr = Dbl(o, "min_lr", source),
            WarmupSteps = Long(o, "warmup_steps", source),
            Schedule = sched switch
            {
                "cosine" => ScheduleKind.Cosine,
                "wsd" => ScheduleKind.Wsd,
                _ => throw new InvalidDataException($"{source}: field 'schedule' is '{sched}'; expected 'cosine' or 'wsd'"),
            },
            DecayFraction = Dbl(o, "decay_fraction", source),
            Steps = Long(o, "steps", source),
            Minutes = Dbl(o, "minutes", source),
            AdamW = new AdamWSettings(Dbl(o, "beta1", source), Dbl(o, "beta2", source), Dbl(o, "eps", source), Dbl(o, "weight_decay", source)),
            GradClip = Dbl(o, "grad_clip", source),
            EvalEvery = (int)Long(o, "eval_every", source),
            EvalBatches = (int)Long(o, "eval_batches", source),
            SampleEvery = (int)Long(o, "sample_every", source),
            SampleTokens = (int)Long(o, "sample_tokens", source),
            SaveEvery = (int)Long(o, "save_every", source),
            KeepCheckpoints = (int)Long(o, "keep_checkpoints", source),
            Seed = ulong.TryParse(Str(o, "seed", source), NumberStyles.None, CultureInfo.InvariantCulture, out ulong s) ? s
                : throw new InvalidDataException($"{source}: field 'seed' must be a decimal 64-bit integer string"),
            MaxBadSteps = (int)Long(o, "max_bad_steps", source),
            AlignToDocuments = o.TryGetProperty("align_to_documents", out var a) && a.ValueKind == JsonValueKind.True,
            Bf16 = o.TryGetProperty("bf16", out var bf) && bf.ValueKind == JsonValueKind.True,
            CheckpointActivations = o.TryGetProperty("checkpoint_activations", out var ca) && ca.ValueKind == JsonValueKind.True,
            Bf16Activations = o.TryGetProperty("bf16_activations", out var ba) && ba.ValueKind == JsonValueKind.True,
        };
    }

    internal static long Long(JsonElement o, string f, string source) =>
        o.TryGetProperty(f, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long x) ? x
            : throw new InvalidDataException($"{source}: field '{f}' missing or not an integer");

    internal static double Dbl(JsonElement o, string f, string source) =>
        o.TryGetProperty(f, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble()
            : throw new InvalidDataException($"{source}: field '{f}' missing or not a number");

    internal static string Str(JsonElement o, string f, string source) =>
        o.TryGetProperty(f, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
            : throw new InvalidDataException($"{source}: field '{f}' missing or not a string");
}
