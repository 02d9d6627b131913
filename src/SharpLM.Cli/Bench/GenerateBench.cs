// `sharplm bench generate`: generation speed of a model preset with seeded random weights, against this
// machine's limits measured in the same run.
//   prefill_<T>: prompt tokens/s of one batched pass over a T-token prompt; baseline = the f32 FMA peak
//     expressed in tokens/s (peak FLOP/s ÷ FLOPs per prompt token: 2 per matrix weight of the blocks plus
//     causal attention 2·2·C per visible key, averaged over the prompt; the LM head runs on the last token only;
//     with --experts, a token's matrix weights are its k experts' and the router's).
//   decode_b<B>: tokens/s of one-token steps for B sequences at once (after a prefill); baseline = the
//     bandwidth bound B × copy GB/s ÷ bytes of weights one step reads (every matrix once, whatever B is),
//     so ratio = decode tokens/s ÷ bound tokens/s.
// Weights are random (the speed does not depend on their values); the KV cache is not counted as weight bytes.
// On a shared machine wall-clock rates follow the other processes' load, so each case is also reported per
// CPU-second (`..._per_cpu_time`: tokens per process CPU-second × threads, which equals the wall-clock rate on
// an idle machine) against the FMA peak and copy bandwidth measured the same way (MachinePeak.*PerCpuSecond);
// idle worker threads spinning at a barrier count as CPU time, so these ratios err low.
using System.CommandLine;
using SharpLM.Cli.Commands;
using SharpLM.Models.Config;
using SharpLM.Models.Inference;
using SharpLM.Tensors.Threading;

namespace SharpLM.Cli.Bench;

internal static class GenerateBench
{
    /// <summary>The `sharplm bench generate` verb.</summary>
    public static Command Create()
    {
        var cmd = new Command("generate", "Prefill and decode tokens/s of a model preset (random weights) against the FMA peak and the memory-bandwidth bound.");
        var json = BenchCommands.JsonOption();
        var threads = BenchCommands.ThreadsOption();
        var preset = new Option<string>("--preset") { Description = $"Model preset: {string.Join(", ", ModelConfig.PresetNames)}.", DefaultValueFactory = _ => "gpt2-124m" };
        var dtype = new Option<string>("--dtype") { Description = "Weight format: f32, bf16 or int8 (Q8_0-like blocks of 32).", DefaultValueFactory = _ => "f32" };
        var prompt = new Option<int>("--prompt") { Description = "Prompt length of the prefill case.", DefaultValueFactory = _ => 512 };
        var steps = new Option<int>("--steps") { Description = "Decode steps timed per sample.", DefaultValueFactory = _ => 32 };
        var batches = new Option<string>("--batches") { Description = "Comma-separated decode batch sizes.", DefaultValueFactory = _ => "1,8" };
        var block = new Option<int>("--int8-block") { Description = "int8 scale block along a row (multiple of 32; 0 = one scale per row).", DefaultValueFactory = _ => 32 };
        var experts = new Option<int>("--experts") { Description = "Turn a Llama preset into a mixture of experts with this many experts per layer (0 = the preset's dense MLP).", DefaultValueFactory = _ => 0 };
        var topK = new Option<int>("--experts-per-token") { Description = "Experts each token runs when --experts > 0.", DefaultValueFactory = _ => 2 };
        foreach (var o in new Option[] { json, threads, preset, dtype, prompt, steps, batches, block, experts, topK }) cmd.Options.Add(o);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            int t = pr.GetValue(threads);
            if (t < 0) throw new UserFacingException($"--threads must be ≥ 0 (0 = one per core), got {t}");
            WorkerPool.Configure(t);
            var bs = pr.GetValue(batches)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(s => int.TryParse(s, out int b) && b > 0 ? b : throw new UserFacingException($"--batches: '{s}' is not a positive integer")).ToArray();
            int p = pr.GetValue(prompt), n = pr.GetValue(steps);
            if (p < 1 || n < 1) throw new UserFacingException($"--prompt and --steps must be ≥ 1, got {p} and {n}");
            var cfg = ModelConfig.Preset(pr.GetValue(preset)!);
            int e = pr.GetValue(experts), k = pr.GetValue(topK);
            if (e < 0 || e > 0 && (k < 1 || k > e)) throw new UserFacingException($"--experts must be ≥ 0 and --experts-per-token in 1..experts, got {e} and {k}");
            if (e > 0)
            {
                if (cfg.Style != ModelStyle.Llama) throw new UserFacingException($"--experts needs a Llama preset (mixture-of-experts MLPs are SwiGLU), got {pr.GetValue(preset)}");
                cfg = (cfg with { NumExperts = e, ExpertsPerToken = k }).Validate();
            }
            Run(new BenchReport(pr.GetValue(json)), WorkerPool.Threads, cfg, WeightFormats.Parse(pr.GetValue(dtype)!), p, n, bs, pr.GetValue(block));
            return 0;
        }));
        return cmd;
    }

    private static void Run(BenchReport report, int threads, ModelConfig cfg, WeightFormat fmt, int promptLen, int steps, int[] batches, int int8Block)
    {
        string f = WeightFormats.Name(fmt) + (fmt == WeightFormat.Int8 ? int8Block <= 0 ? "row" : $"b{int8Block}" : "")
            + (cfg.NumExperts > 0 ? $"_moe{cfg.NumExperts}x{cfg.ExpertsPerToken}" : "");
        double copy = MachinePeak.CopyGBs(threads);
        double fma = MachinePeak.FmaGflops(threads);
        report.Add(new BenchRow("generate", $"copy_bw_{threads}t", threads, copy, "GB/s"));
        report.Add(new BenchRow("generate", $"fma_peak_{threads}t", threads, fma, "GFLOP/s"));
        double copyCpu = MachinePeak.CopyGBsPerCpuSecond(threads), fmaCpu = MachinePeak.FmaGflopsPerCpuSecond(threads);
        report.Add(new BenchRow("generate", $"copy_bw_{threads}t_per_cpu_time", threads, copyCpu, "GB/s"));
        report.Add(new BenchRow("generate", $"fma_peak_{threads}t_per_cpu_time", threads, fmaCpu, "GFLOP/s"));
        using var model = new InferenceModel(cfg, new RandomSource(1), fmt, int8Block);
        long bytes = model.WeightBytesPerToken;
        double bound = copy * 1e9 / bytes;
        report.Add(new BenchRow("generate", $"weights_{f}", threads, bytes / 1e6, "MB/token", Note: $"bandwidth bound {bound:F1} tokens/s at batch 1"));
        var rng = new Random(7);
        int V = cfg.VocabSize;

        // Prefill: one pass over the prompt (logits of the last token only).
        {
            int T = Math.Min(promptLen, cfg.MaxPositions);
            using var cache = model.CreateCache(1, T);
            var tok = Enumerable.Range(0, T).Select(_ => rng.Next(V)).ToArray();
            var seq = new int[T]; var pos = Enumerable.Range(0, T).ToArray();
            var logits = new float[cfg.PaddedVocabSize];
            double s = BenchTiming.MedianSeconds(() => model.Forward(cache, tok, seq, pos, [T - 1], logits), repeats: 3, warmup: 1);
            double C = cfg.HiddenSize, kv = cfg.NumKvHeads * cfg.HeadDim;
            double mlp = (cfg.Style == ModelStyle.Gpt2 ? 2 : 3) * C * cfg.IntermediateSize;
            if (cfg.NumExperts > 0) mlp = cfg.ExpertsPerToken * mlp + C * cfg.NumExperts; // the token's experts and the router
            double blockWeights = cfg.NumLayers * (C * (C + 2 * kv) + C * C + mlp);
            double flopsPerToken = 2 * blockWeights + cfg.NumLayers * 4 * C * (T + 1) / 2.0;
            report.Add(new BenchRow("generate", $"prefill_{T}_{f}", threads, T / s, "tokens/s", $"fma_peak_{threads}t_tokens/s", fma * 1e9 / flopsPerToken));
            var c0 = Environment.CpuUsage.TotalTime;
            for (int r = 0; r < 3; r++) model.Forward(cache, tok, seq, pos, [T - 1], logits);
            double cpu = (Environment.CpuUsage.TotalTime - c0).TotalSeconds;
            report.Add(new BenchRow("generate", $"prefill_{T}_{f}_per_cpu_time", threads, 3.0 * T / Math.Max(1e-9, cpu) * threads, "tokens/s",
                $"fma_peak_{threads}t_per_cpu_time_tokens/s", fmaCpu * 1e9 / flopsPerToken));
        }

        // Decode: B sequences after a short prompt, one token each per step.
        int prompt = Math.Min(64, cfg.MaxPositions / 2);
        foreach (int B in batches)
        {
            using var cache = model.CreateCache(B, prompt + 4 * steps + 8);
            var logits = new float[(long)B * cfg.PaddedVocabSize];
            var seqs = Enumerable.Range(0, B).ToArray();
            var rows = Enumerable.Range(0, B).ToArray();
            var tok = new int[B]; var pos = new int[B];
            void Prefill()
            {
                for (int b = 0; b < B; b++) cache.SetLength(b, 0);
                var pt = Enumerable.Range(0, prompt * B).Select(_ => rng.Next(V)).ToArray();
                var ps = Enumerable.Range(0, prompt * B).Select(i => i % prompt).ToArray();
                var sq = Enumerable.Range(0, prompt * B).Select(i => i / prompt).ToArray();
                model.Forward(cache, pt, sq, ps, [], logits);
            }
            void Decode()
            {
                for (int i = 0; i < steps; i++)
                {
                    for (int b = 0; b < B; b++) { tok[b] = rng.Next(V); pos[b] = cache.Length(b); }
                    model.Forward(cache, tok, seqs, pos, rows, logits);
                }
            }
            var times = new double[5];
            var cpus = new double[5];
            Prefill(); Decode(); // warm-up
            for (int r = 0; r < times.Length; r++)
            {
                Prefill();
                var c0 = Environment.CpuUsage.TotalTime;
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                Decode();
                times[r] = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;
                cpus[r] = (Environment.CpuUsage.TotalTime - c0).TotalSeconds;
            }
            Array.Sort(cpus);
            Array.Sort(times);
            double tps = (double)B * steps / times[times.Length / 2];
            report.Add(new BenchRow("generate", $"decode_b{B}_{f}", threads, tps, "tokens/s", $"bandwidth_bound_b{B}_tokens/s", B * bound));
            report.Add(new BenchRow("generate", $"decode_b{B}_{f}_per_cpu_time", threads, (double)B * steps / Math.Max(1e-9, cpus[cpus.Length / 2]) * threads, "tokens/s",
                $"bandwidth_bound_b{B}_per_cpu_time_tokens/s", B * copyCpu * 1e9 / bytes));
        }
        report.Flush($"generate {f} ({threads} threads)");
    }
}
