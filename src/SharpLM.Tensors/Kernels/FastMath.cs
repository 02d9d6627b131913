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
    // The vector forms clamp to [MinX, ClampHi] and need no fix-up selects: every x ≤ MinX gives
    // p < 1 with n = −150 (or n < −150), which rounds to 0 — the scalar form's 0 — and every x above
    // MaxX gives n ≥ 128 with p ≥ 1 (the next float after MaxX already exceeds 128·ln2), which
    // overflows to +∞ — the scalar form's +∞. ClampHi keeps n ≤ 128 so the 2ⁿ factors stay finite.
    private const float ClampHi = 88.8f;
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
    // vminps/vmaxps, vrndscaleps (nearest even, as MathF.Round) and, on AVX-512, vscalefps for p·2ⁿ —
    // a single correctly rounded scaling, equal to the two exact power-of-two factors of the portable
    // form down to the subnormals. No compare/blend fix-ups (see ClampHi): 13 vector instructions on
    // AVX-512 instead of 19, which is what lets exp-bound rows (softmax, cross-entropy) keep up with
    // memory. The tests compare every lane with the scalar Exp bit for bit, NaN, ±∞ and both edges included.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpAvx512(Vector512<float> x)
    {
        // Clamp with the constant first: vmaxps/vminps return their second source when either is NaN,
        // so NaN flows through the clamp, the polynomial and the scaling without a select.
        var xc = Avx512F.Min(Vector512.Create(ClampHi), Avx512F.Max(Vector512.Create(MinX), x));
        var n = Avx512F.RoundScale(xc * Vector512.Create(Log2E), 0x08); // round to nearest even, no exceptions
        var r = Avx512F.FusedMultiplyAddNegated(n, Vector512.Create(Ln2Hi), xc);
        r = Avx512F.FusedMultiplyAddNegated(n, Vector512.Create(Ln2Lo), r);
        var p = Avx512F.FusedMultiplyAdd(Vector512.Create(C7), r, Vector512.Create(C6));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(C5));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(C4));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(C3));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(C2));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512<float>.One);
        return Avx512F.Scale(p, n);
    }

    /// <summary>
    /// e^x on four 16-lane vectors in place, bit-identical to four calls of <see cref="Exp(Vector512{float})"/>.
    /// With AVX-512 the four instruction streams are interleaved step by step: one exp is a chain of ~13
    /// dependent instructions (~55 cycles of latency), and the JIT emits an inlined call's instructions in
    /// order, so back-to-back single calls leave the out-of-order scheduler too few independent
    /// instructions to fill both FMA pipes; four chains side by side do.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Exp4(ref Vector512<float> x0, ref Vector512<float> x1, ref Vector512<float> x2, ref Vector512<float> x3)
    {
        if (!Avx512F.IsSupported)
        {
            x0 = Exp(x0); x1 = Exp(x1); x2 = Exp(x2); x3 = Exp(x3);
            return;
        }
        var lo = Vector512.Create(MinX); var hi = Vector512.Create(ClampHi);
        var a0 = Avx512F.Min(hi, Avx512F.Max(lo, x0)); var a1 = Avx512F.Min(hi, Avx512F.Max(lo, x1));
        var a2 = Avx512F.Min(hi, Avx512F.Max(lo, x2)); var a3 = Avx512F.Min(hi, Avx512F.Max(lo, x3));
        var l2e = Vector512.Create(Log2E);
        var n0 = Avx512F.RoundScale(a0 * l2e, 0x08); var n1 = Avx512F.RoundScale(a1 * l2e, 0x08);
        var n2 = Avx512F.RoundScale(a2 * l2e, 0x08); var n3 = Avx512F.RoundScale(a3 * l2e, 0x08);
        var h = Vector512.Create(Ln2Hi);
        a0 = Avx512F.FusedMultiplyAddNegated(n0, h, a0); a1 = Avx512F.FusedMultiplyAddNegated(n1, h, a1);
        a2 = Avx512F.FusedMultiplyAddNegated(n2, h, a2); a3 = Avx512F.FusedMultiplyAddNegated(n3, h, a3);
        var l = Vector512.Create(Ln2Lo);
        a0 = Avx512F.FusedMultiplyAddNegated(n0, l, a0); a1 = Avx512F.FusedMultiplyAddNegated(n1, l, a1);
        a2 = Avx512F.FusedMultiplyAddNegated(n2, l, a2); a3 = Avx512F.FusedMultiplyAddNegated(n3, l, a3);
        var c7 = Vector512.Create(C7); var c = Vector512.Create(C6);
        var p0 = Avx512F.FusedMultiplyAdd(c7, a0, c); var p1 = Avx512F.FusedMultiplyAdd(c7, a1, c);
        var p2 = Avx512F.FusedMultiplyAdd(c7, a2, c); var p3 = Avx512F.FusedMultiplyAdd(c7, a3, c);
        c = Vector512.Create(C5);
        p0 = Avx512F.FusedMultiplyAdd(p0, a0, c); p1 = Avx512F.FusedMultiplyAdd(p1, a1, c);
        p2 = Avx512F.FusedMultiplyAdd(p2, a2, c); p3 = Avx512F.FusedMultiplyAdd(p3, a3, c);
        c = Vector512.Create(C4);
        p0 = Avx512F.FusedMultiplyAdd(p0, a0, c); p1 = Avx512F.FusedMultiplyAdd(p1, a1, c);
        p2 = Avx512F.FusedMultiplyAdd(p2, a2, c); p3 = Avx512F.FusedMultiplyAdd(p3, a3, c);
        c = Vector512.Create(C3);
        p0 = Avx512F.FusedMultiplyAdd(p0, a0, c); p1 = Avx512F.FusedMultiplyAdd(p1, a1, c);
        p2 = Avx512F.FusedMultiplyAdd(p2, a2, c); p3 = Avx512F.FusedMultiplyAdd(p3, a3, c);
        c = Vector512.Create(C2);
        p0 = Avx512F.FusedMultiplyAdd(p0, a0, c); p1 = Avx512F.FusedMultiplyAdd(p1, a1, c);
        p2 = Avx512F.FusedMultiplyAdd(p2, a2, c); p3 = Avx512F.FusedMultiplyAdd(p3, a3, c);
        c = Vector512<float>.One;
        p0 = Avx512F.FusedMultiplyAdd(p0, a0, c); p1 = Avx512F.FusedMultiplyAdd(p1, a1, c);
        p2 = Avx512F.FusedMultiplyAdd(p2, a2, c); p3 = Avx512F.FusedMultiplyAdd(p3, a3, c);
        p0 = Avx512F.FusedMultiplyAdd(p0, a0, c); p1 = Avx512F.FusedMultiplyAdd(p1, a1, c);
        p2 = Avx512F.FusedMultiplyAdd(p2, a2, c); p3 = Avx512F.FusedMultiplyAdd(p3, a3, c);
        x0 = Avx512F.Scale(p0, n0); x1 = Avx512F.Scale(p1, n1); x2 = Avx512F.Scale(p2, n2); x3 = Avx512F.Scale(p3, n3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ExpAvx2(Vector256<float> x)
    {
        var xc = Avx.Min(Vector256.Create(ClampHi), Avx.Max(Vector256.Create(MinX), x)); // NaN passes (see ExpAvx512)
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
        var ni = Avx.ConvertToVector256Int32(n); // n is integral: exact (NaN lanes give garbage, but p is NaN there)
        var n1 = Avx2.ShiftRightArithmetic(ni, 1);
        var n2 = Avx2.Subtract(ni, n1);
        var s1 = Avx2.ShiftLeftLogical(Avx2.Add(n1, Vector256.Create(127)), 23).AsSingle();
        var s2 = Avx2.ShiftLeftLogical(Avx2.Add(n2, Vector256.Create(127)), 23).AsSingle();
        return p * s1 * s2;
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
