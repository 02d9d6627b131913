using SharpLM.Tensors.Kernels;
using SharpLM.Tensors.Threading;
using static SharpLM.Tensors.Tests.Kernels.KernelAssert;

namespace SharpLM.Tensors.Tests.Kernels;

public sealed unsafe class OptimTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(33)]
    [InlineData(255)]
    [InlineData(40009)]
    public void AdamWMatchesScalarTwinOverSteps(int n)
    {
        var p = Randn(n, 1); var m = new float[n]; var v = new float[n];
        var pR = (float[])p.Clone(); var mR = new float[n]; var vR = new float[n];
        for (int t = 1; t <= 5; t++)
        {
            var g = Randn(n, 10 + t, 0.1f);
            fixed (float* pp = p, pg = g, pm = m, pv = v) Optim.AdamW(pp, pg, pm, pv, n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
            Optim.AdamWReference(pR, g, mR, vR, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
        }
        Close(pR, p, 1e-7, 1e-6, "param");
        Close(mR, m, 1e-8, 1e-5, "m"); // m nears 0 where g changes sign: float cancellation, so an absolute floor
        Close(vR, v, 1e-10, 1e-5, "v");
    }

    [Fact]
    public void AdamWFirstStepHandWorked()
    {
        // t = 1: m̂ = g, v̂ = g², so p ← p(1 − lr·wd) − lr·g/(|g| + eps) = 2·(1 − 0.01·0.5) − 0.01 = 1.98
        float[] p = [2f], g = [3f], m = [0f], v = [0f];
        fixed (float* pp = p, pg = g, pm = m, pv = v) Optim.AdamW(pp, pg, pm, pv, 1, 0.01f, 0.9f, 0.999f, 0f, 0.5f, 1);
        Assert.Equal(1.98f, p[0], 6);
        Assert.Equal(0.3f, m[0], 6);
        Assert.Equal(0.009f, v[0], 6);
    }

    [Fact]
    public void GlobalNormIsExactAndThreadIndependent()
    {
        int n = 100_003;
        var g = Randn(n, 3);
        double expect = 0; foreach (var x in g) expect += (double)x * x; expect = Math.Sqrt(expect);
        double Run(int threads)
        {
            int prev = WorkerPool.Threads; WorkerPool.Threads = threads;
            try { fixed (float* pg = g) return Optim.GlobalNorm(pg, n); } finally { WorkerPool.Threads = prev; }
        }
        double one = Run(1);
        Assert.Equal(expect, one, 1e-9 * expect);
        Assert.Equal(one, Run(2));
        Assert.Equal(one, Run(5));
        Assert.Equal(1.0f, Optim.ClipScale(0.5, 1.0));
        Assert.Equal((float)(1.0 / (4.0 + 1e-6)), Optim.ClipScale(4.0, 1.0));
        fixed (float* pg = g) Optim.ScaleInPlace(pg, n, 0.5f);
        fixed (float* pg = g) Assert.Equal(expect / 2, Optim.GlobalNorm(pg, n), 1e-9 * expect);
    }

    [Fact]
    public void DropoutIsSeededThreadIndependentAndUnbiased()
    {
        int n = 200_001; float p = 0.3f;
        var x = new float[n]; Array.Fill(x, 1f);
        float[] Run(int threads, ulong seed)
        {
            int prev = WorkerPool.Threads; WorkerPool.Threads = threads;
            try { var o = new float[n]; fixed (float* po = o, px = x) Optim.DropoutForward(po, px, n, p, seed); return o; }
            finally { WorkerPool.Threads = prev; }
        }
        var a = Run(1, 42); var b = Run(2, 42); var c = Run(2, 43);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        int kept = 0; foreach (var y in a) { if (y != 0) { kept++; Assert.Equal(1f / 0.7f, y); } }
        double frac = kept / (double)n;
        Assert.True(Math.Abs(frac - 0.7) < 4 * Math.Sqrt(0.21 / n), $"kept fraction {frac}");
        // backward recomputes the same mask and accumulates
        var g = Randn(n, 7); var dx = new float[n]; Array.Fill(dx, 1f);
        fixed (float* pg = g, pdx = dx) Optim.DropoutBackward(pdx, pg, n, p, 42);
        for (int i = 0; i < n; i++) Assert.Equal(1f + (a[i] != 0 ? g[i] * (1f / (1f - p)) : 0f), dx[i]);
    }
}
