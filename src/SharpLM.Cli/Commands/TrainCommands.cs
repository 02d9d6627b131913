// `sharplm train`: pretrain a model on token shards (SharpLM.Training.Pretraining.TrainRun) with a live
// progress bar (step, loss, tokens/s, MFU, ETA), Ctrl-C or SIGTERM saving a checkpoint, and --resume continuing the
// run in --out with the settings recorded in its run.json (options given again override them).
// The model comes from ModelFactory (the one place that names the transformer implementation).
using System.CommandLine;
using System.Globalization;
using SharpLM.Cli.Bench;
using SharpLM.Models.Config;
using SharpLM.Models.Modeling;
using SharpLM.Tensors.Threading;
using SharpLM.Training.Pretraining;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

/// <summary>Builds the trainable model for a config: the seam between the CLI and the model implementation.</summary>
internal static class ModelFactory
{
    /// <summary>A freshly initialised model of <paramref name="config"/> seeded with <paramref name="seed"/>.</summary>
    public static ILanguageModel Create(ModelConfig config, ulong seed) => new TransformerModel(config, seed);

    /// <summary>Turns on bf16 GEMMs and/or activation checkpointing; throws if the model cannot.</summary>
    public static void SetExecutionModes(ILanguageModel model, bool bf16, bool checkpointActivations)
    {
        if (model is TransformerModel t)
        {
            t.UseBf16 = bf16;
            t.CheckpointActivations = checkpointActivations;
            return;
        }
        if (bf16 || checkpointActivations)
            throw new UserFacingException($"{model.GetType().Name} has no {(bf16 ? "bf16" : "activation checkpointing")} mode");
    }

    /// <summary>As <see cref="SetExecutionModes(ILanguageModel, bool, bool)"/>, also saving activations for backward as bf16.</summary>
    public static void SetExecutionModes(ILanguageModel model, bool bf16, bool checkpointActivations, bool bf16Activations)
    {
        SetExecutionModes(model, bf16, checkpointActivations);
        if (!bf16Activations) return;
        if (model is not TransformerModel t) throw new UserFacingException($"{model.GetType().Name} has no bf16 activation mode");
        try { t.Bf16Activations = true; }
        catch (NotSupportedException e) { throw new UserFacingException($"--bf16-activations: {e.Message}"); }
    }
}

internal static class TrainCommands
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var cmd = new Command("train", "Pretrain a language model on token shards (train_*.bin / val_*.bin): AdamW, LR schedule, gradient accumulation, validation loss and bits per byte, samples, checkpoints, resume.");
        var data = new Option<string?>("--data") { Description = "Directory of token shards train_*.bin (+ val_*.bin for validation). A tokenizer.json there or in ../tokenizer/ gives bits per byte and decoded samples." };
        var output = new Option<string>("--out") { Description = "Run directory: run.json, config.json, metrics.jsonl, samples.jsonl, step_*/ checkpoints.", Required = true };
        var preset = new Option<string?>("--preset") { Description = $"Model preset: {string.Join(", ", ModelConfig.PresetNames)}." };
        var depth = new Option<int?>("--depth") { Description = "Depth dial: L layers, width 64·L (nanochat rule), context = --seq, vocabulary from the tokenizer or shards." };
        var style = new Option<string?>("--style") { Description = "Family for --depth: gpt2 (default) or llama." };
        var config = new Option<string?>("--config") { Description = "A Hugging Face config.json describing the model." };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "tokenizer.json to use instead of the one found beside the data." };
        var batchTokens = new Option<long?>("--batch-tokens") { Description = "Tokens per optimizer step; a multiple of micro-batch·seq, the rest is gradient accumulation (default: one micro-batch)." };
        var micro = new Option<int?>("--micro-batch") { Description = "Rows per forward/backward (B, default 4)." };
        var seq = new Option<int?>("--seq") { Description = "Tokens per row (T, default 256)." };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate (default 6e-4)." };
        var minLr = new Option<double?>("--min-lr") { Description = "Learning-rate floor (default lr/10)." };
        var warmup = new Option<long?>("--warmup") { Description = "Linear warmup steps (default 0)." };
        var schedule = new Option<string?>("--schedule") { Description = "cosine (default): warmup then cosine to the floor; wsd: warmup, constant, linear decay over the last --decay-fraction." };
        var decayFrac = new Option<double?>("--decay-fraction") { Description = "WSD: fraction of steps spent decaying (default 0.2)." };
        var steps = new Option<long?>("--steps") { Description = "Optimizer steps (default 1000, or as many as fit --minutes when only that is given)." };
        var minutes = new Option<double?>("--minutes") { Description = "Wall-clock budget in minutes; training saves and stops when it runs out." };
        var wd = new Option<double?>("--weight-decay") { Description = "AdamW weight decay of matrices (default 0.1; none on norms, biases, embeddings)." };
        var beta1 = new Option<double?>("--beta1") { Description = "AdamW β1 (default 0.9)." };
        var beta2 = new Option<double?>("--beta2") { Description = "AdamW β2 (default 0.95)." };
        var clip = new Option<double?>("--grad-clip") { Description = "Clip gradients to this global norm (default 1.0; 0 = off)." };
        var evalEvery = new Option<int?>("--eval-every") { Description = "Validation loss and bits per byte every N steps and at the end (default 100; 0 = only at the end)." };
        var evalBatches = new Option<int?>("--eval-batches") { Description = "Micro-batches per validation (default 20)." };
        var sampleEvery = new Option<int?>("--sample-every") { Description = "Greedy sample every N steps (default 200; 0 = none)." };
        var sampleTokens = new Option<int?>("--sample-tokens") { Description = "Tokens per sample (default 32)." };
        var saveEvery = new Option<int?>("--save-every") { Description = "Checkpoint every N steps and at the end (default 500; 0 = only at the end)." };
        var keep = new Option<int?>("--keep") { Description = "Checkpoints kept (default 2)." };
        var seed = new Option<ulong?>("--seed") { Description = "Seed of initialisation, data order and sampling (default 1337)." };
        var maxBad = new Option<int?>("--max-bad-steps") { Description = "Abort after this many non-finite steps in a row (default 5)." };
        var align = new Option<bool?>("--align-docs") { Description = "Start every row at a document start (or a multiple of --seq inside one)." };
        var bf16 = new Option<bool?>("--bf16") { Description = "bf16 weight copies for the GEMMs (f32 master weights, activations and accumulation)." };
        var ckptActs = new Option<bool?>("--checkpoint-activations") { Description = "Recompute each block's activations in backward (less memory, about one more forward)." };
        var bf16Acts = new Option<bool?>("--bf16-activations") { Description = "Save the activations backward reads as bf16 (f32 arithmetic, residual stream and master weights; about half the activation memory). Combines with --bf16." };
        var threads = BenchCommands.ThreadsOption();
        var resume = new Option<bool>("--resume") { Description = "Continue from the newest checkpoint in --out with the settings of its run.json." };
        var plain = new Option<bool>("--no-progress") { Description = "Plain log lines instead of the live progress bar." };
        foreach (var o in new Option[] { data, output, preset, depth, style, config, tokenizer, batchTokens, micro, seq, lr, minLr, warmup, schedule, decayFrac,
                                         steps, minutes, wd, beta1, beta2, clip, evalEvery, evalBatches, sampleEvery, sampleTokens, saveEvery, keep, seed, maxBad, align, bf16, ckptActs, threads, resume, plain })
            cmd.Options.Add(o);
        cmd.Options.Add(bf16Acts);

        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            string outDir = pr.GetValue(output)!;
            bool isResume = pr.GetValue(resume);
            RunSettings? prev = isResume ? TrainRun.ReadRunFile(Path.Combine(outDir, TrainRun.RunFile)) : null;
            var baseOpts = prev?.Train ?? new TrainOptions();
            string? modelPreset = pr.GetValue(preset), modelConfig = pr.GetValue(config);
            int modelDepth = pr.GetValue(depth) ?? 0;
            bool modelGiven = modelPreset != null || modelConfig != null || modelDepth > 0;
            string styleText = pr.GetValue(style) ?? (prev?.Style == ModelStyle.Llama ? "llama" : "gpt2");
            var o = baseOpts with
            {
                BatchTokens = pr.GetValue(batchTokens) ?? baseOpts.BatchTokens,
                MicroBatch = pr.GetValue(micro) ?? baseOpts.MicroBatch,
                SeqLen = pr.GetValue(seq) ?? baseOpts.SeqLen,
                Lr = pr.GetValue(lr) ?? baseOpts.Lr,
                MinLr = pr.GetValue(minLr) ?? (pr.GetValue(lr) is double && prev != null ? -1 : baseOpts.MinLr),
                WarmupSteps = pr.GetValue(warmup) ?? baseOpts.WarmupSteps,
                Schedule = pr.GetValue(schedule) is string sc ? sc switch
                {
                    "cosine" => ScheduleKind.Cosine,
                    "wsd" => ScheduleKind.Wsd,
                    _ => throw new UserFacingException($"--schedule must be cosine or wsd, got '{sc}'"),
                } : baseOpts.Schedule,
                DecayFraction = pr.GetValue(decayFrac) ?? baseOpts.DecayFraction,
                Steps = pr.GetValue(steps) ?? (prev != null ? baseOpts.Steps : pr.GetValue(minutes) is > 0 ? 0 : baseOpts.Steps),
                Minutes = pr.GetValue(minutes) ?? baseOpts.Minutes,
                AdamW = baseOpts.AdamW with
                {
                    WeightDecay = pr.GetValue(wd) ?? baseOpts.AdamW.WeightDecay,
                    Beta1 = pr.GetValue(beta1) ?? baseOpts.AdamW.Beta1,
                    Beta2 = pr.GetValue(beta2) ?? baseOpts.AdamW.Beta2,
                },
                GradClip = pr.GetValue(clip) ?? baseOpts.GradClip,
                EvalEvery = pr.GetValue(evalEvery) ?? baseOpts.EvalEvery,
                EvalBatches = pr.GetValue(evalBatches) ?? baseOpts.EvalBatches,
                SampleEvery = pr.GetValue(sampleEvery) ?? baseOpts.SampleEvery,
                SampleTokens = pr.GetValue(sampleTokens) ?? baseOpts.SampleTokens,
                SaveEvery = pr.GetValue(saveEvery) ?? baseOpts.SaveEvery,
                KeepCheckpoints = pr.GetValue(keep) ?? baseOpts.KeepCheckpoints,
                Seed = pr.GetValue(seed) ?? baseOpts.Seed,
                MaxBadSteps = pr.GetValue(maxBad) ?? baseOpts.MaxBadSteps,
                AlignToDocuments = pr.GetValue(align) ?? baseOpts.AlignToDocuments,
                Bf16 = pr.GetValue(bf16) ?? baseOpts.Bf16,
                CheckpointActivations = pr.GetValue(ckptActs) ?? baseOpts.CheckpointActivations,
                Bf16Activations = pr.GetValue(bf16Acts) ?? baseOpts.Bf16Activations,
            };
            var s = new RunSettings
            {
                DataDir = pr.GetValue(data) ?? prev?.DataDir ?? throw new UserFacingException("--data is required (the directory of train_*.bin token shards)"),
                OutDir = outDir,
                Preset = modelGiven ? modelPreset : prev?.Preset,
                Depth = modelGiven ? modelDepth : prev?.Depth ?? 0,
                ConfigFile = modelGiven ? modelConfig : prev?.ConfigFile,
                Style = styleText switch
                {
                    "gpt2" => ModelStyle.Gpt2,
                    "llama" => ModelStyle.Llama,
                    _ => throw new UserFacingException($"--style must be gpt2 or llama, got '{styleText}'"),
                },
                TokenizerPath = pr.GetValue(tokenizer) ?? prev?.TokenizerPath,
                Train = o,
            };
            int t = pr.GetValue(threads);
            if (t < 0) throw new UserFacingException($"--threads must be ≥ 0 (0 = one per core), got {t}");
            WorkerPool.Configure(t);
            double peak = MachinePeak.FmaGflops(WorkerPool.Threads) * 1e9;
            return Run(s, isResume, peak, pr.GetValue(plain) || !AnsiConsole.Profile.Capabilities.Interactive);
        }));
        return cmd;
    }

    private static int Run(RunSettings s, bool resume, double peak, bool plain)
    {
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cts.IsCancellationRequested) return; // a second Ctrl-C kills the process
            e.Cancel = true;
            cts.Cancel();
            AnsiConsole.MarkupLine("[yellow]interrupt: finishing this step and saving a checkpoint (Ctrl-C again to abort without saving)[/]");
        };
        Console.CancelKeyPress += onCancel;
        // SIGTERM (kill, Slurm time limits, container stop) also ends with a checkpoint.
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
        {
            ctx.Cancel = true;
            cts.Cancel();
        });
        AnsiConsole.MarkupLine($"[grey]training into {Markup.Escape(Path.GetFullPath(s.OutDir))} on {WorkerPool.Threads} thread(s); machine peak {peak / 1e9:F0} GFLOP/s ({MachinePeak.Isa})[/]");
        try
        {
            TrainResult r;
            ILanguageModel Factory(ModelConfig c, ulong seed)
            {
                var m = ModelFactory.Create(c, seed);
                if (s.Train.Bf16 || s.Train.CheckpointActivations || s.Train.Bf16Activations)
                    ModelFactory.SetExecutionModes(m, s.Train.Bf16, s.Train.CheckpointActivations, s.Train.Bf16Activations);
                return m;
            }
            void Message(string m) => AnsiConsole.MarkupLine(m.StartsWith("warning", StringComparison.Ordinal) || m.StartsWith("error", StringComparison.Ordinal)
                ? $"[yellow]{Markup.Escape(m)}[/]" : Markup.Escape(m));
            if (plain)
            {
                long lastPrint = 0;
                r = TrainRun.Execute(s, resume, Factory, Message, st =>
                {
                    long now = Environment.TickCount64;
                    if (now - lastPrint < 2000 && st.Step != st.TotalSteps && st.Step != 1) return;
                    lastPrint = now;
                    Console.WriteLine(Describe(st));
                }, peak, cts.Token);
            }
            else
            {
                r = null!;
                AnsiConsole.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 20 }, new PercentageColumn(), new SpinnerColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask("starting", maxValue: Math.Max(1, s.Train.Steps));
                        r = TrainRun.Execute(s, resume, Factory, Message, st =>
                        {
                            task.MaxValue = st.TotalSteps;
                            task.Value = st.Step;
                            task.Description = Markup.Escape(Short(st));
                        }, peak, cts.Token);
                        task.StopTask();
                    });
            }
            string where = r.LastCheckpoint != null ? $"; checkpoint {r.LastCheckpoint}" : "";
            switch (r.Status)
            {
                case TrainStatus.Completed: AnsiConsole.MarkupLine(Markup.Escape($"done: {r.Step} steps{where}")); return 0;
                case TrainStatus.TimeBudget: AnsiConsole.MarkupLine(Markup.Escape($"time budget reached at step {r.Step}{where}")); return 0;
                case TrainStatus.Interrupted: AnsiConsole.MarkupLine(Markup.Escape($"interrupted at step {r.Step}{where}; continue with --resume --out {s.OutDir}")); return 130;
                default: throw new UserFacingException($"training diverged at step {r.Step}: too many non-finite losses in a row; the last good checkpoint is the newest step_*/ in {s.OutDir}");
            }
        }
        finally { Console.CancelKeyPress -= onCancel; }
    }

    // The progress bar's line: step, loss, tokens/s, MFU, ETA (lr and grad norm are in metrics.jsonl).
    private static string Short(StepReport st)
    {
        string eta = double.IsFinite(st.EtaSeconds) ? TimeSpan.FromSeconds(Math.Round(st.EtaSeconds)).ToString("c", Ci) : "?";
        string mfu = double.IsFinite(st.Mfu) ? (st.Mfu * 100).ToString("F1", Ci) + "%" : "n/a";
        return $"{st.Step}/{st.TotalSteps} loss {(st.Skipped ? "skip" : st.Loss.ToString("F3", Ci))} {st.TokensPerSecond.ToString("N0", Ci)} tok/s MFU {mfu} ETA {eta}";
    }

    private static string Describe(StepReport st)
    {
        string eta = double.IsFinite(st.EtaSeconds) ? TimeSpan.FromSeconds(Math.Round(st.EtaSeconds)).ToString("c", Ci) : "?";
        string mfu = double.IsFinite(st.Mfu) ? (st.Mfu * 100).ToString("F1", Ci) + "%" : "n/a";
        return $"step {st.Step}/{st.TotalSteps}  loss {(st.Skipped ? "skipped" : st.Loss.ToString("F4", Ci))}  lr {st.Lr.ToString("0.###e+0", Ci)}  " +
               $"|g| {st.GradNorm.ToString("F3", Ci)}  {st.TokensPerSecond.ToString("N0", Ci)} tok/s  MFU {mfu}  ETA {eta}";
    }
}
