using System.Runtime.Intrinsics;
using SharpLM.Tensors.Kernels;

namespace SharpLM.Tensors.Tests.Kernels;

public sealed class FastMathTests
{
    [Fact]
    public void ExpRelativeErrorBelow2Point5e7OverTheUsedRange()
    {
        // every 97th float bit pattern in [-103, 88.7] plus a dense sweep of [-20, 20]
        var xs = new List<float>();
        for (double x = -103; x <= 88.7; x += 0.0137) xs.Add((float)x);
        for (double x = -20; x <= 20; x += 1e-4) xs.Add((float)x);
        var arr = xs.ToArray();
        var vec = new float[arr.Length];
        FastMath.Exp(arr, vec);
        double worst = 0;
        for (int i = 0; i < arr.Length; i++)
        {
            double e = Math.Exp(arr[i]);
            if (e < 1.2e-38) continue; // subnormal results: relative error is not meaningful
            double rs = Math.Abs(FastMath.Exp(arr[i]) - e) / e, rv = Math.Abs(vec[i] - e) / e;
            worst = Math.Max(worst, Math.Max(rs, rv));
            Assert.Equal(FastMath.Exp(arr[i]), vec[i]); // vector and scalar forms agree bit for bit
        }
        Assert.True(worst < 2.5e-7, $"max relative error {worst:G3}");
    }

    [Fact]
    public void ExpEdgeCases()
    {
        float[] x = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 89f, -104f, 0f, 1f, -1f, 88.7f, -87f,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        var y = new float[x.Length];
        FastMath.Exp(x, y);
        Assert.True(float.IsNaN(y[0]));
        Assert.Equal(float.PositiveInfinity, y[1]);
        Assert.Equal(0f, y[2]);
        Assert.Equal(float.PositiveInfinity, y[3]);
        Assert.Equal(0f, y[4]);
        Assert.Equal(1f, y[5]);
        Assert.Equal(Math.E, y[6], 6);
        Assert.True(Math.Abs(y[8] / Math.Exp((double)88.7f) - 1) < 3e-7);
        Assert.True(float.IsNaN(FastMath.Exp(float.NaN)));
    }

    [Fact]
    public void SigmoidAndTanhMatchDouble()
    {
        for (double x = -30; x <= 30; x += 0.01)
        {
            Assert.True(Math.Abs(FastMath.Sigmoid((float)x) - 1 / (1 + Math.Exp(-(float)x))) < 3e-7, $"sigmoid({x})");
            Assert.True(Math.Abs(FastMath.Tanh((float)x) - Math.Tanh((float)x)) < 6e-7, $"tanh({x})");
        }
    }
    [Fact]
    public void EveryVectorWidthEqualsTheScalarFormBitForBit()
    {
        // Both widths explicitly (the span form only takes the widest), across the subnormal results
        // (x < −87.3), both clamps, infinities and NaN.
        var xs = new List<float> { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 88.7228317f, 88.73f, -103.972084f, -103.98f, -0f };
        for (double x = -110; x <= 90; x += 0.00731) xs.Add((float)x);
        while (xs.Count % 16 != 0) xs.Add(0.5f);
        var arr = xs.ToArray();
        for (int i = 0; i < arr.Length; i += 16)
        {
            var v16 = FastMath.Exp(Vector512.Create(arr.AsSpan(i, 16)));
            var v8a = FastMath.Exp(Vector256.Create(arr.AsSpan(i, 8)));
            var v8b = FastMath.Exp(Vector256.Create(arr.AsSpan(i + 8, 8)));
            for (int j = 0; j < 16; j++)
            {
                int s = BitConverter.SingleToInt32Bits(FastMath.Exp(arr[i + j]));
                float w8 = j < 8 ? v8a[j] : v8b[j - 8];
                if (float.IsNaN(arr[i + j])) { Assert.True(float.IsNaN(v16[j]) && float.IsNaN(w8)); continue; }
                Assert.True(s == BitConverter.SingleToInt32Bits(v16[j]), $"x = {arr[i + j]:R}: 16 lanes {v16[j]:R}, scalar {FastMath.Exp(arr[i + j]):R}");
                Assert.True(s == BitConverter.SingleToInt32Bits(w8), $"x = {arr[i + j]:R}: 8 lanes {w8:R}, scalar {FastMath.Exp(arr[i + j]):R}");
            }
        }
    }

    [Fact]
    public void InterleavedExp4EqualsSingleExpBitForBit()
    {
        var xs = new List<float> { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 88.7228317f, 88.73f, -103.972084f, -103.98f, -0f };
        for (double x = -110; x <= 90; x += 0.0173) xs.Add((float)x);
        while (xs.Count % 64 != 0) xs.Add(-0.25f);
        var arr = xs.ToArray();
        for (int i = 0; i < arr.Length; i += 64)
        {
            var v0 = Vector512.Create(arr.AsSpan(i, 16)); var v1 = Vector512.Create(arr.AsSpan(i + 16, 16));
            var v2 = Vector512.Create(arr.AsSpan(i + 32, 16)); var v3 = Vector512.Create(arr.AsSpan(i + 48, 16));
            FastMath.Exp4(ref v0, ref v1, ref v2, ref v3);
            for (int j = 0; j < 64; j++)
            {
                float got = (j >> 4) switch { 0 => v0[j & 15], 1 => v1[j & 15], 2 => v2[j & 15], _ => v3[j & 15] };
                float want = FastMath.Exp(arr[i + j]);
                if (float.IsNaN(want)) { Assert.True(float.IsNaN(got), $"x = {arr[i + j]:R}"); continue; }
                Assert.True(BitConverter.SingleToInt32Bits(want) == BitConverter.SingleToInt32Bits(got), $"x = {arr[i + j]:R}: Exp4 {got:R}, Exp {want:R}");
            }
        }
    }
}
