// AdamWOptimizer against independent references: the engine's Optim.AdamW kernel (bit for bit when the
// clip factor is 1), torch's AdamW + clip_grad_norm_ written out here in double, the global norm as a plain
// double sum, and the weight-decay groups by name. Also the tiny test model's gradients against central
// finite differences in double, so the loop tests below stand on a checked model.
using SharpLM.Models.Modeling;
using SharpLM.Tensors;
using SharpLM.Training.Pretraining;
using KOptim = SharpLM.Tensors.Kernels.Optim;

namespace SharpLM.Training.Tests.Pretraining;

public sealed unsafe class AdamWOptimizerTests
{
    private static Parameter Param(string name, float[] value, float[] grad, params int[] shape) =>
        new(name, Tensor.FromArray(value, shape), Tensor.FromArray(grad, shape));

    private static float[] Rand(int n, int seed, double scale = 1)
    {
        var r = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(scale * (r.NextDouble() * 2 - 1));
        return a;
    }

    [Fact]
    public void WithoutClippingTheUpdateIsBitIdenticalToTheEngineKernel()
    {
        const int n = 16 * 1000 + 13; // vector body and scalar tail
        var p0 = Rand(n, 1); var g = Rand(n, 2, 0.1);
        var w = Param("h.0.mlp.c_fc.weight", p0, g, 1, n);
        using var opt = new AdamWOptimizer([w], new AdamWSettings(0.9, 0.95, 1e-8, 0.1));
        var p = (float[])p0.Clone(); var m = new float[n]; var v = new float[n];
        for (int step = 1; step <= 3; step++)
        {
            var gs = Rand(n, 10 + step, 0.1);
            gs.CopyTo(w.Grad.AsSpan<float>());
            opt.Step(1e-3 * step);
            fixed (float* pp = p, pg = gs, pm = m, pv = v) KOptim.AdamW(pp, pg, pm, pv, n, (float)(1e-3 * step), 0.9f, 0.95f, 1e-8f, 0.1f, step);
            Assert.True(w.Value.AsSpan<float>().SequenceEqual(p), $"step {step}: weights differ from Optim.AdamW");
            Assert.All(w.Grad.ToArray(), x => Assert.Equal(0f, x)); // gradients zeroed for the next step
        }
        Assert.Equal(3, opt.Updates);
    }

    [Fact]
    public void StepWithoutClearingUpdatesTheSameAndLeavesTheGradients()
    {
        const int n = 16 * 100 + 9; // vector body and scalar tail
        var g = Rand(n, 3, 0.1);
        var a = Param("h.0.attn.c_proj.weight", Rand(n, 4), (float[])g.Clone(), 1, n);
        var b = Param("h.0.attn.c_proj.weight", Rand(n, 4), (float[])g.Clone(), 1, n);
        using var cleared = new AdamWOptimizer([a], new AdamWSettings());
        using var kept = new AdamWOptimizer([b], new AdamWSettings());
        cleared.Step(1e-3, 0.5f);
        kept.Step(1e-3, 0.5f, clearGrads: false);
        Assert.True(a.Value.AsSpan<float>().SequenceEqual(b.Value.AsSpan<float>()), "weights differ");
        Assert.All(a.Grad.ToArray(), x => Assert.Equal(0f, x));
        Assert.Equal(g, b.Grad.ToArray()); // untouched: the model discards them itself
    }

    [Fact]
    public void ClippedStepWithDecayGroupsMatchesTorchFormulasInDouble()
    {
        // torch: clip_grad_norm_(params, 1.0) then AdamW(lr, betas, eps, wd) with wd=0 for the no-decay group.
        var wv = Rand(40, 3); var wg = Rand(40, 4, 2.0);
        var bv = Rand(8, 5); var bg = Rand(8, 6, 2.0);
        var w = Param("h.0.attn.c_attn.weight", wv, wg, 5, 8);
        var b = Param("h.0.attn.c_attn.bias", bv, bg, 8);
        using var opt = new AdamWOptimizer([w, b], new AdamWSettings(0.9, 0.95, 1e-8, 0.1));
        Assert.Equal(new[] { true, false }, opt.Decays);

        double sq = 0;
        foreach (float x in wg) sq += (double)x * x;
        foreach (float x in bg) sq += (double)x * x;
        double norm = Math.Sqrt(sq);
        Assert.Equal(norm, opt.GradNorm(), 1e-6 * norm); // float lanes within 256-element runs
        double clip = Math.Min(1.0, 1.0 / (norm + 1e-6));
        Assert.True(clip < 0.5); // the case really clips
        opt.Step(0.01, KOptim.ClipScale(opt.GradNorm(), 1.0));

        void Check(float[] v0, float[] g0, double wd, Tensor got)
        {
            var a = got.ToArray();
            for (int i = 0; i < v0.Length; i++)
            {
                double g = g0[i] * clip, p = v0[i] * (1 - 0.01 * wd);
                double m = 0.1 * g, v = 0.05 * g * g;            // first step from zero moments
                double want = p - 0.01 * (m / 0.1) / (Math.Sqrt(v / 0.05) + 1e-8);
                Assert.True(Math.Abs(a[i] - want) <= 2e-6 * Math.Max(1, Math.Abs(want)), $"[{i}] {a[i]} vs {want}");
            }
        }
        Check(wv, wg, 0.1, w.Value);
        Check(bv, bg, 0.0, b.Value);
    }

    [Fact]
    public void AdjacentParametersOfOneGroupUpdateAsOneRunWithTheSameResult()
    {
        // Three parameters in one flat buffer (as a model holding all weights in one allocation):
        // two decayed matrices side by side merge into one run; the bias stays its own run.
        var vals = Rand(6 + 6 + 3, 7); var grads = Rand(15, 8, 3.0);
        using var flatV = Tensor.FromArray(vals, 15); using var flatG = Tensor.FromArray(grads, 15);
        Parameter View(string name, int off, params int[] shape)
        {
            int n = shape.Aggregate(1, (a, b) => a * b);
            return new Parameter(name, flatV.Narrow(0, off, n).Reshape(shape), flatG.Narrow(0, off, n).Reshape(shape));
        }
        var flat = new[] { View("h.0.attn.c_attn.weight", 0, 2, 3), View("h.0.mlp.c_fc.weight", 6, 3, 2), View("h.0.mlp.c_fc.bias", 12, 3) };
        var apart = new[]
        {
            Param("h.0.attn.c_attn.weight", vals[..6], grads[..6], 2, 3), Param("h.0.mlp.c_fc.weight", vals[6..12], grads[6..12], 3, 2),
            Param("h.0.mlp.c_fc.bias", vals[12..], grads[12..], 3),
        };
        using var o1 = new AdamWOptimizer(flat, new AdamWSettings());
        using var o2 = new AdamWOptimizer(apart, new AdamWSettings());
        Assert.Equal(2, o1.SegmentCount);
        Assert.Equal(3, o2.SegmentCount);
        Assert.Equal(o2.GradNorm(), o1.GradNorm(), 1e-6 * o2.GradNorm());
        o1.Step(0.01, 0.5f);
        o2.Step(0.01, 0.5f);
        Assert.Equal(apart.SelectMany(p => p.Value.ToArray()), flatV.ToArray());
    }

    [Fact]
    public void NonFiniteGradientGivesNonFiniteNorm()
    {
        var g = new float[100]; g[57] = float.NaN;
        var w = Param("head.weight", new float[100], g, 10, 10);
        using var opt = new AdamWOptimizer([w], new AdamWSettings());
        Assert.False(double.IsFinite(opt.GradNorm()));
        opt.ZeroGrad();
        Assert.Equal(0.0, opt.GradNorm());
    }

    [Fact]
    public void DuplicateOrBadParametersAreRefused()
    {
        var a = Param("x.weight", new float[4], new float[4], 2, 2);
        var e = Assert.Throws<ArgumentException>(() => new AdamWOptimizer([a, a], new AdamWSettings()));
        Assert.Contains("x.weight", e.Message);
        Assert.Throws<ArgumentException>(() => new AdamWOptimizer([a], new AdamWSettings(Beta1: 1.0)));
    }

    [Fact]
    public void TinyModelGradientsMatchFiniteDifferences()
    {
        using var m = new TinyLm(vocab: 7, width: 3, seed: 5);
        int[] rows = [1, 4, 2, 6, 6, 0, 3, 3, 5, ILanguageModel.IgnoreIndex];  // B=2, T=4 (one ignored target)
        float loss = m.ForwardBackward(rows, 2, 4, 1f);
        Assert.Equal(m.LossF64(rows, 2, 4), loss, 1e-5);
        foreach (var p in m.Parameters)
        {
            var val = p.Value.AsSpan<float>();
            var grad = p.Grad.ToArray();
            for (int i = 0; i < val.Length; i++)
            {
                float x0 = val[i];
                val[i] = x0 + 1e-2f; float hp = val[i] - x0; double lp = m.LossF64(rows, 2, 4);
                val[i] = x0 - 1e-2f; float hm = x0 - val[i]; double lm = m.LossF64(rows, 2, 4);
                val[i] = x0;
                double fd = (lp - lm) / (hp + hm);
                Assert.True(Math.Abs(fd - grad[i]) <= 1e-4 + 1e-3 * Math.Abs(fd), $"{p.Name}[{i}]: analytic {grad[i]} vs finite difference {fd}");
            }
        }
    }
}
