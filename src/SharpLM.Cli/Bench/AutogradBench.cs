// `sharplm bench autograd`: what the tape costs. Each case runs the same forward + backward twice —
// through autograd Ops on a Tape (recording, arena allocation, node dispatch) and by calling the
// kernels directly on preallocated buffers — and reports autograd steps/s with the direct-kernel
// steps/s of the same run as its baseline (ratio 1 = no overhead). Cases: a linear layer (GEMM-bound:
// overhead should vanish), a chain of small element-wise ops (dispatch-bound: the per-op cost shows),
// and cross-entropy from primitives (log-softmax + gather + mean) against the fused kernel (what an
// unfused loss costs, not tape overhead alone). Medians of timed samples; the machine is shared.
using System.CommandLine;
using SharpLM.Cli.Commands;
using SharpLM.Tensors;
using SharpLM.Tensors.Autograd;
using SharpLM.Tensors.Kernels;
using SharpLM.Tensors.Threading;
using AG = SharpLM.Tensors.Autograd.Autograd;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace SharpLM.Cli.Bench;

internal static unsafe class AutogradBench
{
    /// <summary>The `sharplm bench autograd` verb.</summary>
    public static Command Create()
    {
        var cmd = new Command("autograd", "Autograd overhead: forward + backward through the tape vs the same kernels called directly (steps/s, ratio 1 = no overhead).");
        var json = BenchCommands.JsonOption();
        var threads = BenchCommands.ThreadsOption();
        cmd.Options.Add(json); cmd.Options.Add(threads);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            int t = pr.GetValue(threads);
            if (t < 0) throw new UserFacingException($"--threads must be ≥ 0 (0 = one per core), got {t}");
            WorkerPool.Configure(t);
            var report = new BenchReport(pr.GetValue(json));
            Linear(report, WorkerPool.Threads);
            SmallChain(report, WorkerPool.Threads);
            CrossEntropyFromPrimitives(report, WorkerPool.Threads);
            report.Flush("autograd overhead");
            return 0;
        }));
        return cmd;
    }

    private static void Row(BenchReport report, string name, int threads, Action tape, Action direct)
    {
        double sd = BenchTiming.MedianSecondsPerCall(direct, 0.05, 9);
        double st = BenchTiming.MedianSecondsPerCall(tape, 0.05, 9);
        string note = $"tape {st * 1e6:0.0} us/step, direct {sd * 1e6:0.0} us/step, overhead {(st - sd) * 1e6:0.0} us";
        report.Add(new BenchRow("autograd", name, threads, 1 / st, "steps/s", "direct_kernels", 1 / sd, note));
    }

    /// <summary>y = x·Wᵀ, loss = Σ y (seeded dy = 1): forward GEMM, dx = dy·W, dW += dyᵀ·x.</summary>
    private static void Linear(BenchReport report, int threads)
    {
        const int M = 256, K = 768, N = 768;
        using var xt = Tensor.FromArray(Fill(M * K, 1), M, K); using var wt = Tensor.FromArray(Fill(N * K, 2), N, K);
        using var x = Variable.Parameter(xt); using var w = Variable.Parameter(wt);
        using var tape = new Tape();
        using var seed = Tensor.Zeros(DType.F32, M, N); seed.AsSpan<float>().Fill(1f);
        void Tape()
        {
            using var _ = AG.UseTape(tape);
            Ops.MatMul(x, w, transB: true).Backward(seed);
            tape.Reset();
        }
        var y = new float[M * N]; var dx = new float[M * K]; var dw = new float[N * K]; var dy = new float[M * N]; Array.Fill(dy, 1f);
        var xa = xt.ToArray(); var wa = wt.ToArray();
        void Direct()
        {
            Gemm.Run(false, true, M, N, K, xa, wa, y);
            Gemm.Run(false, false, M, K, N, dy, wa, dx, accumulate: true);
            Gemm.Run(true, false, N, K, M, dy, xa, dw, accumulate: true);
        }
        Row(report, $"linear_{M}x{K}x{N}_fwd_bwd", threads, Tape, Direct);
    }

    /// <summary>loss = Σ (exp(x) ⊙ x + x) / n over 1024 elements: five tiny ops, dispatch-bound.</summary>
    private static void SmallChain(BenchReport report, int threads)
    {
        const int n = 1024;
        using var xt = Tensor.FromArray(Fill(n, 3), n);
        using var x = Variable.Parameter(xt);
        using var tape = new Tape();
        void Tape()
        {
            using var _ = AG.UseTape(tape);
            Ops.Mean(Ops.Exp(x) * x + x).Backward();
            tape.Reset();
        }
        var xa = xt.ToArray(); var e = new float[n]; var y = new float[n]; var g = new float[n];
        void Direct()
        {
            TensorPrimitives.Exp(xa, e);
            TensorPrimitives.MultiplyAdd(e, xa, xa, y);
            _ = TensorPrimitives.Sum(y) / n;
            // d/dx [(eˣ·x + x)/n] = (eˣ·(x + 1) + 1)/n
            TensorPrimitives.Add(xa, 1f, g);
            TensorPrimitives.MultiplyAdd(e, g, 1f, g);
            TensorPrimitives.Multiply(g, 1f / n, g);
        }
        Row(report, $"elementwise_chain_{n}", threads, Tape, Direct);
    }

    /// <summary>Mean cross-entropy of (BT, V) logits: LogSoftmax + Gather + Mean on the tape vs the fused kernel.</summary>
    private static void CrossEntropyFromPrimitives(BenchReport report, int threads)
    {
        const int BT = 64, V = 50304;
        using var lt = Tensor.FromArray(Fill(BT * V, 4), BT, V);
        var targets = new int[BT]; for (int i = 0; i < BT; i++) targets[i] = i * 7919 % V;
        using var tt = Tensor.FromArray(targets, BT);
        using var logits = Variable.Parameter(lt);
        using var tape = new Tape();
        void Tape()
        {
            using var _ = AG.UseTape(tape);
            (-Ops.Mean(Ops.Gather(Ops.LogSoftmax(logits), tt))).Backward();
            tape.Reset();
        }
        var losses = new float[BT]; var lse = new float[BT]; var dl = new float[BT * V];
        float* pl = lt.Data;
        void Direct()
        {
            fixed (float* plo = losses, pls = lse, pd = dl) fixed (int* pt = targets)
            {
                CrossEntropy.Forward(plo, pls, pl, pt, BT, V);
                CrossEntropy.Backward(pd, pl, pls, pt, BT, V, 1f / BT);
            }
        }
        Row(report, $"cross_entropy_BT{BT}_V{V}_primitives_vs_fused", threads, Tape, Direct);
    }

    private static float[] Fill(int n, int seed)
    {
        var a = new float[n]; uint s = (uint)seed * 2654435761u + 1;
        for (int i = 0; i < n; i++) { s = s * 1664525u + 1013904223u; a[i] = (s >> 8) * (2f / 16777216f) - 1f; }
        return a;
    }
}
