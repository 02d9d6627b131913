using SharpLM.Tensors.Kernels;
using static SharpLM.Tensors.Tests.Kernels.KernelAssert;

namespace SharpLM.Tensors.Tests.Kernels;

public sealed unsafe class RopeTests
{
    [Theory]
    [InlineData(1, 1, 1, 2, RopeStyle.RotateHalf)]
    [InlineData(2, 7, 3, 18, RopeStyle.RotateHalf)]
    [InlineData(2, 7, 3, 18, RopeStyle.Interleaved)]
    [InlineData(1, 33, 2, 64, RopeStyle.RotateHalf)]
    [InlineData(1, 33, 2, 64, RopeStyle.Interleaved)]
    public void ForwardAndBackwardMatchDirectAngles(int B, int T, int NH, int HS, RopeStyle style)
    {
        int n = B * T * NH * HS, pos0 = 5, maxT = pos0 + T;
        var cos = new float[maxT * HS / 2]; var sin = new float[maxT * HS / 2];
        Rope.BuildTables(cos, sin, maxT, HS, 500000.0);
        var x = Randn(n, T + HS); var g = Randn(n, 9);
        var o = new float[n]; var oR = new float[n];
        var dx = Randn(n, 10); var dxR = (float[])dx.Clone();
        fixed (float* po = o, px = x, pc = cos, ps = sin, pdx = dx, pg = g)
        {
            Rope.Forward(po, px, pc, ps, B, T, NH, HS, style, pos0);
            Rope.Backward(pdx, pg, pc, ps, B, T, NH, HS, style, pos0);
        }
        Rope.ForwardReference(oR, x, B, T, NH, HS, style, 500000.0, pos0);
        Rope.ForwardReference(dxR, g, B, T, NH, HS, style, 500000.0, pos0, backward: true);
        Close(oR, o, 2e-6, 1e-5, "rope out");
        Close(dxR, dx, 2e-6, 1e-5, "rope dinp");
    }

    [Fact]
    public void ConventionsPairTheDocumentedChannels()
    {
        // HS = 4, position 1, θ = 1: frequencies 1 and 1^(−1/2) = 1, so every pair rotates by 1 radian.
        var cos = new float[2 * 2]; var sin = new float[2 * 2];
        Rope.BuildTables(cos, sin, 2, 4, theta: 1.0);
        float[] x = [1, 2, 3, 4];
        var half = new float[4]; var inter = new float[4];
        fixed (float* px = x, ph = half, pi = inter, pc = cos, ps = sin)
        {
            Rope.Forward(ph, px, pc, ps, 1, 1, 1, 4, RopeStyle.RotateHalf, pos0: 1);
            Rope.Forward(pi, px, pc, ps, 1, 1, 1, 4, RopeStyle.Interleaved, pos0: 1);
        }
        double c = Math.Cos(1), s = Math.Sin(1);
        // rotate-half pairs (0,2) and (1,3)
        Assert.Equal(1 * c - 3 * s, half[0], 6); Assert.Equal(3 * c + 1 * s, half[2], 6);
        Assert.Equal(2 * c - 4 * s, half[1], 6); Assert.Equal(4 * c + 2 * s, half[3], 6);
        // interleaved pairs (0,1) and (2,3)
        Assert.Equal(1 * c - 2 * s, inter[0], 6); Assert.Equal(2 * c + 1 * s, inter[1], 6);
        Assert.Equal(3 * c - 4 * s, inter[2], 6); Assert.Equal(4 * c + 3 * s, inter[3], 6);
    }
}

public sealed unsafe class SoftmaxTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 7)]
    [InlineData(5, 33)]
    [InlineData(4, 255)]
    [InlineData(2, 1027)]
    public void MatchesScalarTwin(int BT, int C)
    {
        var x = Randn(BT * C, C, 4f); x[0] = 80f; // large logits must not overflow
        var g = Randn(BT * C, C + 1);
        var o = new float[BT * C]; var oR = new float[BT * C];
        var dx = Randn(BT * C, 3); var dxR = (float[])dx.Clone();
        fixed (float* po = o, px = x, pg = g, pdx = dx)
        {
            Softmax.Forward(po, px, BT, C);
            Softmax.Backward(pdx, po, pg, BT, C);
        }
        Softmax.ForwardReference(oR, x, BT, C);
        Softmax.BackwardReference(dxR, oR, g, BT, C);
        Close(oR, o, 1e-7, 2e-6, "softmax");
        Close(dxR, dx, 1e-6, 1e-5, "softmax dinp");
    }

    [Fact]
    public void ScalarTwinBackwardMatchesFiniteDifferences()
    {
        int BT = 2, C = 6;
        var x = Randn(BT * C, 5); var g = Randn(BT * C, 6);
        var o = new float[BT * C]; var dx = new float[BT * C];
        Softmax.ForwardReference(o, x, BT, C);
        Softmax.BackwardReference(dx, o, g, BT, C);
        double L() { Softmax.ForwardReference(o, x, BT, C); return Dot(g, o); }
        for (int i = 0; i < x.Length; i++) Assert.Equal(Fd(x, i, 1e-2, L), dx[i], 1e-3);
    }
}

public sealed unsafe class EmbeddingTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(9, 7, 5)]
    [InlineData(300, 130, 17)]
    public void GatherAndDeterministicScatterAdd(int BT, int C, int V)
    {
        var r = new Random(BT);
        var ids = new int[BT]; for (int i = 0; i < BT; i++) ids[i] = r.Next(V);
        var wte = Randn(V * C, 1); var g = Randn(BT * C, 2);
        var o = new float[BT * C]; var dw = Randn(V * C, 3); var dwR = (float[])dw.Clone();
        fixed (float* po = o, pw = wte, pg = g, pdw = dw) fixed (int* pid = ids)
        {
            Embedding.Forward(po, pid, pw, BT, C, V);
            Embedding.Backward(pdw, pg, pid, BT, C, V);
        }
        for (int t = 0; t < BT; t++) for (int c = 0; c < C; c++) Assert.Equal(wte[ids[t] * C + c], o[t * C + c]);
        Embedding.BackwardReference(dwR, g, ids, BT, C);
        Close(dwR, dw, 1e-5, 1e-5, "dwte");
    }

    [Fact]
    public void OutOfRangeIdIsNamed()
    {
        var o = new float[4]; var w = new float[8]; int[] ids = [1, 4];
        fixed (float* po = o, pw = w) fixed (int* pid = ids)
        {
            float* a = po, b = pw; int* c = pid;
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => Embedding.Forward(a, c, b, 2, 2, 4));
            Assert.Contains("token id 4 at position 1", e.Message);
        }
    }
}
