// TransformerModel.Bf16Activations against the f32 path and against finite differences. In this mode the
// forward is the f32 forward (the bf16 copies are taken after each block), so the loss must be bit-identical;
// backward reads activations rounded to bf16 — 8 significant bits, relative rounding error ≤ u = 2⁻⁹ per
// element — so each gradient moves by a few u: a weight gradient Xᵀ·dY with X rounded is off by at most
// u·Σ|x||dy| (relative ≲ u), and the error compounds through the ≈ 4 rounded reads per block on the way
// back (norm input, GEMM input, activation input, attention q/k/v/out) over L = 2 blocks. Bounds used:
// per-tensor relative (Frobenius) difference from f32 ≤ 4 reads × 2 blocks × u = 8u ≈ 1.6% (measured: at most
// 2.1u, on the attention projections), gradients the f32 path does not route
// through rounded activations (final norm, last block's output bias) bit-identical, finite differences
// with the f32 test's tolerance, and training losses within 1% of the f32 run's over 40 AdamW steps
// (measured: at most 0.4%, the runs drifting apart slowly as the weights do).
using SharpLM.Models.Config;
using SharpLM.Models.Modeling;
using SharpLM.Tensors.Kernels;
using SharpLM.Tensors.Threading;
using static SharpLM.Models.Tests.Modeling.TransformerModelTests;

namespace SharpLM.Models.Tests.Modeling;

public sealed class Bf16ActivationTests
{
    private const double U = 1.0 / 512; // bf16 unit roundoff 2⁻⁹

    private static void ScaleUp(TransformerModel m)
    {
        var r = new Random(11);
        foreach (var p in m.Parameters)
        {
            var v = p.Value.AsSpan<float>();
            bool norm = p.Value.Rank == 1 && p.Name.Contains("weight");
            for (int i = 0; i < v.Length; i++) v[i] = (norm ? 1f : 0f) + 0.15f * (float)(r.NextDouble() * 2 - 1);
        }
    }

    private static (float Loss, float[] Grads) Step(TransformerModel m, int[] tokens, int B, int T)
    {
        m.ZeroGrad();
        float loss = m.ForwardBackward(tokens, B, T, 1f);
        return (loss, m.FlatGrads.AsSpan<float>().ToArray());
    }

    [Theory]
    [InlineData(ModelStyle.Gpt2, 4, true)]
    [InlineData(ModelStyle.Llama, 2, false)]
    [InlineData(ModelStyle.Llama, 1, true)]
    public void LossIsTheF32LossAndGradientsStayWithinBf16Bounds(ModelStyle style, int kv, bool tie)
    {
        var cfg = Tiny(style, kv, tie);
        using var m = new TransformerModel(cfg, seed: 7);
        ScaleUp(m);
        int B = 2, T = 16;
        var tokens = Tokens(B, T, cfg.VocabSize, 3);
        var (l32, g32) = Step(m, tokens, B, T);
        m.Bf16Activations = true;
        var (l16, g16) = Step(m, tokens, B, T);
        Assert.Equal(BitConverter.SingleToInt32Bits(l32), BitConverter.SingleToInt32Bits(l16));

        string[] exact = style == ModelStyle.Gpt2
            ? ["transformer.ln_f.weight", "transformer.ln_f.bias", $"transformer.h.{cfg.NumLayers - 1}.mlp.c_proj.bias"]
            : ["model.norm.weight"];
        bool anyDiff = false;
        long off = 0;
        foreach (var p in m.Parameters)
        {
            int n = (int)p.Value.Length;
            var a = g32.AsSpan((int)off, n); var b = g16.AsSpan((int)off, n);
            off += n;
            if (exact.Contains(p.Name))
            {
                Assert.True(a.SequenceEqual(b), $"{style}: {p.Name} does not read rounded activations and must equal f32 bit for bit");
                continue;
            }
            double num = 0, den = 0;
            for (int i = 0; i < n; i++) { double d = b[i] - a[i]; num += d * d; den += (double)a[i] * a[i]; }
            if (num > 0) anyDiff = true;
            double rel = Math.Sqrt(num / Math.Max(den, 1e-30));
            Assert.True(rel <= 8 * U, $"{style}: {p.Name} relative gradient difference {rel:g3} > 8·2⁻⁹");
        }
        Assert.True(anyDiff, "bf16 activations changed no gradient: the mode is not engaged");
    }

    // Per block, f32 keeps ≈ 8 activation buffers of (BT, C..I) floats; bf16 keeps the same at 2 bytes plus one
    // shared f32 working set and two residual buffers, so the total falls towards half as the depth grows
    // (8 blocks: ≈ 0.67 of f32, counting the per-step gradient scratch both modes share).
    [Theory]
    [InlineData(ModelStyle.Gpt2)]
    [InlineData(ModelStyle.Llama)]
    public void ActivationMemoryShrinks(ModelStyle style)
    {
        var cfg = Tiny(style) with { NumLayers = 8 };
        using var m = new TransformerModel(cfg, seed: 2);
        int B = 2, T = 16;
        var tokens = Tokens(B, T, cfg.VocabSize, 3);
        Step(m, tokens, B, T);
        long f32 = m.ActivationBytes;
        m.Bf16Activations = true;
        Step(m, tokens, B, T);
        Assert.True(m.ActivationBytes < 0.75 * f32, $"{style}: bf16 activations {m.ActivationBytes} B vs f32 {f32} B");
    }

    // The f32 test's tolerance (2% of the gradient + 2e-4) holds for the bf16-activation gradient too.
    [Theory]
    [InlineData(ModelStyle.Gpt2)]
    [InlineData(ModelStyle.Llama)]
    public void GradientsMatchFiniteDifferences(ModelStyle style)
    {
        var cfg = Tiny(style);
        using var m = new TransformerModel(cfg, seed: 7) { Bf16Activations = true };
        ScaleUp(m);
        int B = 2, T = 8;
        var tokens = Tokens(B, T, cfg.VocabSize, 3);
        var (_, g) = Step(m, tokens, B, T);
        int checkedCount = 0;
        long off = 0;
        foreach (var p in m.Parameters)
        {
            int n = (int)p.Value.Length;
            int best = 0;
            for (int i = 1; i < n; i++) if (Math.Abs(g[off + i]) > Math.Abs(g[off + best])) best = i;
            foreach (int i in new[] { best, n / 3 })
            {
                var v = p.Value.AsSpan<float>();
                float old = v[i];
                const float h = 1e-2f;
                v[i] = old + h; double up = m.Loss(tokens, B, T);
                v[i] = old - h; double down = m.Loss(tokens, B, T);
                v[i] = old;
                double fd = (up - down) / (2 * h), an = g[off + i];
                Assert.True(Math.Abs(fd - an) <= 0.02 * Math.Abs(an) + 2e-4, $"{style}: {p.Name}[{i}]: bf16-activation gradient {an} vs finite difference {fd}");
                checkedCount++;
            }
            off += n;
        }
        Assert.True(checkedCount >= 20);
    }

    [Theory]
    [InlineData(ModelStyle.Gpt2)]
    [InlineData(ModelStyle.Llama)]
    public unsafe void TrainingLossTracksTheF32Run(ModelStyle style)
    {
        var cfg = Tiny(style);
        const int Steps = 40, B = 2, T = 16;
        float[] Run(bool bf16)
        {
            using var m = new TransformerModel(cfg, seed: 5) { Bf16Activations = bf16 };
            var st = m.Parameters.Select(p => (p, new float[p.Value.Length], new float[p.Value.Length])).ToList();
            var losses = new float[Steps];
            for (int step = 1; step <= Steps; step++)
            {
                var tokens = Tokens(B, T, cfg.VocabSize, 100 + step % 4); // four batches in turn
                m.ZeroGrad();
                losses[step - 1] = m.ForwardBackward(tokens, B, T, 1f);
                foreach (var (p, mo, ve) in st)
                    fixed (float* a = mo, b = ve) Optim.AdamW(p.Value.Data, p.Grad.Data, a, b, p.Value.Length, 3e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, step);
            }
            return losses;
        }
        var f32 = Run(false); var bf = Run(true);
        Assert.Equal(f32[0], bf[0]); // same weights, same f32 forward
        Assert.True(f32[^1] < f32[0] - 0.5f, $"{style}: the f32 run did not learn ({f32[0]} → {f32[^1]})");
        Assert.True(bf.AsSpan().SequenceEqual(f32) == false, "bf16 run identical to f32: mode not engaged");
        for (int i = 0; i < Steps; i++)
            Assert.True(Math.Abs(bf[i] - f32[i]) <= 0.01 * f32[i], $"{style}: step {i + 1}: bf16-activation loss {bf[i]} vs f32 {f32[i]}");
    }

    [Theory]
    [InlineData(ModelStyle.Gpt2)]
    [InlineData(ModelStyle.Llama)]
    public void GradientsAreBitIdenticalForAnyThreadCount(ModelStyle style)
    {
        var cfg = Tiny(style) with { HiddenSize = 64, IntermediateSize = style == ModelStyle.Gpt2 ? 256 : 96 };
        using var m = new TransformerModel(cfg, seed: 9) { Bf16Activations = true };
        int B = 3, T = 24;
        var tokens = Tokens(B, T, cfg.VocabSize, 2);
        int prev = WorkerPool.Threads;
        try
        {
            WorkerPool.Threads = 1;
            var (l1, g1) = Step(m, tokens, B, T);
            foreach (int threads in new[] { 2, 3, 4 })
            {
                WorkerPool.Threads = threads;
                var (l, g) = Step(m, tokens, B, T);
                Assert.Equal(l1, l);
                Assert.True(g1.AsSpan().SequenceEqual(g), $"{style}: gradients differ with {threads} threads");
            }
        }
        finally { WorkerPool.Threads = prev; }
    }

    // Both halves of the bf16 mode together (bf16 weight copies in every GEMM, bf16 saved activations): the
    // bounds of the weight-copy test (TransformerModelTests.Bf16WeightCopiesStayCloseToF32) still hold.
    [Theory]
    [InlineData(ModelStyle.Gpt2)]
    [InlineData(ModelStyle.Llama)]
    public void CombinesWithBf16WeightCopies(ModelStyle style)
    {
        var cfg = Tiny(style, tie: style == ModelStyle.Gpt2);
        using var m = new TransformerModel(cfg, seed: 8);
        ScaleUp(m);
        int B = 2, T = 8;
        var tokens = Tokens(B, T, cfg.VocabSize, 5);
        var (l32, g32) = Step(m, tokens, B, T);
        m.UseBf16 = true; m.Bf16Activations = true;
        var (l16, g16) = Step(m, tokens, B, T);
        Assert.NotEqual(l32, l16);
        Assert.True(Math.Abs(l32 - l16) < 2e-2 * l32, $"{style}: bf16 loss {l16} vs f32 {l32}");
        double num = 0, den = 0;
        for (int i = 0; i < g32.Length; i++) { num += (g16[i] - g32[i]) * (double)(g16[i] - g32[i]); den += (double)g32[i] * g32[i]; }
        Assert.True(Math.Sqrt(num / den) < 2e-2, $"{style}: relative gradient difference {Math.Sqrt(num / den):g3}");
    }

    [Fact]
    public void UnsupportedOptionsAreRefusedAndCheckpointingOverrides()
    {
        using var moe = new TransformerModel(Tiny(ModelStyle.Llama) with { NumExperts = 4, ExpertsPerToken = 2 });
        var e = Assert.Throws<NotSupportedException>(() => moe.Bf16Activations = true);
        Assert.Contains("experts", e.Message);
        using var qk = new TransformerModel(Tiny(ModelStyle.Gpt2) with { QkNorm = true });
        Assert.Contains("QK-norm", Assert.Throws<NotSupportedException>(() => qk.Bf16Activations = true).Message);

        // with checkpointing the recomputed block stays f32: gradients equal the f32 run's bit for bit
        var cfg = Tiny(ModelStyle.Llama);
        using var m = new TransformerModel(cfg, seed: 4);
        var tokens = Tokens(2, 8, cfg.VocabSize, 1);
        var (_, g32) = Step(m, tokens, 2, 8);
        m.Bf16Activations = true; m.CheckpointActivations = true;
        var (_, g) = Step(m, tokens, 2, 8);
        Assert.True(g32.AsSpan().SequenceEqual(g));
    }
}
