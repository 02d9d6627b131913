// `sharplm bench kernels`: throughput of the non-GEMM kernels at transformer shapes, each as a ratio to
// this machine's limit measured in the same run — memory-bound kernels (norms, GELU, SwiGLU, softmax,
// embedding, cross-entropy over logits, AdamW) in GB/s against MachinePeak.CopyGBs(threads) (baseline
// "copy_bw_<threads>t"), attention in GFLOP/s against MachinePeak.FmaGflops(threads).
// Bytes are counted honestly: every array a kernel reads once plus every array it writes (read-modify-
// write gradients count twice); a row re-read while it sits in cache counts once. Attention FLOPs are the
// algorithmic count of causal attention (forward 2 matmuls, backward 5, over the T(T+1)/2 visible pairs),
// not the extra recomputation this implementation does. Sizes are chosen so data is far out of cache.
using System.CommandLine;
using SharpLM.Cli.Commands;
using SharpLM.Tensors;
using SharpLM.Tensors.Kernels;
using SharpLM.Tensors.Threading;

namespace SharpLM.Cli.Bench;

internal static unsafe class KernelsBench
{
    /// <summary>The `sharplm bench kernels` verb.</summary>
    public static Command Create()
    {
        var cmd = new Command("kernels", "Throughput of norms, activations, softmax, embedding, cross-entropy, AdamW (GB/s vs copy bandwidth) and attention (GFLOP/s vs FMA peak).");
        var json = BenchCommands.JsonOption();
        var threads = BenchCommands.ThreadsOption();
        var only = new Option<string?>("--only") { Description = "Run only cases whose name contains this text (e.g. adamw, attention)." };
        cmd.Options.Add(json); cmd.Options.Add(threads); cmd.Options.Add(only);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            int t = pr.GetValue(threads);
            if (t < 0) throw new UserFacingException($"--threads must be ≥ 0 (0 = one per core), got {t}");
            WorkerPool.Configure(t);
            Run(new BenchReport(pr.GetValue(json)), WorkerPool.Threads, pr.GetValue(only));
            return 0;
        }));
        return cmd;
    }

    private static void Run(BenchReport report, int threads, string? only)
    {
        bool Want(string name) => only is null || name.Contains(only, StringComparison.OrdinalIgnoreCase);
        double copy = MachinePeak.CopyGBs(threads);
        string copyName = $"copy_bw_{threads}t";
        report.Add(new BenchRow("kernels", copyName, threads, copy, "GB/s"));
        // Per-CPU-time rates (bytes ÷ CPU seconds of this process ÷ threads) are given in each note:
        // on a shared machine their ratio survives time-sharing that the wall-clock figures do not.
        double copyCpu = MachinePeak.CopyGBsPerCpuSecond(threads) * 1e9;
        void Bw(string name, double bytes, Action body, int repeats = 7)
        {
            BenchTiming.WarmUp(body);
            double s = BenchTiming.MedianSeconds(body, repeats, warmup: 0);
            int reps = Math.Max(3, (int)Math.Ceiling(0.4 / s)); // ≥ 0.4 s: CPU time is counted in scheduler ticks
            double cpu = CpuRate(() => { for (int i = 0; i < reps; i++) body(); }, reps * bytes, threads);
            string note = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"per-cpu-time {cpu / 1e9:0.00} GB/s vs copy {copyCpu / 1e9:0.00} GB/s = {cpu / copyCpu:0.000}");
            report.Add(new BenchRow("kernels", name, threads, bytes / s / 1e9, "GB/s", copyName, copy, note));
        }

        const int C = 768;
        if (Want("layernorm") || Want("rmsnorm") || Want("gelu") || Want("swiglu") || Want("softmax") || Want("embedding"))
        {
            const int BT = 16384; long n = (long)BT * C, a = n * 4; // one activation array: 50 MB
            using var x = Filled(n, 1); using var o = Filled(n, 2); using var g = Filled(n, 3); using var dx = Filled(n, 4);
            using var w = Filled(C, 5); using var b = Filled(C, 6); using var dw = Filled(C, 7); using var db = Filled(C, 8);
            using var mean = Filled(BT, 9); using var rstd = Filled(BT, 10);
            float* px = P(x), po = P(o), pg = P(g), pdx = P(dx), pw = P(w), pb = P(b), pdw = P(dw), pdb = P(db), pm = P(mean), pr = P(rstd);
            long partial = (long)WorkerPool.ChunkCount(BT, 16) * 2 * C * 4; // per-chunk dweight/dbias partials (written, then read)
            string sh = $"BT{BT}_C{C}";
            if (Want("layernorm"))
            {
                Bw($"layernorm_fwd_{sh}", 2 * a + 2 * C * 4 + 2 * BT * 4, () => Norms.LayerNormForward(po, pm, pr, px, pw, pb, BT, C));
                Bw($"layernorm_bwd_{sh}", 4 * a + C * 4 + 2 * BT * 4 + 2 * partial + 4 * C * 4, () => Norms.LayerNormBackward(pdx, pdw, pdb, pg, px, pw, pm, pr, BT, C));
            }
            if (Want("rmsnorm"))
            {
                Bw($"rmsnorm_fwd_{sh}", 2 * a + C * 4 + BT * 4, () => Norms.RmsNormForward(po, pr, px, pw, BT, C));
                Bw($"rmsnorm_bwd_{sh}", 4 * a + C * 4 + BT * 4 + partial + 2 * C * 4, () => Norms.RmsNormBackward(pdx, pdw, pg, px, pw, pr, BT, C));
            }
            if (Want("gelu"))
            {
                Bw($"gelu_fwd_{n}", 2 * a, () => Activations.GeluForward(po, px, n));
                Bw($"gelu_bwd_{n}", 4 * a, () => Activations.GeluBackward(pdx, px, pg, n));
            }
            if (Want("swiglu"))
            {
                using var y = Filled(n, 29); float* py = P(y);
                Bw($"swiglu_fwd_{n}", 3 * a, () => Activations.SwiGluForward(po, px, pg, n));
                Bw($"swiglu_bwd_{n}", 7 * a, () => Activations.SwiGluBackward(pdx, po, px, pg, py, n)); // reads a, b, dout, da, db; writes da, db
            }
            if (Want("softmax"))
            {
                const int cols = 1024; int rows = (int)(n / cols);
                Bw($"softmax_fwd_BT{rows}_C{cols}", 2 * a, () => Softmax.Forward(po, px, rows, cols));
                Bw($"softmax_bwd_BT{rows}_C{cols}", 4 * a, () => Softmax.Backward(pdx, po, pg, rows, cols));
            }
            if (Want("embedding"))
            {
                const int V = 50304;
                using var wte = Filled((long)V * C, 11); using var ids = new NativeBuffer((long)BT * 4);
                int* pid = (int*)ids.Pointer; var rnd = new Random(12);
                for (int i = 0; i < BT; i++) pid[i] = rnd.Next(V);
                float* pwte = P(wte);
                Bw($"embedding_fwd_{sh}", BT * 4 + 2 * a, () => Embedding.Forward(po, pid, pwte, BT, C, V));
                Bw($"embedding_bwd_{sh}", BT * 4 + 3 * a, () => Embedding.Backward(pwte, pg, pid, BT, C, V));
            }
        }

        if (Want("cross_entropy"))
        {
            const int rows = 256, V = 50304; long n = (long)rows * V, a = n * 4; // 51 MB of logits
            using var x = Filled(n, 13); using var d = Filled(n, 14); using var lse = Filled(rows, 15); using var loss = Filled(rows, 16);
            using var tg = new NativeBuffer(rows * 4);
            int* pt = (int*)tg.Pointer; var rnd = new Random(17);
            for (int i = 0; i < rows; i++) pt[i] = i % 7 == 0 ? CrossEntropy.DefaultIgnoreIndex : rnd.Next(V);
            float* px = P(x), pd = P(d), pl = P(lse), plo = P(loss);
            Bw($"cross_entropy_fwd_BT{rows}_V{V}", a + rows * 12, () => CrossEntropy.Forward(plo, pl, px, pt, rows, V));
            Bw($"cross_entropy_bwd_BT{rows}_V{V}", 3 * a + rows * 8, () => CrossEntropy.Backward(pd, px, pl, pt, rows, V));
        }

        if (Want("adamw"))
        {
            const long N = 124_475_904; // GPT-2 small parameter count (padded vocabulary)
            using var p = Filled(N, 18); using var g = Filled(N, 19); using var m = new NativeBuffer(N * 4); using var v = new NativeBuffer(N * 4);
            float* pp = P(p), pg = P(g), pm = (float*)m.Pointer, pv = (float*)v.Pointer;
            int step = 0;
            Bw($"adamw_{N}", N * 4 * 7.0, () => Optim.AdamW(pp, pg, pm, pv, N, 1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, ++step), repeats: 5);
            Bw($"grad_norm_{N}", N * 4.0, () => Optim.GlobalNorm(pg, N), repeats: 5);
        }

        if (Want("attention"))
        {
            double peak = MachinePeak.FmaGflops(threads);
            string peakName = $"fma_f32_{MachinePeak.Isa}_{threads}t";
            double peakCpu = MachinePeak.FmaGflopsPerCpuSecond(threads);
            // GFLOP per CPU-second per thread against the FMA peak measured the same way (survives time-sharing).
            string FlopNote(Action body, double seconds, double flops, string tail)
            {
                int reps = Math.Max(2, (int)Math.Ceiling(0.4 / seconds));
                double cpu = CpuRate(() => { for (int i = 0; i < reps; i++) body(); }, reps * flops, threads) / 1e9;
                return string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"per-cpu-time {cpu:0.0} GFLOP/s vs fma {peakCpu:0.0} GFLOP/s = {cpu / peakCpu:0.000}{tail}");
            }
            report.Add(new BenchRow("kernels", peakName, threads, peak, "GFLOP/s"));
            foreach (int T in new[] { 256, 1024 })
            {
                const int B = 4, NH = 12, HS = 64;
                long nq = (long)B * T * NH * HS;
                using var q = Filled(nq, 20); using var k = Filled(nq, 21); using var vv = Filled(nq, 22); using var o = Filled(nq, 23);
                using var g = Filled(nq, 24); using var dq = Filled(nq, 25); using var dk = Filled(nq, 26); using var dvb = Filled(nq, 27);
                using var lse = Filled((long)B * NH * T, 28);
                float* pq = P(q), pk = P(k), pv = P(vv), po = P(o), pg = P(g), pdq = P(dq), pdk = P(dk), pdv = P(dvb), pl = P(lse);
                double pairs = (double)B * NH * T * (T + 1) / 2;
                double fwdFlops = 4.0 * HS * pairs, bwdFlops = 10.0 * HS * pairs;
                string sh = $"B{B}_T{T}_NH{NH}_HS{HS}";
                double sf = BenchTiming.MedianSeconds(() => Attention.Forward(po, pl, pq, pk, pv, B, T, NH, NH, HS), 5, 1);
                report.Add(new BenchRow("kernels", $"attention_fwd_{sh}", threads, fwdFlops / sf / 1e9, "GFLOP/s", peakName, peak,
                    FlopNote(() => Attention.Forward(po, pl, pq, pk, pv, B, T, NH, NH, HS), sf, fwdFlops, "")));
                double sb = BenchTiming.MedianSeconds(() => Attention.Backward(pdq, pdk, pdv, pg, pq, pk, pv, po, pl, B, T, NH, NH, HS), 3, 1);
                report.Add(new BenchRow("kernels", $"attention_bwd_{sh}", threads, bwdFlops / sb / 1e9, "GFLOP/s", peakName, peak,
                    FlopNote(() => Attention.Backward(pdq, pdk, pdv, pg, pq, pk, pv, po, pl, B, T, NH, NH, HS), sb, bwdFlops,
                        "; algorithmic FLOPs (5 matmuls); the kernel recomputes QK and dO·V once more")));
            }
        }
        report.Flush("kernels");
    }

    private static float* P(NativeBuffer b) => (float*)b.Pointer;

    /// <summary>Work units per CPU-second per thread of <paramref name="body"/> (process CPU time, all threads).</summary>
    private static double CpuRate(Action body, double work, int threads)
    {
        var c0 = Environment.CpuUsage.TotalTime;
        body();
        return work / Math.Max(1e-9, (Environment.CpuUsage.TotalTime - c0).TotalSeconds) * threads;
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
