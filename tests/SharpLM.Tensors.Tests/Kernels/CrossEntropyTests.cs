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

    [Theory]
    [InlineData(3, 9000, 0)]      // the max sits in the first logits: no block is redone
    [InlineData(3, 9000, 150)]    // a later block holds logits 150 above the reference: that block is redone and the sum rescaled
    [InlineData(2, 70, 90)]       // short row: the jump lands in the scalar tail of the only block
    public void OneSweepLogsumexpMatchesScalarTwinWhenTheMaxComesLate(int BT, int V, float jump)
    {
        // Logits rise by `jump` after the first 64, so the reference (max of the first 64) can be far
        // below the row max; the result must not depend on it.
        var x = Randn(BT * V, 41, 2f);
        for (int r = 0; r < BT; r++)
            for (int i = 64; i < V; i++) x[r * V + i] += jump * (i - 64) / (V - 64);
        var t = Targets(BT, V, 42);
        var losses = new float[BT]; var lse = new float[BT];
        float loss;
        fixed (float* pl = losses, ps = lse, px = x) fixed (int* pt = t)
            loss = CrossEntropy.Forward(pl, ps, px, pt, BT, V);
        double lossR = CrossEntropy.Reference(x, t, BT, V);
        Assert.Equal(lossR, loss, 2e-6 * Math.Max(1, Math.Abs(lossR)));
        for (int r = 0; r < BT; r++)
        {
            double m = double.NegativeInfinity, s = 0;
            for (int i = 0; i < V; i++) m = Math.Max(m, x[r * V + i]);
            for (int i = 0; i < V; i++) s += Math.Exp(x[r * V + i] - m);
            Assert.Equal(m + Math.Log(s), lse[r], 2e-6 * Math.Max(1, Math.Abs(m)));
        }
    }

    [Fact]
    public void NonFiniteLogitsPropagateLikeTheTwoPassForm()
    {
        const int V = 300;
        var x = Randn(3 * V, 43);
        x[100] = float.NaN;                 // row 0: NaN → NaN loss
        x[V + 200] = float.PositiveInfinity; // row 1: +∞ → NaN (∞ − ∞), as torch
        for (int i = 2 * V; i < 2 * V + 80; i++) x[i] = float.NegativeInfinity; // row 2: −∞ logits add nothing
        int[] t = [5, 7, 150];
        var losses = new float[3]; var lse = new float[3];
        fixed (float* pl = losses, ps = lse, px = x) fixed (int* pt = t)
            CrossEntropy.Forward(pl, ps, px, pt, 3, V);
        Assert.True(float.IsNaN(losses[0]));
        Assert.True(float.IsNaN(losses[1]));
        double m = double.NegativeInfinity, s = 0;
        for (int i = 80; i < V; i++) m = Math.Max(m, x[2 * V + i]);
        for (int i = 80; i < V; i++) s += Math.Exp(x[2 * V + i] - m);
        Assert.Equal(m + Math.Log(s) - x[2 * V + 150], losses[2], 5);
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
