// `sharplm bench gemm`: f32 GEMM GFLOP/s (2·M·N·K per call) at square sizes 256…4096 and at the
// transformer shapes a GPT-2-small step runs (forward x·Wᵀ, backward dy·W and dyᵀ·x accumulating into
// the weight gradient, the LM head both ways), on one thread and on every core. Each row's baseline is
// this machine's FMA peak for that thread count measured just before the case (MachinePeak), so the
// ratio is the fraction of peak under the same load; a second row per case gives the multi-thread
// speed-up over one thread. The shared machine is noisy: each figure is the median of timed samples
// and the note gives the samples' interquartile spread relative to the median. With --cold-weights the
// cases whose B is a weight read a different copy of it each call, from memory as in a training step
// (each weight is read once per pass there), not from the cache a repeated call leaves it in.
using System.CommandLine;
using System.Globalization;
using SharpLM.Cli.Commands;
using SharpLM.Tensors;
using SharpLM.Tensors.Kernels;
using SharpLM.Tensors.Threading;

namespace SharpLM.Cli.Bench;

internal static unsafe class GemmBench
{
    /// <summary>One GEMM case: C(M, N) = op(A)·op(B) over depth K.</summary>
    private sealed record Case(string Name, int M, int N, int K, bool TransA, bool TransB, bool Accumulate, bool Weight = false);

    private static readonly Case[] Squares = [.. new[] { 256, 512, 1024, 2048, 4096 }.Select(n => new Case($"{n}x{n}x{n}", n, n, n, false, false, false))];

    // GPT-2 small (C = 768, 4C = 3072, V = 50304) over 256 tokens; names give M×N×K and the layout. The
    // weights are B: forward x·Wᵀ and backward dy·W for a Linear (out, in) weight (Llama's layout), forward
    // x·W for a Conv1D (in, out) weight (GPT-2's c_attn, c_fc), and dyᵀ·x accumulating into the weight
    // gradient; the LM head both ways. Weight = true marks the cases whose B is a weight (see --cold-weights).
    private static readonly Case[] Transformer =
    [
        new("qkv_fwd_256x2304x768_nt", 256, 2304, 768, false, true, false, Weight: true),
        new("mlp_proj_fwd_256x768x3072_nt", 256, 768, 3072, false, true, false, Weight: true),
        new("qkv_fwd_256x2304x768_nn", 256, 2304, 768, false, false, false, Weight: true),
        new("mlp_fc_fwd_256x3072x768_nn", 256, 3072, 768, false, false, false, Weight: true),
        new("lm_head_fwd_256x50304x768_nt", 256, 50304, 768, false, true, false, Weight: true),
        new("qkv_bwd_dx_256x768x2304_nn", 256, 768, 2304, false, false, false, Weight: true),
        new("qkv_bwd_dx_256x768x2304_nt", 256, 768, 2304, false, true, false, Weight: true),
        new("qkv_bwd_dw_768x2304x256_tn", 768, 2304, 256, true, false, false),
        new("qkv_bwd_dw_2304x768x256_tn_acc", 2304, 768, 256, true, false, true),
        new("lm_head_bwd_dx_256x768x50304_nn", 256, 768, 50304, false, false, false, Weight: true),
        new("mlp_fc_bwd_dw_768x3072x256_tn_acc", 768, 3072, 256, true, false, true),
        new("lm_head_bwd_dw_50304x768x256_tn_acc", 50304, 768, 256, true, false, true),
        // The pretraining bench's config b (GPT-2 layout, 6 layers, C = 384, 4C = 1536, B·T = 4096 tokens):
        // 4096-row products x·W and dy·Wᵀ, and weight gradients xᵀ·dy reduced over K = 4096.
        new("d6_qkv_fwd_4096x1152x384_nn", 4096, 1152, 384, false, false, false, Weight: true),
        new("d6_mlp_proj_fwd_4096x384x1536_nn", 4096, 384, 1536, false, false, false, Weight: true),
        new("d6_qkv_bwd_dx_4096x384x1152_nt", 4096, 384, 1152, false, true, false, Weight: true),
        new("d6_qkv_bwd_dw_384x1152x4096_tn_acc", 384, 1152, 4096, true, false, true),
        new("d6_mlp_fc_bwd_dw_384x1536x4096_tn_acc", 384, 1536, 4096, true, false, true),
        new("d6_mlp_proj_bwd_dw_1536x384x4096_tn_acc", 1536, 384, 4096, true, false, true),
    ];

    /// <summary>The `sharplm bench gemm` verb.</summary>
    public static Command Create()
    {
        var cmd = new Command("gemm", "f32 GEMM GFLOP/s at sizes 256…4096 and GPT-2 transformer shapes, as a fraction of the FMA peak measured in the same run, on one thread and on all cores (with the speed-up).");
        var json = BenchCommands.JsonOption();
        var threads = BenchCommands.ThreadsOption();
        threads.Description = "Worker threads; 0 (default) measures one thread and all cores.";
        var only = new Option<string?>("--only") { Description = "Run only cases whose name contains this text (e.g. 1024, lm_head, bwd)." };
        var max = new Option<int>("--max-size") { Description = "Largest square size to run (e.g. 2048 to skip 4096³).", DefaultValueFactory = _ => 4096 };
        var cold = new Option<bool>("--cold-weights") { Description = "Cases whose B is a weight read it from memory, not the cache, as a training step does (each call takes the next of enough copies to fill 96 MB); case names get a _cold suffix." };
        cmd.Options.Add(json); cmd.Options.Add(threads); cmd.Options.Add(only); cmd.Options.Add(max); cmd.Options.Add(cold);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            int t = pr.GetValue(threads);
            if (t < 0) throw new UserFacingException($"--threads must be ≥ 0 (0 = one thread and all cores), got {t}");
            int all = Math.Max(1, Environment.ProcessorCount);
            int[] counts = t > 0 ? [t] : all > 1 ? [1, all] : [1];
            var report = new BenchReport(pr.GetValue(json));
            string? o = pr.GetValue(only);
            foreach (var c in Squares.Where(c => c.M <= pr.GetValue(max)).Concat(Transformer))
                if (o is null || c.Name.Contains(o, StringComparison.OrdinalIgnoreCase)) RunCase(report, c, counts, pr.GetValue(cold) && c.Weight);
            report.Flush("f32 GEMM");
            return 0;
        }));
        return cmd;
    }

    private static void RunCase(BenchReport report, Case c, int[] counts, bool cold)
    {
        using var a = Filled((long)c.M * c.K, 1);
        // Cold: enough copies of B that, taken in turn, each call finds its B evicted (96 MB, three times the L3).
        long bFloats = (long)c.K * c.N;
        var bs = new NativeBuffer[cold ? (int)Math.Max(1, (96L << 20) / (bFloats * 4)) : 1];
        for (int q = 0; q < bs.Length; q++) bs[q] = Filled(bFloats, 2 + q);
        string name = cold ? c.Name + "_cold" : c.Name;
        using var cc = Filled((long)c.M * c.N, 3);
        float* pa = (float*)a.Pointer, pc = (float*)cc.Pointer;
        int lda = c.TransA ? c.M : c.K, ldb = c.TransB ? c.K : c.N;
        double flops = 2.0 * c.M * c.N * c.K;
        int prev = WorkerPool.Threads;
        double? one = null;
        try
        {
            foreach (int t in counts)
            {
                WorkerPool.Threads = t;
                var (peak, _) = Clean(() => MachinePeak.FmaGflops(t), t, wantClean: 5);
                WorkerPool.Threads = t;
                int turn = 0;
                var (median, note) = Sample(() =>
                {
                    float* pb = (float*)bs[turn].Pointer;
                    turn = turn + 1 == bs.Length ? 0 : turn + 1;
                    Gemm.Run(c.TransA, c.TransB, c.M, c.N, c.K, pa, lda, pb, ldb, pc, c.N, c.Accumulate);
                }, flops, t);
                note += string.Create(CultureInfo.InvariantCulture, $" vs peak per-cpu-time {MachinePeak.FmaGflopsPerCpuSecond(t):0.0}");
                report.Add(new BenchRow("gemm", name, t, median, "GFLOP/s", $"fma_peak_{t}t", peak, note));
                if (one is { } g1 && t > 1)
                    report.Add(new BenchRow("gemm_scaling", name, t, median, "GFLOP/s", "gemm_1t", g1, note));
                if (t == 1) one = median;
            }
        }
        finally
        {
            WorkerPool.Threads = prev;
            foreach (var q in bs) q.Dispose();
        }
    }

    /// <summary>
    /// Median GFLOP/s of ~50 ms samples, preferring "clean" ones: samples in which this process got at
    /// least 90% of the CPU time its threads could use (Environment.CpuUsage against wall time × threads),
    /// i.e. other processes did not take our cores. Up to 40 samples are taken until 7 are clean; with
    /// fewer than 3 clean the median of all is used and the note says so.
    /// </summary>
    private static (double Median, string Note) Sample(Action body, double flops, int threads)
    {
        BenchTiming.WarmUp(body); // packing buffers, optimised JIT code
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        body();
        double once = Math.Max(1e-6, System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds);
        int inner = Math.Max(1, (int)(0.05 / once));
        var perCpu = new List<double>();
        var (median, note) = Clean(() =>
        {
            var c0 = Environment.CpuUsage.TotalTime;
            long s0 = System.Diagnostics.Stopwatch.GetTimestamp();
            for (int i = 0; i < inner; i++) body();
            double wall = System.Diagnostics.Stopwatch.GetElapsedTime(s0).TotalSeconds;
            perCpu.Add(flops * inner / Math.Max(1e-9, (Environment.CpuUsage.TotalTime - c0).TotalSeconds) / 1e9);
            return flops * inner / wall / 1e9;
        }, threads, once * inner > 0.5 ? 12 : 40);
        // GFLOP per CPU-second of this process (all threads, spinning included) ÷ threads: what each
        // core delivered while it ran — robust to time-sharing, blind to idle waiting.
        perCpu.Sort();
        double cpu = perCpu[perCpu.Count / 2] * threads;
        return (median, string.Create(CultureInfo.InvariantCulture, $"{note}, per-cpu-time {cpu:0.0} GFLOP/s"));
    }

    /// <summary>Runs a throughput sample repeatedly; returns the median over clean samples (see <see cref="Sample"/>) and a note.</summary>
    internal static (double Median, string Note) Clean(Func<double> sample, int threads, int maxSamples = 40, int wantClean = 7)
    {
        var clean = new List<double>(); var all = new List<double>();
        while (all.Count < maxSamples && clean.Count < wantClean)
        {
            var c0 = Environment.CpuUsage.TotalTime; long w0 = System.Diagnostics.Stopwatch.GetTimestamp();
            double v = sample();
            double cpu = (Environment.CpuUsage.TotalTime - c0).TotalSeconds, wall = System.Diagnostics.Stopwatch.GetElapsedTime(w0).TotalSeconds;
            all.Add(v);
            if (cpu >= 0.9 * threads * wall) clean.Add(v);
        }
        var use = clean.Count >= 3 ? clean : all;
        use.Sort();
        double med = use[use.Count / 2];
        double spread = (use[3 * use.Count / 4] - use[use.Count / 4]) / med;
        string note = string.Create(CultureInfo.InvariantCulture, $"{(use == clean ? "clean" : "CONTAMINATED")} {clean.Count}/{all.Count} samples, iqr/median {spread:0.000}");
        return (med, note);
    }

    // Values in [-1, 1) from a cheap hash, written to every page (so pages exist before timing).
    private static NativeBuffer Filled(long n, int seed)
    {
        var buf = new NativeBuffer(Math.Max(1, n) * 4);
        float* p = (float*)buf.Pointer;
        uint s = (uint)seed * 2654435761u + 1;
        for (long i = 0; i < n; i++) { s = s * 1664525u + 1013904223u; p[i] = (s >> 8) * (2f / 16777216f) - 1f; }
        return buf;
    }
}
