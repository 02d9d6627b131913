using SharpLM.Tensors.Kernels;

namespace SharpLM.Tensors.Tests.Kernels;

public sealed class ConvertTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(33)]
    [InlineData(255)]
    [InlineData(1031)]
    public void VectorConversionMatchesScalarBitForBit(int n)
    {
        var r = new Random(n + 11);
        var src = new float[n];
        for (int i = 0; i < n; i++) src[i] = BitConverter.Int32BitsToSingle(r.Next(int.MinValue, int.MaxValue)); // every class: NaN, inf, subnormal, ties
        var dst = new ushort[n];
        BFloat16Convert.FromFloat(src, dst);
        for (int i = 0; i < n; i++) Assert.Equal(BFloat16.FromFloat(src[i]), dst[i]);
        var back = new float[n];
        BFloat16Convert.ToFloat(dst, back);
        for (int i = 0; i < n; i++) Assert.Equal(BFloat16.ToFloat(dst[i]), back[i]);
    }

    [Fact]
    public void TiesRoundToEvenAndNaNStaysQuiet()
    {
        // 1 + 2^-8 is exactly halfway between bf16 1.0 and 1.0078125: ties to the even mantissa (1.0);
        // 1 + 3·2^-8 lies halfway between 1.0078125 (odd) and 1.015625 (even): rounds up.
        float[] src = [1f + 1f / 256, 1f + 3f / 256, float.NaN, -0f, 3.0e38f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        var dst = new ushort[src.Length];
        BFloat16Convert.FromFloat(src, dst);
        Assert.Equal((ushort)0x3F80, dst[0]);
        Assert.Equal((ushort)0x3F82, dst[1]);
        Assert.True(float.IsNaN(BFloat16.ToFloat(dst[2])) && (dst[2] & 0x0040) != 0);
        Assert.Equal((ushort)0x8000, dst[3]);
        Assert.Equal((ushort)0x7F62, dst[4]); // 3e38 = 0x7F61B1E6 → rounds to 0x7F62
    }
}
