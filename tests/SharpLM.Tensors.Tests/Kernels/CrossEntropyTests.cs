using SharpLM.Tensors.Kernels;
using static SharpLM.Tensors.Tests.Kernels.KernelAssert;

namespace SharpLM.Tensors.Tests.Kernels;

public sealed unsafe class CrossEntropyTests
{
    private static int[] Targets(int BT, int V, int seed)
    {
        var r = new Random(seed);
        var t = new int[BT];
        for (int i = 0; i < BT; i++) t[i] = r.Next(4) == 0 ? CrossEntropy.DefaultIgnoreIndex : r.Next(V);
        t[0] = V - 1;
        return t;
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 5)]
    [InlineData(33, 255)]
    [InlineData(4, 50304)]
    public void LogitsFormMatchesScalarTwin(int BT, int V)
    {
        var x = Randn(BT * V, V, 3f); var t = Targets(BT, V, BT);
        var losses = new float[BT]; var lse = new float[BT];
        var d = Randn(BT * V, 2); var dR = (float[])d.Clone();
        float loss;
        fixed (float* pl = losses, ps = lse, px = x, pd = d) fixed (int* pt = t)
        {
            loss = CrossEntropy.Forward(pl, ps, px, pt, BT, V);
            CrossEntropy.Backward(pd, px, ps, pt, BT, V);
        }
        double lossR = CrossEntropy.Reference(x, t, BT, V, dR);
        Assert.Equal(lossR, loss, 1e-5 * Math.Max(1, Math.Abs(lossR)));
        Close(dR, d, 1e-6, 1e-5, "dlogits");
    }

    [Fact]
    public void HandWorkedLossAndIgnoredRows()
    {
        // row 0: logits [0, ln 3], target 1 → −log(3/4) = 0.2876821; row 1 ignored.
        float[] x = [0f, MathF.Log(3f), 5f, -5f];
        int[] t = [1, -100];
        var losses = new float[2]; var lse = new float[2]; var d = new float[4];
        fixed (float* pl = losses, ps = lse, px = x, pd = d) fixed (int* pt = t)
        {
            Assert.Equal(0.2876821, CrossEntropy.Forward(pl, ps, px, pt, 2, 2), 6);
            CrossEntropy.Backward(pd, px, ps, pt, 2, 2);
        }
        Assert.Equal(0.25, d[0], 6); Assert.Equal(-0.25, d[1], 6);
        Assert.Equal(0f, d[2]); Assert.Equal(0f, d[3]);
    }

    [Fact]
    public void ScalarTwinMatchesFiniteDifferences()
    {
        int BT = 3, V = 5;
        var x = Randn(BT * V, 9); int[] t = [2, -100, 4];
        var d = new float[BT * V];
        CrossEntropy.Reference(x, t, BT, V, d);
        for (int i = 0; i < x.Length; i++) Assert.Equal(Fd(x, i, 1e-2, () => CrossEntropy.Reference(x, t, BT, V)), d[i], 1e-4);
    }

    [Theory]
    [InlineData(13, 9, 37, 4)]
    [InlineData(5, 16, 50, 64)]
    public void LmHeadChunkedMatchesFullComputation(int BT, int C, int V, int chunk)
    {
        var h = Randn(BT * C, 1); var W = Randn(V * C, 2, 0.5f); var t = Targets(BT, V, 3);
        var dh = Randn(BT * C, 4); var dW = Randn(V * C, 5);
        var dhR = (float[])dh.Clone(); var dWR = (float[])dW.Clone();
        float loss;
        fixed (float* ph = h, pw = W, pdh = dh, pdw = dW) fixed (int* pt = t)
            loss = CrossEntropy.LmHead(pdh, pdw, ph, pw, pt, BT, C, V, chunk);
        var logits = new float[BT * V];
        Gemm.Reference(false, true, BT, V, C, h, W, logits);
        var dl = new float[BT * V];
        double lossR = CrossEntropy.Reference(logits, t, BT, V, dl);
        for (int r = 0; r < BT; r++)
            for (int c = 0; c < C; c++) { double s = 0; for (int v = 0; v < V; v++) s += (double)dl[r * V + v] * W[v * C + c]; dhR[r * C + c] += (float)s; }
        for (int v = 0; v < V; v++)
            for (int c = 0; c < C; c++) { double s = 0; for (int r = 0; r < BT; r++) s += (double)dl[r * V + v] * h[r * C + c]; dWR[v * C + c] += (float)s; }
        Assert.Equal(lossR, loss, 1e-5);
        Close(dhR, dh, 1e-5, 1e-4, "dhidden");
        Close(dWR, dW, 1e-5, 1e-4, "dW");
        // forward-only call gives the same loss and touches no gradient
        fixed (float* ph = h, pw = W) fixed (int* pt = t)
            Assert.Equal(loss, CrossEntropy.LmHead(null, null, ph, pw, pt, BT, C, V, chunk));
    }

    [Fact]
    public void TargetOutsideVocabularyIsNamed()
    {
        var x = new float[4]; var l = new float[2]; int[] t = [0, 7];
        fixed (float* px = x, pl = l) fixed (int* pt = t)
        {
            float* a = px, b = pl; int* c = pt;
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => CrossEntropy.Forward(b, b, a, c, 2, 2));
            Assert.Contains("target 7 at row 1", e.Message);
        }
    }
}
