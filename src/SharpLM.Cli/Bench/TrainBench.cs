// `sharplm bench train`: full training steps (forward + backward + global-norm clip + AdamW, exactly what
// the Trainer runs per micro-batch) of a model on random tokens, timed over --steps after 2 warmup steps.
// Reports the median step time, tokens/s, achieved GFLOP/s against this machine's FMA peak measured in the
// same run (the ratio is MFU; FLOPs per token = 6·N + 12·L·T·C, ModelConfig.TrainingFlopsPerToken, the llm.c
// convention) and peak memory (the process's peak resident set, VmHWM, plus the managed heap and the bytes
// allocated per step). With --vs-torch it then runs the PyTorch peer (/work/shared/peers/torch, or
// $SHARPLM_TORCH_PEER: `./run.sh gpt_bench.py --config a|b|c`, eager f32 or bf16 autocast, same threads) in
// the same invocation, polls its peak RSS, and prints our ÷ its ratios. The peer's shapes are fixed per
// config, so --vs-torch needs ours to match one: a = --preset gpt2-124m --batch 4 --seq 64;
// b = --depth 6 --vocab 4096 --batch 16 --seq 256 (--context 256 makes the position table match too).
// Main line: value tokens/s, unit "tokens/s", baseline the torch peer. A row `…_activations` gives the bytes
// the model holds for activations (TransformerModel.ActivationBytes). With --compare-modes the same shapes run
// once per memory mode — f32, --bf16-activations, --checkpoint-activations — each in its own child process (so
// each has its own peak resident set), and rows give s/step, activation MiB and peak RSS per mode with the f32
// run as baseline.
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SharpLM.Cli.Commands;
using SharpLM.Models.Config;
using SharpLM.Models.Modeling;
using SharpLM.Tensors.Threading;
using SharpLM.Training.Pretraining;

namespace SharpLM.Cli.Bench;

internal static class TrainBench
{
    /// <summary>The `sharplm bench train` verb.</summary>
    public static Command Create()
    {
        var cmd = new Command("train", "Training-step speed (tokens/s, MFU vs the FMA peak measured in the same run, peak memory) of a model preset or depth; --vs-torch runs the PyTorch peer in the same invocation and prints the ratio.");
        var preset = new Option<string?>("--preset") { Description = $"Model preset ({string.Join(", ", ModelConfig.PresetNames)}); default gpt2-124m unless --depth is given." };
        var depth = new Option<int?>("--depth") { Description = "Depth dial instead of a preset: L layers, width 64·L." };
        var style = new Option<string>("--style") { Description = "Family for --depth: gpt2 or llama.", DefaultValueFactory = _ => "gpt2" };
        var vocab = new Option<int?>("--vocab") { Description = "Vocabulary size for --depth (default 50257)." };
        var context = new Option<int?>("--context") { Description = "Context length (position table) for --depth (default: --seq)." };
        var batch = new Option<int>("--batch") { Description = "Rows per step (B).", DefaultValueFactory = _ => 4 };
        var seq = new Option<int>("--seq") { Description = "Tokens per row (T).", DefaultValueFactory = _ => 64 };
        var steps = new Option<int>("--steps") { Description = "Timed steps (after 2 warmup steps); the median is reported.", DefaultValueFactory = _ => 10 };
        var bf16 = new Option<bool>("--bf16") { Description = "bf16 weight copies and activations for the GEMMs (f32 master weights); the peer uses bf16 autocast." };
        var ckpt = new Option<bool>("--checkpoint-activations") { Description = "Recompute each block's activations in backward (less memory, more FLOPs)." };
        var bf16Acts = new Option<bool>("--bf16-activations") { Description = "Save the activations backward reads as bf16 (f32 arithmetic and master weights)." };
        var compare = new Option<bool>("--compare-modes") { Description = "Run f32, --bf16-activations and --checkpoint-activations each in a child process and report s/step, activation memory and peak RSS against f32." };
        var rounds = new Option<int>("--rounds") { Description = "With --compare-modes: cycle through the modes this many times and report medians (spreads machine noise over every mode).", DefaultValueFactory = _ => 1 };
        var vsTorch = new Option<bool>("--vs-torch") { Description = "Also run the PyTorch peer (gpt_bench.py) on the same shapes and threads and print ratios." };
        var profile = new Option<bool>("--profile") { Description = "Also print the timed steps' wall time per kind of work (GEMMs, attention, norms, LM head, optimizer, …) as seconds per step and share of the step." };
        var json = BenchCommands.JsonOption();
        var threads = BenchCommands.ThreadsOption();
        foreach (var o in new Option[] { preset, depth, style, vocab, context, batch, seq, steps, bf16, ckpt, vsTorch, profile, json, threads }) cmd.Options.Add(o);
        cmd.Options.Add(bf16Acts);
        cmd.Options.Add(compare);
        cmd.Options.Add(rounds);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            int t = pr.GetValue(threads);
            if (t < 0) throw new UserFacingException($"--threads must be ≥ 0 (0 = one per core), got {t}");
            WorkerPool.Configure(t);
            int B = pr.GetValue(batch), T = pr.GetValue(seq), n = pr.GetValue(steps);
            if (B <= 0 || T <= 0 || n <= 0) throw new UserFacingException($"--batch, --seq and --steps must be > 0, got {B}, {T}, {n}");
            string? p = pr.GetValue(preset);
            int d = pr.GetValue(depth) ?? 0;
            if (p != null && d > 0) throw new UserFacingException("give --preset or --depth, not both");
            ModelConfig cfg;
            string name;
            if (d > 0)
            {
                var st = pr.GetValue(style) switch
                {
                    "gpt2" => ModelStyle.Gpt2,
                    "llama" => ModelStyle.Llama,
                    var s => throw new UserFacingException($"--style must be gpt2 or llama, got '{s}'"),
                };
                int v = pr.GetValue(vocab) ?? 50257;
                cfg = ModelConfig.FromDepth(d, st, vocabSize: v, contextLength: pr.GetValue(context) ?? T);
                name = $"{pr.GetValue(style)}-d{d}-v{v}";
            }
            else
            {
                name = p ?? "gpt2-124m";
                cfg = ModelConfig.Preset(name);
            }
            if (T > cfg.MaxPositions) throw new UserFacingException($"--seq {T} exceeds the model's context of {cfg.MaxPositions}");
            string? peerConfig = null;
            if (pr.GetValue(vsTorch))
                peerConfig = PeerConfigFor(cfg, B, T) ?? throw new UserFacingException(
                    "--vs-torch needs the peer's shapes: config a = --preset gpt2-124m --batch 4 --seq 64; config b = --depth 6 --vocab 4096 --batch 16 --seq 256");
            if (pr.GetValue(compare))
            {
                if (pr.GetValue(ckpt) || pr.GetValue(bf16Acts) || peerConfig != null)
                    throw new UserFacingException("--compare-modes runs the modes itself: leave out --checkpoint-activations, --bf16-activations and --vs-torch");
                int rn = pr.GetValue(rounds);
                if (rn <= 0) throw new UserFacingException($"--rounds must be > 0, got {rn}");
                CompareModes(new BenchReport(pr.GetValue(json)), $"{name}_B{B}_T{T}{(pr.GetValue(bf16) ? "_bf16" : "")}", WorkerPool.Threads, rn,
                    cfg, B, T, n, pr.GetValue(bf16));
                return 0;
            }
            Run(new BenchReport(pr.GetValue(json)), cfg, name, B, T, n, pr.GetValue(bf16), pr.GetValue(ckpt), peerConfig, pr.GetValue(profile), pr.GetValue(bf16Acts));
            return 0;
        }));
        return cmd;
    }

    /// <summary>The peer config ("a" or "b") whose shapes equal ours, or null.</summary>
    internal static string? PeerConfigFor(ModelConfig c, int B, int T)
    {
        bool gpt2 = c.Style == ModelStyle.Gpt2 && c.IntermediateSize == 4 * c.HiddenSize && c.TieWordEmbeddings;
        if (gpt2 && c.NumLayers == 12 && c.NumHeads == 12 && c.HiddenSize == 768 && c.PaddedVocabSize == 50304 && B == 4 && T == 64) return "a";
        if (gpt2 && c.NumLayers == 6 && c.NumHeads == 6 && c.HiddenSize == 384 && c.PaddedVocabSize == 4096 && B == 16 && T == 256) return "b";
        return null;
    }

    private static void Run(BenchReport report, ModelConfig cfg, string name, int B, int T, int steps, bool bf16, bool ckptActs, string? peerConfig, bool profile = false, bool bf16Acts = false)
    {
        int threads = WorkerPool.Threads;
        double peak = MachinePeak.FmaGflops(threads);
        string caseName = $"{name}_B{B}_T{T}{(bf16 ? "_bf16" : "")}{(ckptActs ? "_ckpt" : "")}{(bf16Acts ? "_bf16act" : "")}";

        var tokens = new int[steps + 2][];
        var rng = new Random(1337);
        for (int i = 0; i < tokens.Length; i++)
        {
            tokens[i] = new int[B * (T + 1)];
            for (int j = 0; j < tokens[i].Length; j++) tokens[i][j] = rng.Next(cfg.VocabSize);
        }

        var times = new double[steps];
        var optTimes = new double[steps];
        long allocated, actBytes;
        double cpuPerStep;
        double loss0, lossN;
        using (var model = ModelFactory.Create(cfg, 1337))
        {
            ModelFactory.SetExecutionModes(model, bf16, ckptActs, bf16Acts);
            using var opt = new AdamWOptimizer(model.Parameters, new AdamWSettings(0.9, 0.95, 1e-8, 0.1));
            opt.ZeroGrad();
            double optSeconds = 0;
            float Step(int[] rows)
            {
                float loss = model.ForwardBackward(rows, B, T, 1f);
                long o0 = Stopwatch.GetTimestamp();
                double norm = opt.GradNorm();
                bool discarded = model.DiscardGradients(); // as the Trainer does
                opt.Step(6e-4, SharpLM.Tensors.Kernels.Optim.ClipScale(norm, 1.0), clearGrads: !discarded);
                optSeconds = Stopwatch.GetElapsedTime(o0).TotalSeconds;
                return loss;
            }
            loss0 = Step(tokens[0]);
            Step(tokens[1]);
            long a0 = GC.GetAllocatedBytesForCurrentThread();
            lossN = 0;
            StepProfile.Enabled = profile;
            StepProfile.Reset();
            var cpu0 = Environment.CpuUsage.TotalTime;
            for (int i = 0; i < steps; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                lossN = Step(tokens[i + 2]);
                times[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                optTimes[i] = optSeconds;
            }
            allocated = (GC.GetAllocatedBytesForCurrentThread() - a0) / steps;
            actBytes = model is TransformerModel tm ? tm.ActivationBytes : 0;
            cpuPerStep = (Environment.CpuUsage.TotalTime - cpu0).TotalSeconds / steps;
            StepProfile.Enabled = false;
        }
        // The peak again, after the timed steps: at process start the runtime's background compiler can hold a
        // core for a while (a 2-thread peak of 240 GFLOP/s instead of 520 was read there). The larger is the peak.
        peak = Math.Max(peak, MachinePeak.FmaGflops(threads));
        long rssBytes = PeakRss(Environment.ProcessId);
        long gcHeap = GC.GetGCMemoryInfo().HeapSizeBytes;
        var sorted = (double[])times.Clone();
        Array.Sort(sorted);
        double med = sorted[steps / 2];
        Array.Sort(optTimes);
        double optMed = optTimes[steps / 2];
        double tps = B * T / med;
        double gflops = cfg.TrainingFlopsPerToken(T) * tps / 1e9;

        PeerResult? peer = peerConfig != null ? RunPeer(peerConfig, threads, steps, bf16) : null;
        string peerName = $"torch_{(bf16 ? "bf16" : "f32")}_{threads}t";
        string ci(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);
        string note = $"params {cfg.ParameterCount()}, loss {ci(loss0, "F3")}→{ci(lossN, "F3")}, median of {steps} steps";
        if (peer is { } pp) note += $"; torch {pp.Version} {pp.StatsOver}, torch median {ci(pp.MedianSeconds, "F3")} s";
        report.Add(new BenchRow("train", caseName, threads, tps, "tokens/s", peer != null ? peerName : null, peer?.TokensPerSecond, note));
        report.Add(new BenchRow("train", caseName + "_step", threads, med, "s/step", peer != null ? peerName : null, peer?.MedianSeconds,
            $"min {ci(sorted[0], "F3")} s, max {ci(sorted[^1], "F3")} s; of the median, grad norm + AdamW {ci(optMed, "F3")} s"));
        report.Add(new BenchRow("train", caseName + "_cpu", threads, cpuPerStep, "cpu-s/step", "wall_step", times.Sum() / steps,
            "process CPU time per timed step (all threads, spin-waits included): on a shared machine, where wall time counts other processes' turns, the figure to compare work by; ratio = CPU per wall second"));
        report.Add(new BenchRow("train", caseName + "_flops", threads, gflops, "GFLOP/s", $"fma_peak_{threads}t", peak,
            $"ratio = MFU; {ci(cfg.TrainingFlopsPerToken(T) / 1e6, "F1")} MFLOP/token ({MachinePeak.Isa})"));
        report.Add(new BenchRow("train", caseName + "_peak_rss", threads, rssBytes / 1048576.0, "MiB", peer?.PeakRssBytes > 0 ? peerName + "_peak_rss" : null,
            peer?.PeakRssBytes > 0 ? peer.PeakRssBytes / 1048576.0 : null,
            $"managed heap {ci(gcHeap / 1048576.0, "F1")} MiB, allocated per step {allocated} B; ratio < 1 = less memory than the peer"));
        report.Add(new BenchRow("train", caseName + "_activations", threads, actBytes / 1048576.0, "MiB", null, null,
            "activation buffers held by the model for (B, T): saved activations, working set, gradient scratch"));
        if (profile)
        {
            // The phases cover ForwardBackward; the optimizer is timed by the bench itself. Shares are of the mean step.
            double mean = times.Sum() / steps;
            foreach (var ph in Enum.GetValues<StepPhase>())
            {
                double s = StepProfile.Seconds(ph) / steps;
                report.Add(new BenchRow("train", $"{caseName}_phase_{ph.ToString().ToLowerInvariant()}", threads, s, "s/step", "mean_step", mean, "ratio = share of the mean step"));
            }
            double opt = optTimes.Sum() / steps;
            report.Add(new BenchRow("train", $"{caseName}_phase_optimizer", threads, opt, "s/step", "mean_step", mean, "grad norm + clip + AdamW; ratio = share of the mean step"));
        }
        report.Flush($"bench train: {caseName}, {threads} thread(s)");
    }

    // Re-runs this command once per memory mode in a child process (--json) for each mode's activation MiB and
    // peak RSS, then times the modes in this process on three models stepping in turn (f32, bf16 activations,
    // checkpointing, f32, …), so that a shared machine's load drifts over all of them alike; reports medians with
    // the f32 mode as baseline (ratio < 1: faster / smaller).
    private static void CompareModes(BenchReport report, string caseName, int threads, int rounds, ModelConfig cfg, int B, int T, int steps, bool bf16)
    {
        string[] argv = Environment.GetCommandLineArgs();
        string host = Environment.ProcessPath ?? throw new UserFacingException("--compare-modes: cannot find the running executable");
        bool viaDotnet = Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase);
        var args = new List<string>();
        if (viaDotnet) args.Add(argv[0]);
        for (int i = 1; i < argv.Length; i++)
        {
            if (argv[i] is "--compare-modes" or "--json") continue;
            if (argv[i] is "--threads" or "--rounds") { i++; continue; }
            args.Add(argv[i]);
        }
        args.Add("--json");
        args.Add("--threads"); args.Add(threads.ToString(CultureInfo.InvariantCulture));
        (string Mode, string? Flag)[] modes = [("f32", null), ("bf16act", "--bf16-activations"), ("ckpt", "--checkpoint-activations")];
        var runs = new Dictionary<string, List<(double Step, double Tps, double Act, double Rss)>>();
        foreach (var (mode, _) in modes) runs[mode] = [];
        for (int run = 0; run < rounds * modes.Length; run++)
        {
            var (mode, flag) = modes[run % modes.Length];
            var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) psi.ArgumentList.Add(a);
            if (flag != null) psi.ArgumentList.Add(flag);
            using var proc = Process.Start(psi) ?? throw new UserFacingException($"--compare-modes: could not start {host}");
            var err = proc.StandardError.ReadToEndAsync();
            string outText = proc.StandardOutput.ReadToEnd();
            proc.WaitForExit();
            if (proc.ExitCode != 0) throw new UserFacingException($"--compare-modes: the {mode} run failed with exit code {proc.ExitCode}: {Tail(err.Result + outText)}");
            double step = double.NaN, tps = double.NaN, act = double.NaN, rss = double.NaN;
            foreach (var line in outText.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                if (!line.TrimStart().StartsWith('{')) continue;
                using var doc = JsonDocument.Parse(line);
                var r = doc.RootElement;
                string c = r.GetProperty("case").GetString() ?? "";
                double v = r.GetProperty("value").GetDouble();
                if (c.EndsWith("_step", StringComparison.Ordinal)) step = v;
                else if (c.EndsWith("_activations", StringComparison.Ordinal)) act = v;
                else if (c.EndsWith("_peak_rss", StringComparison.Ordinal)) rss = v;
                else if (r.GetProperty("unit").GetString() == "tokens/s") tps = v;
            }
            if (double.IsNaN(step) || double.IsNaN(act) || double.IsNaN(rss)) throw new UserFacingException($"--compare-modes: the {mode} run printed no step/activation/RSS rows: {Tail(outText)}");
            runs[mode].Add((step, tps, act, rss));
        }
        static double Median(IEnumerable<double> xs) { var a = xs.Order().ToArray(); return a[a.Length / 2]; }
        var results = new Dictionary<string, (double Step, double Tps, double Act, double Rss)>();
        foreach (var (mode, list) in runs)
            results[mode] = (Median(list.Select(r => r.Step)), Median(list.Select(r => r.Tps)), Median(list.Select(r => r.Act)), Median(list.Select(r => r.Rss)));
        var f = results["f32"];
        var inTurn = TimeInTurn(cfg, B, T, steps * rounds, bf16);
        foreach (var (mode, _) in modes)
        {
            var r = results[mode];
            bool baseRow = mode == "f32";
            string? b = baseRow ? null : "f32";
            double own = r.Step;
            double step = inTurn[mode];
            report.Add(new BenchRow("train", $"{caseName}_{mode}_step", threads, step, "s/step", b, baseRow ? null : inTurn["f32"],
                $"median of {steps * rounds} steps taken in turn with the other modes in one process; alone in its child: {own.ToString("F3", CultureInfo.InvariantCulture)} s/step; ratio < 1 = faster than f32"));
            report.Add(new BenchRow("train", $"{caseName}_{mode}_activations", threads, r.Act, "MiB", b, baseRow ? null : f.Act, "activation buffers (TransformerModel.ActivationBytes)"));
            report.Add(new BenchRow("train", $"{caseName}_{mode}_peak_rss", threads, r.Rss, "MiB", b, baseRow ? null : f.Rss, "peak resident set of the child process (VmHWM)"));
        }
        report.Flush($"bench train --compare-modes: {caseName}, {threads} thread(s), one child process per mode and round");
    }

    // Median s/step of each mode over `steps` rounds in which the three models each take one training step.
    private static Dictionary<string, double> TimeInTurn(ModelConfig cfg, int B, int T, int steps, bool bf16)
    {
        string[] names = ["f32", "bf16act", "ckpt"];
        var models = new ILanguageModel[3];
        var opts = new AdamWOptimizer[3];
        var times = new double[3][];
        var rng = new Random(1337);
        var rows = new int[B * (T + 1)];
        try
        {
            for (int m = 0; m < 3; m++)
            {
                models[m] = ModelFactory.Create(cfg, 1337);
                ModelFactory.SetExecutionModes(models[m], bf16, m == 2, m == 1);
                opts[m] = new AdamWOptimizer(models[m].Parameters, new AdamWSettings(0.9, 0.95, 1e-8, 0.1));
                opts[m].ZeroGrad();
                times[m] = new double[steps];
            }
            for (int i = -2; i < steps; i++) // two warm-up rounds
            {
                for (int j = 0; j < rows.Length; j++) rows[j] = rng.Next(cfg.VocabSize);
                for (int m = 0; m < 3; m++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    models[m].ForwardBackward(rows, B, T, 1f);
                    opts[m].Step(6e-4, SharpLM.Tensors.Kernels.Optim.ClipScale(opts[m].GradNorm(), 1.0));
                    if (i >= 0) times[m][i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                }
            }
        }
        finally
        {
            for (int m = 0; m < 3; m++) { opts[m]?.Dispose(); models[m]?.Dispose(); }
        }
        var r = new Dictionary<string, double>();
        for (int m = 0; m < 3; m++) { Array.Sort(times[m]); r[names[m]] = times[m][steps / 2]; }
        return r;
    }

    private sealed record PeerResult(double MedianSeconds, double TokensPerSecond, long PeakRssBytes, string Version, string StatsOver);

    private static PeerResult RunPeer(string config, int threads, int steps, bool bf16)
    {
        string dir = Environment.GetEnvironmentVariable("SHARPLM_TORCH_PEER") ?? "/work/shared/peers/torch";
        string script = Path.Combine(dir, "run.sh");
        if (!File.Exists(script)) throw new UserFacingException($"{script}: PyTorch peer not found (set SHARPLM_TORCH_PEER to its directory; run its setup.sh once)");
        var psi = new ProcessStartInfo("bash") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, "gpt_bench.py", "--config", config, "--threads", threads.ToString(CultureInfo.InvariantCulture), "--steps", steps.ToString(CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        if (bf16) psi.ArgumentList.Add("--bf16");
        using var proc = Process.Start(psi) ?? throw new UserFacingException($"could not start {script}");
        var stdout = proc.StandardOutput.ReadToEndAsync();
        var stderr = proc.StandardError.ReadToEndAsync();
        long rss = 0;
        while (!proc.WaitForExit(100)) rss = Math.Max(rss, PeakRss(proc.Id)); // run.sh execs python: same pid
        proc.WaitForExit();
        string outText = stdout.Result;
        if (proc.ExitCode != 0) throw new UserFacingException($"{script} gpt_bench.py --config {config} failed with exit code {proc.ExitCode}: {Tail(stderr.Result)}");
        string? line = outText.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.TrimStart().StartsWith('{'));
        if (line == null) throw new UserFacingException($"{script}: no JSON result line in the peer's output: {Tail(outText)}");
        using var doc = JsonDocument.Parse(line);
        var r = doc.RootElement;
        double Num(string f) => r.TryGetProperty(f, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble()
            : throw new UserFacingException($"{script}: peer result has no numeric field '{f}': {line}");
        string Str(string f) => r.TryGetProperty(f, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "?";
        return new PeerResult(Num("median_s"), Num("tok_s_median"), rss, Str("torch"), Str("stats_over"));
    }

    private static string Tail(string s) => s.Length <= 400 ? s.Trim() : "…" + s[^400..].Trim();

    /// <summary>VmHWM (peak resident set) of a process in bytes, from /proc; 0 where unavailable.</summary>
    internal static long PeakRss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
                }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return 0;
    }
}
