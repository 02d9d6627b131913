// The bf16 variants of the model's glue kernels (ModelKernels): a kernel that reads a bf16 saved input widens
// each row exactly and runs the f32 code, so it must equal the f32 kernel on the widened input bit for bit;
// a kernel that keeps a bf16 copy while it reads a row must write exactly BFloat16.FromFloat of that row
// (the engine's round-to-nearest-even converter, itself tested against its scalar oracle) and leave its f32
// output unchanged. Widths sweep the 16-lane vector tail.
using SharpLM.Models.Modeling;
using SharpLM.Tensors;

namespace SharpLM.Models.Tests.Modeling;

public sealed unsafe class Bf16ModelKernelTests
{
    private static float[] Rand(int n, int seed)
    {
        var r = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(r.NextDouble() * 6 - 3);
        return a;
    }

    private static (ushort[] Bits, float[] Wide) Round(float[] x)
    {
        var b = new ushort[x.Length]; var w = new float[x.Length];
        for (int i = 0; i < x.Length; i++) { b[i] = BFloat16.FromFloat(x[i]); w[i] = BFloat16.ToFloat(b[i]); }
        return (b, w);
    }

    private static void BitsEqual(float[] want, float[] got, string what)
    {
        for (int i = 0; i < want.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(want[i]) == BitConverter.SingleToInt32Bits(got[i]), $"{what}[{i}]: {got[i]:R} vs {want[i]:R}");
    }

    private static void IsRoundingOf(float[] src, ushort[] got, string what)
    {
        for (int i = 0; i < src.Length; i++) Assert.True(BFloat16.FromFloat(src[i]) == got[i], $"{what}[{i}]: {got[i]:X4} is not bf16({src[i]:R})");
    }

    [Theory]
    [InlineData(5, 1)]
    [InlineData(7, 17)]
    [InlineData(33, 48)]
    [InlineData(9, 100)]
    public void GeluAndSwiGluReadAndKeepBf16Rows(int rows, int n)
    {
        var x = Rand(rows * n, 1); var (xb, xw) = Round(x); var dy = Rand(rows * n, 2);
        var gu = Rand(rows * 2 * n, 3); var (gub, guw) = Round(gu); var dh = Rand(rows * n, 4);
        float[] yWant = new float[rows * n], yGot = new float[rows * n], y32 = new float[rows * n], yKeep = new float[rows * n];
        float[] dWant = new float[rows * n], dGot = new float[rows * n];
        float[] hWant = new float[rows * n], hGot = new float[rows * n], h32 = new float[rows * n], hKeep = new float[rows * n];
        float[] dguWant = new float[rows * 2 * n], dguGot = new float[rows * 2 * n];
        var keepX = new ushort[rows * n]; var keepGu = new ushort[rows * 2 * n];
        fixed (float* px = x, pxw = xw, pdy = dy, pgu = gu, pguw = guw, pdh = dh)
        fixed (float* pyw = yWant, pyg = yGot, py32 = y32, pyk = yKeep, pdw = dWant, pdg = dGot)
        fixed (float* phw = hWant, phg = hGot, ph32 = h32, phk = hKeep, pdguw = dguWant, pdgug = dguGot)
        fixed (ushort* pxb = xb, pgub = gub, pkx = keepX, pkg = keepGu)
        {
            ModelKernels.GeluForward(pyw, pxw, rows, n, n); ModelKernels.GeluForward(pyg, pxb, rows, n, n);
            ModelKernels.GeluBackward(pdw, pxw, pdy, rows, n, n); ModelKernels.GeluBackward(pdg, pxb, pdy, rows, n, n);
            ModelKernels.SwiGluForward(phw, pguw, rows, n); ModelKernels.SwiGluForward(phg, pgub, rows, n);
            ModelKernels.SwiGluBackward(pdguw, pguw, pdh, rows, n); ModelKernels.SwiGluBackward(pdgug, pgub, pdh, rows, n);
            ModelKernels.GeluForward(py32, px, rows, n, n); ModelKernels.GeluForward(pyk, px, rows, n, n, pkx);
            ModelKernels.SwiGluForward(ph32, pgu, rows, n); ModelKernels.SwiGluForward(phk, pgu, rows, n, pkg);
        }
        BitsEqual(yWant, yGot, "gelu forward"); BitsEqual(dWant, dGot, "gelu backward");
        BitsEqual(hWant, hGot, "swiglu forward"); BitsEqual(dguWant, dguGot, "swiglu backward");
        BitsEqual(y32, yKeep, "gelu forward keeping x"); IsRoundingOf(x, keepX, "gelu kept x");
        BitsEqual(h32, hKeep, "swiglu forward keeping gu"); IsRoundingOf(gu, keepGu, "swiglu kept gu");
    }

    [Theory]
    [InlineData(3, 1)]
    [InlineData(17, 40)]
    [InlineData(8, 384)]
    public void InitRowsKeepsItsSourceAsBf16AndToBf16Rounds(int rows, int C)
    {
        var src = Rand(rows * C, 5); var bias = Rand(C, 6);
        float[] want = new float[rows * C], got = new float[rows * C];
        var keep = new ushort[rows * C]; var all = new ushort[rows * C];
        fixed (float* ps = src, pb = bias, pw = want, pg = got)
        fixed (ushort* pk = keep, pa = all)
        {
            ModelKernels.InitRows(pw, ps, pb, rows, C, C);
            ModelKernels.InitRows(pg, ps, pb, rows, C, C, pk);
            ModelKernels.ToBf16(ps, pa, (long)rows * C);
        }
        BitsEqual(want, got, "init rows");
        IsRoundingOf(src, keep, "kept source");
        IsRoundingOf(src, all, "ToBf16");
    }
}
