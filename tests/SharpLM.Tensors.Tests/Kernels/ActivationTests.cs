using SharpLM.Tensors.Kernels;
using static SharpLM.Tensors.Tests.Kernels.KernelAssert;

namespace SharpLM.Tensors.Tests.Kernels;

public sealed unsafe class ActivationTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(33)]
    [InlineData(255)]
    [InlineData(20011)]
    public void ForwardAndBackwardMatchDoubleFormulas(int n)
    {
        var x = Randn(n, n, 3f); var b = Randn(n, n + 1); var g = Randn(n, n + 2);
        if (n > 4) { x[0] = -12f; x[1] = 12f; x[2] = 0f; x[3] = -40f; }
        var gelu = new float[n]; var silu = new float[n]; var swi = new float[n];
        var dGelu = Randn(n, 5); var dSilu = Randn(n, 6); var da = Randn(n, 7); var db = Randn(n, 8);
        var dGelu0 = (float[])dGelu.Clone(); var dSilu0 = (float[])dSilu.Clone(); var da0 = (float[])da.Clone(); var db0 = (float[])db.Clone();
        fixed (float* px = x, pb = b, pg = g, p1 = gelu, p2 = silu, p3 = swi, q1 = dGelu, q2 = dSilu, q3 = da, q4 = db)
        {
            Activations.GeluForward(p1, px, n);
            Activations.SiluForward(p2, px, n);
            Activations.SwiGluForward(p3, px, pb, n);
            Activations.GeluBackward(q1, px, pg, n);
            Activations.SiluBackward(q2, px, pg, n);
            Activations.SwiGluBackward(q3, q4, px, pb, pg, n);
        }
        for (int i = 0; i < n; i++)
        {
            double xi = x[i];
            Near(Activations.GeluReference(xi), gelu[i], $"gelu({xi})");
            Near(Activations.SiluReference(xi), silu[i], $"silu({xi})");
            Near(Activations.SiluReference(xi) * b[i], swi[i], $"swiglu({xi})");
            Near(dGelu0[i] + Activations.GeluGradReference(xi) * g[i], dGelu[i], $"dgelu({xi})");
            Near(dSilu0[i] + Activations.SiluGradReference(xi) * g[i], dSilu[i], $"dsilu({xi})");
            Near(da0[i] + Activations.SiluGradReference(xi) * b[i] * g[i], da[i], $"dswiglu_a({xi})");
            Near(db0[i] + Activations.SiluReference(xi) * g[i], db[i], $"dswiglu_b({xi})");
        }
    }

    private static void Near(double e, float a, string what)
    {
        if (!(Math.Abs(a - e) <= 2e-6 + 2e-6 * Math.Abs(e))) Assert.Fail($"{what}: {a:R} vs {e:R}");
    }

    [Fact]
    public void ReferenceDerivativesMatchFiniteDifferences()
    {
        for (double x = -6; x <= 6; x += 0.173)
        {
            double h = 1e-5;
            Assert.Equal((Activations.GeluReference(x + h) - Activations.GeluReference(x - h)) / (2 * h), Activations.GeluGradReference(x), 8);
            Assert.Equal((Activations.SiluReference(x + h) - Activations.SiluReference(x - h)) / (2 * h), Activations.SiluGradReference(x), 8);
        }
        // hand-worked values: gelu_tanh(1) = 0.5·(1 + tanh(√(2/π)·1.044715)) = 0.8411919906; silu(1) = 1/(1+e⁻¹) = 0.7310585786
        Assert.Equal(0.8411919906, Activations.GeluReference(1), 9);
        Assert.Equal(0.7310585786, Activations.SiluReference(1), 9);
    }
}
