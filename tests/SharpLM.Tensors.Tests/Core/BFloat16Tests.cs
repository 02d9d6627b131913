namespace SharpLM.Tensors.Tests.Core;

public sealed class BFloat16Tests
{
    // Hand-worked: bf16 keeps 8 significand bits (7 stored). 1 + 2^-8 lies exactly halfway between
    // 1 and 1 + 2^-7: ties go to the even one (1.0). 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and
    // 1 + 2^-6 (even): rounds up to 1 + 2^-6.
    [Theory]
    [InlineData(1.0f, 0x3F80)]
    [InlineData(1.00390625f, 0x3F80)]      // 1 + 2^-8, tie → even (down)
    [InlineData(1.01171875f, 0x3F82)]      // 1 + 3·2^-8, tie → even (up)
    [InlineData(1.0078125f, 0x3F81)]       // 1 + 2^-7, exact
    [InlineData(1.005f, 0x3F81)]           // above the halfway point → up
    [InlineData(-2.0f, 0xC000)]
    [InlineData(0.0f, 0x0000)]
    [InlineData(-0.0f, 0x8000)]
    [InlineData(float.PositiveInfinity, 0x7F80)]
    [InlineData(3.4028235e38f, 0x7F80)]    // float.MaxValue rounds up to +inf, as in PyTorch
    public void RoundsToNearestEven(float f, int expected) => Assert.Equal((ushort)expected, BFloat16.FromFloat(f));

    [Fact]
    public void NaNStaysNaNAndWideningIsExact()
    {
        Assert.True(float.IsNaN(BFloat16.ToFloat(BFloat16.FromFloat(float.NaN))));
        for (int h = 0; h < 65536; h += 37)
        {
            float f = BFloat16.ToFloat((ushort)h);
            if (!float.IsNaN(f)) Assert.Equal((ushort)h, BFloat16.FromFloat(f));
        }
    }
}
