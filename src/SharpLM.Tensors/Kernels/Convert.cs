// Vectorised f32 ⇄ bf16 span conversion. Narrowing rounds to nearest, ties to even, NaN → quiet NaN
// with its sign, bit-for-bit the same as the scalar BFloat16.FromFloat (Core/BFloat16.cs), which is its
// oracle; widening is exact. What it is not: a converter for other formats (f16, int8 live elsewhere).
using System.Runtime.Intrinsics;

namespace SharpLM.Tensors.Kernels;

/// <summary>Span conversions between float and bfloat16 bit patterns.</summary>
public static unsafe class BFloat16Convert
{
    /// <summary>dst[i] = bf16(src[i]) for every i (round to nearest even).</summary>
    public static void FromFloat(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException($"bf16 conversion: destination has {dst.Length} elements, needs {src.Length}");
        fixed (float* s = src) fixed (ushort* d = dst) FromFloat(s, d, src.Length);
    }

    /// <summary>Pointer form of <see cref="FromFloat(ReadOnlySpan{float}, Span{ushort})"/>.</summary>
    public static void FromFloat(float* src, ushort* dst, long n)
    {
        long i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var abs = Vector512.Create(0x7FFF_FFFFu); var inf = Vector512.Create(0x7F80_0000u);
            var bias = Vector512.Create(0x7FFFu); var one = Vector512.Create(1u); var quiet = Vector512.Create(0x0040u);
            for (; i + 32 <= n; i += 32)
            {
                var a = Round(Vector512.Load((uint*)(src + i)), abs, inf, bias, one, quiet);
                var b = Round(Vector512.Load((uint*)(src + i + 16)), abs, inf, bias, one, quiet);
                Vector512.Narrow(a, b).Store(dst + i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var abs = Vector256.Create(0x7FFF_FFFFu); var inf = Vector256.Create(0x7F80_0000u);
            var bias = Vector256.Create(0x7FFFu); var one = Vector256.Create(1u); var quiet = Vector256.Create(0x0040u);
            for (; i + 16 <= n; i += 16)
            {
                var a = Round(Vector256.Load((uint*)(src + i)), abs, inf, bias, one, quiet);
                var b = Round(Vector256.Load((uint*)(src + i + 8)), abs, inf, bias, one, quiet);
                Vector256.Narrow(a, b).Store(dst + i);
            }
        }
        for (; i < n; i++) dst[i] = BFloat16.FromFloat(src[i]);
    }

    // Returns the rounded bf16 in the low 16 bits of each lane (upper bits zero so Narrow truncates exactly).
    private static Vector512<uint> Round(Vector512<uint> bits, Vector512<uint> abs, Vector512<uint> inf, Vector512<uint> bias, Vector512<uint> one, Vector512<uint> quiet)
    {
        var nan = Vector512.GreaterThan(bits & abs, inf);
        var rounded = (bits + bias + ((bits >> 16) & one)) >> 16;
        return Vector512.ConditionalSelect(nan, (bits >> 16) | quiet, rounded);
    }

    private static Vector256<uint> Round(Vector256<uint> bits, Vector256<uint> abs, Vector256<uint> inf, Vector256<uint> bias, Vector256<uint> one, Vector256<uint> quiet)
    {
        var nan = Vector256.GreaterThan(bits & abs, inf);
        var rounded = (bits + bias + ((bits >> 16) & one)) >> 16;
        return Vector256.ConditionalSelect(nan, (bits >> 16) | quiet, rounded);
    }

    /// <summary>dst[i] = float(src[i]) for every i (exact).</summary>
    public static void ToFloat(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException($"bf16 conversion: destination has {dst.Length} elements, needs {src.Length}");
        fixed (ushort* s = src) fixed (float* d = dst) ToFloat(s, d, src.Length);
    }

    /// <summary>Pointer form of <see cref="ToFloat(ReadOnlySpan{ushort}, Span{float})"/>.</summary>
    public static void ToFloat(ushort* src, float* dst, long n)
    {
        long i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 32 <= n; i += 32)
            {
                var (lo, hi) = Vector512.Widen(Vector512.Load(src + i));
                (lo << 16).AsSingle().Store(dst + i);
                (hi << 16).AsSingle().Store(dst + i + 16);
            }
        if (Vector256.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Load(src + i));
                (lo << 16).AsSingle().Store(dst + i);
                (hi << 16).AsSingle().Store(dst + i + 8);
            }
        for (; i < n; i++) dst[i] = BFloat16.ToFloat(src[i]);
    }
}
