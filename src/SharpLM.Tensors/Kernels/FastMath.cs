// Vectorised exp and sigmoid for the activation, softmax and attention kernels. What it is: a
// Cody–Waite range reduction x = n·ln2 + r, |r| ≤ ln2/2, a degree-7 Taylor polynomial for e^r (its
// truncation error r⁸/8! ≤ 5e-9 on that interval) and 2ⁿ built from exponent bits, split in two
// factors so that results down to the subnormal range come out right. Max relative error ≈ 2 ulp
// (≲ 2.4e-7) over [-103, 88.7], which the tests measure against Math.Exp. What it is not: a full
// libm — inputs above 88.72 give +∞, below -103.9 give 0, NaN stays NaN.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpLM.Tensors.Kernels;

/// <summary>Fast, accurate exp / sigmoid in scalar, Vector256 and Vector512 forms (bit-identical across forms).</summary>
public static class FastMath
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f;          // ln2 split: Hi has few mantissa bits so n·Hi is exact
    private const float Ln2Lo = -2.12194440e-4f;
    private const float MaxX = 88.7228317f;             // above: +∞
    private const float MinX = -103.972084f;            // below: 0
    private const float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;

    /// <summary>e^x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp(float x)
    {
        if (float.IsNaN(x)) return x;
        if (x > MaxX) return float.PositiveInfinity;
        if (x < MinX) return 0f;
        float n = MathF.Round(x * Log2E);
        float r = MathF.FusedMultiplyAdd(-n, Ln2Hi, x);
        r = MathF.FusedMultiplyAdd(-n, Ln2Lo, r);
        float p = MathF.FusedMultiplyAdd(C7, r, C6);
        p = MathF.FusedMultiplyAdd(p, r, C5);
        p = MathF.FusedMultiplyAdd(p, r, C4);
        p = MathF.FusedMultiplyAdd(p, r, C3);
        p = MathF.FusedMultiplyAdd(p, r, C2);
        p = MathF.FusedMultiplyAdd(p, r, 1f);
        p = MathF.FusedMultiplyAdd(p, r, 1f);
        int ni = (int)n;
        int n1 = ni >> 1, n2 = ni - n1;
        float s1 = BitConverter.Int32BitsToSingle((n1 + 127) << 23);
        float s2 = BitConverter.Int32BitsToSingle((n2 + 127) << 23);
        return p * s1 * s2;
    }

    /// <summary>e^x on 8 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        if (Avx2.IsSupported && Fma.IsSupported) return ExpAvx2(x);
        var xc = Vector256.Min(Vector256.Max(x, Vector256.Create(MinX)), Vector256.Create(MaxX));
        var n = Vector256.Round(xc * Vector256.Create(Log2E));
        var r = Vector256.FusedMultiplyAdd(-n, Vector256.Create(Ln2Hi), xc);
        r = Vector256.FusedMultiplyAdd(-n, Vector256.Create(Ln2Lo), r);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(C7), r, Vector256.Create(C6));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C5));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(C2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        var ni = Vector256.ConvertToInt32(n);
        var n1 = Vector256.ShiftRightArithmetic(ni, 1);
        var n2 = ni - n1;
        var s1 = (n1 + Vector256.Create(127)).AsInt32() << 23;
        var s2 = (n2 + Vector256.Create(127)).AsInt32() << 23;
        var res = p * s1.AsSingle() * s2.AsSingle();
        res = Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(MaxX)), Vector256.Create(float.PositiveInfinity), res);
        res = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(MinX)), Vector256<float>.Zero, res);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), res, x); // NaN passes through
    }

    /// <summary>e^x on 16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        if (Avx512F.IsSupported) return ExpAvx512(x);
        var xc = Vector512.Min(Vector512.Max(x, Vector512.Create(MinX)), Vector512.Create(MaxX));
        var n = Vector512.Round(xc * Vector512.Create(Log2E));
        var r = Vector512.FusedMultiplyAdd(-n, Vector512.Create(Ln2Hi), xc);
        r = Vector512.FusedMultiplyAdd(-n, Vector512.Create(Ln2Lo), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(C7), r, Vector512.Create(C6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C5));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        var ni = Vector512.ConvertToInt32(n);
        var n1 = Vector512.ShiftRightArithmetic(ni, 1);
        var n2 = ni - n1;
        var s1 = (n1 + Vector512.Create(127)) << 23;
        var s2 = (n2 + Vector512.Create(127)) << 23;
        var res = p * s1.AsSingle() * s2.AsSingle();
        res = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(MaxX)), Vector512.Create(float.PositiveInfinity), res);
        res = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(MinX)), Vector512<float>.Zero, res);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), res, x);
    }

    // The same arithmetic in raw instructions. The portable Vector512/256 Min, Max, Round and
    // ConvertToInt32 carry IEEE-NaN and saturation fix-ups that cost more than the polynomial; here
    // vminps/vmaxps (x is clamped first, and NaN lanes are restored at the end), vrndscaleps (nearest
    // even, as MathF.Round) and, on AVX-512, vscalefps for p·2ⁿ — a single correctly rounded scaling,
    // equal to the two exact power-of-two factors of the portable form down to the subnormals. The
    // tests compare every lane with the scalar Exp bit for bit.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpAvx512(Vector512<float> x)
    {
        var xc = Avx512F.Min(Avx512F.Max(x, Vector512.Create(MinX)), Vector512.Create(MaxX));
        var n = Avx512F.RoundScale(xc * Vector512.Create(Log2E), 0x08); // round to nearest even, no exceptions
        var r = Avx512F.FusedMultiplyAdd(-n, Vector512.Create(Ln2Hi), xc);
        r = Avx512F.FusedMultiplyAdd(-n, Vector512.Create(Ln2Lo), r);
        var p = Avx512F.FusedMultiplyAdd(Vector512.Create(C7), r, Vector512.Create(C6));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(C5));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(C4));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(C3));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(C2));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512<float>.One);
        var res = Avx512F.Scale(p, n);
        res = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(MaxX)), Vector512.Create(float.PositiveInfinity), res);
        res = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(MinX)), Vector512<float>.Zero, res);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), res, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ExpAvx2(Vector256<float> x)
    {
        var xc = Avx.Min(Avx.Max(x, Vector256.Create(MinX)), Vector256.Create(MaxX));
        var n = Avx.RoundToNearestInteger(xc * Vector256.Create(Log2E));
        var r = Fma.MultiplyAddNegated(n, Vector256.Create(Ln2Hi), xc);
        r = Fma.MultiplyAddNegated(n, Vector256.Create(Ln2Lo), r);
        var p = Fma.MultiplyAdd(Vector256.Create(C7), r, Vector256.Create(C6));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(C5));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(C4));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(C3));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(C2));
        p = Fma.MultiplyAdd(p, r, Vector256<float>.One);
        p = Fma.MultiplyAdd(p, r, Vector256<float>.One);
        var ni = Avx.ConvertToVector256Int32(n); // n is integral: exact
        var n1 = Avx2.ShiftRightArithmetic(ni, 1);
        var n2 = Avx2.Subtract(ni, n1);
        var s1 = Avx2.ShiftLeftLogical(Avx2.Add(n1, Vector256.Create(127)), 23).AsSingle();
        var s2 = Avx2.ShiftLeftLogical(Avx2.Add(n2, Vector256.Create(127)), 23).AsSingle();
        var res = p * s1 * s2;
        res = Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(MaxX)), Vector256.Create(float.PositiveInfinity), res);
        res = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(MinX)), Vector256<float>.Zero, res);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), res, x);
    }

    /// <summary>1 / (1 + e^-x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x) => 1f / (1f + Exp(-x));

    /// <summary>1 / (1 + e^-x) on 8 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + Exp(-x));

    /// <summary>1 / (1 + e^-x) on 16 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x) => Vector512<float>.One / (Vector512<float>.One + Exp(-x));

    /// <summary>tanh(x) = 2·sigmoid(2x) − 1 (absolute error ≲ 3e-7; GELU uses the sigmoid form directly).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tanh(float x) => 2f * Sigmoid(2f * x) - 1f;

    /// <summary>Applies e^x to a span (vectorised; the tests compare every element with <see cref="Exp(float)"/>).</summary>
    public static unsafe void Exp(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException($"exp: destination has {y.Length} elements, needs {x.Length}");
        fixed (float* px = x) fixed (float* py = y)
        {
            int n = x.Length, i = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; i + 16 <= n; i += 16) Exp(Vector512.Load(px + i)).Store(py + i);
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= n; i += 8) Exp(Vector256.Load(px + i)).Store(py + i);
            for (; i < n; i++) py[i] = Exp(px[i]);
        }
    }
}
