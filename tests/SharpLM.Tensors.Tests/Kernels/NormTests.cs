using SharpLM.Tensors.Kernels;
using SharpLM.Tensors.Threading;
using static SharpLM.Tensors.Tests.Kernels.KernelAssert;

namespace SharpLM.Tensors.Tests.Kernels;

public sealed unsafe class NormTests
{
    public static TheoryData<int, int> Shapes => new() { { 1, 1 }, { 3, 7 }, { 5, 33 }, { 17, 255 }, { 40, 768 }, { 33, 16 } };

    [Theory, MemberData(nameof(Shapes))]
    public void LayerNormMatchesScalarTwin(int BT, int C)
    {
        var x = Randn(BT * C, 1, 2f); for (int i = 0; i < x.Length; i++) x[i] += 0.5f;
        var w = Randn(C, 2); var b = Randn(C, 3); var dout = Randn(BT * C, 4);
        var o = new float[BT * C]; var mean = new float[BT]; var rstd = new float[BT];
        var oR = new float[BT * C]; var meanR = new float[BT]; var rstdR = new float[BT];
        var dx = Randn(BT * C, 5); var dw = Randn(C, 6); var db = Randn(C, 7); // nonzero: backward must accumulate
        var dxR = (float[])dx.Clone(); var dwR = (float[])dw.Clone(); var dbR = (float[])db.Clone();
        fixed (float* po = o, pm = mean, pr = rstd, px = x, pw = w, pb = b, pdx = dx, pdw = dw, pdb = db, pg = dout)
        {
            Norms.LayerNormForward(po, pm, pr, px, pw, pb, BT, C);
            Norms.LayerNormBackward(pdx, pdw, pdb, pg, px, pw, pm, pr, BT, C);
        }
        Norms.LayerNormForwardReference(oR, meanR, rstdR, x, w, b, BT, C);
        Norms.LayerNormBackwardReference(dxR, dwR, dbR, dout, x, w, meanR, rstdR, BT, C);
        Close(meanR, mean, 1e-6, 1e-5, "mean");
        Close(rstdR, rstd, 1e-6, 1e-5, "rstd");
        Close(oR, o, 1e-5, 1e-5, "out");
        Close(dxR, dx, 2e-5, 1e-4, "dinp");
        Close(dwR, dw, 1e-4, 1e-4, "dweight");
        Close(dbR, db, 1e-4, 1e-4, "dbias");
    }

    [Theory]
    [InlineData(3, 7)]
    [InlineData(2, 33)]
    public void LayerNormScalarTwinMatchesFiniteDifferences(int BT, int C)
    {
        var x = Randn(BT * C, 11); var w = Randn(C, 12); var b = Randn(C, 13); var g = Randn(BT * C, 14);
        var dx = new float[BT * C]; var dw = new float[C]; var db = new float[C];
        var o = new float[BT * C]; var mean = new float[BT]; var rstd = new float[BT];
        Norms.LayerNormForwardReference(o, mean, rstd, x, w, b, BT, C);
        Norms.LayerNormBackwardReference(dx, dw, db, g, x, w, mean, rstd, BT, C);
        double L() { Norms.LayerNormForwardReference(o, mean, rstd, x, w, b, BT, C); return Dot(g, o); }
        for (int i = 0; i < x.Length; i++) Assert.Equal(Fd(x, i, 1e-2, L), dx[i], 2e-3);
        for (int i = 0; i < C; i++) { Assert.Equal(Fd(w, i, 1e-2, L), dw[i], 2e-3); Assert.Equal(Fd(b, i, 1e-2, L), db[i], 2e-3); }
    }

    [Theory, MemberData(nameof(Shapes))]
    public void RmsNormMatchesScalarTwin(int BT, int C)
    {
        var x = Randn(BT * C, 21, 2f); var w = Randn(C, 22); var dout = Randn(BT * C, 24);
        var o = new float[BT * C]; var rstd = new float[BT];
        var oR = new float[BT * C]; var rstdR = new float[BT];
        var dx = Randn(BT * C, 25); var dw = Randn(C, 26);
        var dxR = (float[])dx.Clone(); var dwR = (float[])dw.Clone();
        fixed (float* po = o, pr = rstd, px = x, pw = w, pdx = dx, pdw = dw, pg = dout)
        {
            Norms.RmsNormForward(po, pr, px, pw, BT, C);
            Norms.RmsNormBackward(pdx, pdw, pg, px, pw, pr, BT, C);
        }
        Norms.RmsNormForwardReference(oR, rstdR, x, w, BT, C);
        Norms.RmsNormBackwardReference(dxR, dwR, dout, x, w, rstdR, BT, C);
        Close(rstdR, rstd, 1e-6, 1e-5, "rstd");
        Close(oR, o, 1e-5, 1e-5, "out");
        Close(dxR, dx, 2e-5, 1e-4, "dinp");
        Close(dwR, dw, 1e-4, 1e-4, "dweight");
    }

    [Fact]
    public void RmsNormScalarTwinMatchesFiniteDifferences()
    {
        int BT = 3, C = 9;
        var x = Randn(BT * C, 31); var w = Randn(C, 32); var g = Randn(BT * C, 34);
        var dx = new float[BT * C]; var dw = new float[C];
        var o = new float[BT * C]; var rstd = new float[BT];
        Norms.RmsNormForwardReference(o, rstd, x, w, BT, C);
        Norms.RmsNormBackwardReference(dx, dw, g, x, w, rstd, BT, C);
        double L() { Norms.RmsNormForwardReference(o, rstd, x, w, BT, C); return Dot(g, o); }
        for (int i = 0; i < x.Length; i++) Assert.Equal(Fd(x, i, 1e-2, L), dx[i], 2e-3);
        for (int i = 0; i < C; i++) Assert.Equal(Fd(w, i, 1e-2, L), dw[i], 2e-3);
    }

    [Fact]
    public void BackwardIsBitIdenticalForAnyThreadCount()
    {
        int BT = 203, C = 100;
        var x = Randn(BT * C, 41); var w = Randn(C, 42); var b = Randn(C, 43); var g = Randn(BT * C, 44);
        float[] Run(int threads)
        {
            int prev = WorkerPool.Threads;
            WorkerPool.Threads = threads;
            try
            {
                var o = new float[BT * C]; var m = new float[BT]; var r = new float[BT];
                var res = new float[BT * C + 2 * C];
                fixed (float* po = o, pm = m, pr = r, px = x, pw = w, pb = b, pg = g, pres = res)
                {
                    Norms.LayerNormForward(po, pm, pr, px, pw, pb, BT, C);
                    Norms.LayerNormBackward(pres, pres + BT * C, pres + BT * C + C, pg, px, pw, pm, pr, BT, C);
                }
                return res;
            }
            finally { WorkerPool.Threads = prev; }
        }
        var one = Run(1); var two = Run(2); var four = Run(4);
        Assert.Equal(one, two);
        Assert.Equal(one, four);
    }

    // bf16 saved inputs: the backward widens each row exactly and runs the f32 arithmetic, so it must equal the
    // f32 kernel given the widened input, bit for bit (and so inherit that kernel's tests against the oracles).
    [Theory, MemberData(nameof(Shapes))]
    public void Bf16InputBackwardEqualsTheF32KernelOnTheWidenedInput(int BT, int C)
    {
        var x = Randn(BT * C, 51, 2f); for (int i = 0; i < x.Length; i++) x[i] += 0.5f;
        var xb = new ushort[x.Length]; var xw = new float[x.Length];
        for (int i = 0; i < x.Length; i++) { xb[i] = BFloat16.FromFloat(x[i]); xw[i] = BFloat16.ToFloat(xb[i]); }
        var w = Randn(C, 52); var b = Randn(C, 53); var g = Randn(BT * C, 54);
        var o = new float[BT * C]; var m = new float[BT]; var r = new float[BT];
        foreach (bool rms in new[] { false, true })
        {
            var want = Randn(BT * C + 2 * C, 55); var got = (float[])want.Clone(); // nonzero: both accumulate
            fixed (float* po = o, pm = m, pr = r, px = x, pxw = xw, pw = w, pb = b, pg = g, pwant = want, pgot = got)
            fixed (ushort* pxb = xb)
            {
                if (rms)
                {
                    Norms.RmsNormForward(po, pr, px, pw, BT, C);
                    Norms.RmsNormBackward(pwant, pwant + BT * C, pg, pxw, pw, pr, BT, C);
                    Norms.RmsNormBackward(pgot, pgot + BT * C, pg, pxb, pw, pr, BT, C);
                }
                else
                {
                    Norms.LayerNormForward(po, pm, pr, px, pw, pb, BT, C);
                    Norms.LayerNormBackward(pwant, pwant + BT * C, pwant + BT * C + C, pg, pxw, pw, pm, pr, BT, C);
                    Norms.LayerNormBackward(pgot, pgot + BT * C, pgot + BT * C + C, pg, pxb, pw, pm, pr, BT, C);
                }
            }
            for (int i = 0; i < want.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(want[i]) == BitConverter.SingleToInt32Bits(got[i]), $"rms={rms} element {i}: {got[i]:R} != {want[i]:R}");
        }
    }

    // Forward keeping a bf16 copy of its output: same f32 output bits, and the copy is the engine's rounding of it.
    [Theory, MemberData(nameof(Shapes))]
    public void ForwardKeepsTheBf16RoundingOfItsOutput(int BT, int C)
    {
        var x = Randn(BT * C, 61, 2f); var w = Randn(C, 62); var b = Randn(C, 63);
        foreach (bool rms in new[] { false, true })
        {
            var o = new float[BT * C]; var o2 = new float[BT * C]; var m = new float[BT]; var r = new float[BT];
            var keep = new ushort[BT * C];
            fixed (float* po = o, po2 = o2, pm = m, pr = r, px = x, pw = w, pb = b)
            fixed (ushort* pk = keep)
            {
                if (rms) { Norms.RmsNormForward(po, pr, px, pw, BT, C); Norms.RmsNormForward(po2, pr, px, pw, BT, C, 1e-6f, pk); }
                else { Norms.LayerNormForward(po, pm, pr, px, pw, pb, BT, C); Norms.LayerNormForward(po2, pm, pr, px, pw, pb, BT, C, 1e-5f, pk); }
            }
            for (int i = 0; i < o.Length; i++)
            {
                Assert.True(BitConverter.SingleToInt32Bits(o[i]) == BitConverter.SingleToInt32Bits(o2[i]), $"rms={rms} out[{i}] changed");
                Assert.True(keep[i] == BFloat16.FromFloat(o[i]), $"rms={rms} keep[{i}] {keep[i]:X4} is not bf16({o[i]:R})");
            }
        }
    }
}
