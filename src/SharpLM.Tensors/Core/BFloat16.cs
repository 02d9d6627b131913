// bfloat16 conversion: the upper half of an IEEE binary32. Narrowing rounds to nearest, ties to
// even (as PyTorch's `tensor.to(torch.bfloat16)` and the x86 VCVTNEPS2BF16 instruction do); NaN stays
// a quiet NaN. Widening is exact (shift left by 16). Vectorised span conversions live in
// Kernels/Convert.cs; these scalar forms are their oracle.
using System.Runtime.CompilerServices;

namespace SharpLM.Tensors;

/// <summary>Scalar bfloat16 ⇄ float conversions.</summary>
public static class BFloat16
{
    /// <summary>Rounds a float to the nearest bfloat16 (ties to even); NaN becomes a quiet NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromFloat(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        if ((bits & 0x7FFF_FFFFu) > 0x7F80_0000u) return (ushort)((bits >> 16) | 0x0040u); // NaN: keep sign, force quiet
        uint lsb = (bits >> 16) & 1u;
        bits += 0x7FFFu + lsb; // round to nearest, ties to even; overflow rounds up to ±inf as it should
        return (ushort)(bits >> 16);
    }

    /// <summary>Widens a bfloat16 to float exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(ushort h) => BitConverter.UInt32BitsToSingle((uint)h << 16);
}
