// Small vector helpers the kernels share (row sums, dot products, scaled adds) with a fixed
// reduction order for a given length and machine, so results are deterministic. Vector512 when the
// CPU accelerates it, Vector256 otherwise, scalar tails.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpLM.Tensors.Kernels;

/// <summary>Row helpers over float pointers with a fixed reduction order (shared by the engine's kernels and the model's glue).</summary>
public static unsafe class Simd
{
    /// <summary>Σ x[i].</summary>
    public static float Sum(float* x, int n)
    {
        int i = 0; float s = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var a = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16) a += Vector512.Load(x + i);
            s = Vector512.Sum(a);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var a = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8) a += Vector256.Load(x + i);
            s = Vector256.Sum(a);
        }
        for (; i < n; i++) s += x[i];
        return s;
    }

    /// <summary>Σ x[i]·y[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(float* x, float* y, int n)
    {
        int i = 0; float s = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var a = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16) a = Vector512.FusedMultiplyAdd(Vector512.Load(x + i), Vector512.Load(y + i), a);
            s = Vector512.Sum(a);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var a = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8) a = Vector256.FusedMultiplyAdd(Vector256.Load(x + i), Vector256.Load(y + i), a);
            s = Vector256.Sum(a);
        }
        for (; i < n; i++) s = MathF.FusedMultiplyAdd(x[i], y[i], s);
        return s;
    }

    /// <summary>Σ (x[i] − m)².</summary>
    public static float SumSqDiff(float* x, float m, int n)
    {
        int i = 0; float s = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var a = Vector512<float>.Zero; var mv = Vector512.Create(m);
            for (; i + 16 <= n; i += 16) { var d = Vector512.Load(x + i) - mv; a = Vector512.FusedMultiplyAdd(d, d, a); }
            s = Vector512.Sum(a);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var a = Vector256<float>.Zero; var mv = Vector256.Create(m);
            for (; i + 8 <= n; i += 8) { var d = Vector256.Load(x + i) - mv; a = Vector256.FusedMultiplyAdd(d, d, a); }
            s = Vector256.Sum(a);
        }
        for (; i < n; i++) { float d = x[i] - m; s = MathF.FusedMultiplyAdd(d, d, s); }
        return s;
    }

    /// <summary>y[i] += a·x[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(float a, float* x, float* y, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var av = Vector512.Create(a);
            for (; i + 16 <= n; i += 16) Vector512.FusedMultiplyAdd(av, Vector512.Load(x + i), Vector512.Load(y + i)).Store(y + i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var av = Vector256.Create(a);
            for (; i + 8 <= n; i += 8) Vector256.FusedMultiplyAdd(av, Vector256.Load(x + i), Vector256.Load(y + i)).Store(y + i);
        }
        for (; i < n; i++) y[i] = MathF.FusedMultiplyAdd(a, x[i], y[i]);
    }

    /// <summary>y[i] *= a.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Scale(float a, float* y, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var av = Vector512.Create(a);
            for (; i + 16 <= n; i += 16) (Vector512.Load(y + i) * av).Store(y + i);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var av = Vector256.Create(a);
            for (; i + 8 <= n; i += 8) (Vector256.Load(y + i) * av).Store(y + i);
        }
        for (; i < n; i++) y[i] *= a;
    }

    /// <summary>y[i] += x[i].</summary>
    public static void Add(float* x, float* y, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16) (Vector512.Load(y + i) + Vector512.Load(x + i)).Store(y + i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) (Vector256.Load(y + i) + Vector256.Load(x + i)).Store(y + i);
        for (; i < n; i++) y[i] += x[i];
    }

    /// <summary>max x[i] (n ≥ 1).</summary>
    public static float Max(float* x, int n)
    {
        int i = 0; float m = float.NegativeInfinity;
        if (Avx512F.IsSupported && n >= 16)
        {
            // Raw vmaxps (the portable Max adds NaN/±0 fix-ups) over four independent chains. A NaN may
            // be dropped here, but it still makes every exp(x − max) of its row NaN, so callers' rows
            // come out NaN as before; the maximum itself is exact, so the chain split changes no bits.
            var a0 = Vector512.Create(float.NegativeInfinity); var a1 = a0; var a2 = a0; var a3 = a0;
            for (; i + 64 <= n; i += 64)
            {
                a0 = Avx512F.Max(a0, Vector512.Load(x + i)); a1 = Avx512F.Max(a1, Vector512.Load(x + i + 16));
                a2 = Avx512F.Max(a2, Vector512.Load(x + i + 32)); a3 = Avx512F.Max(a3, Vector512.Load(x + i + 48));
            }
            for (; i + 16 <= n; i += 16) a0 = Avx512F.Max(a0, Vector512.Load(x + i));
            var a = Avx512F.Max(Avx512F.Max(a0, a1), Avx512F.Max(a2, a3));
            for (int j = 0; j < 16; j++) m = MathF.Max(m, a[j]);
        }
        else if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var a = Vector512.Create(float.NegativeInfinity);
            for (; i + 16 <= n; i += 16) a = Vector512.Max(a, Vector512.Load(x + i));
            for (int j = 0; j < 16; j++) m = MathF.Max(m, a[j]);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var a = Vector256.Create(float.NegativeInfinity);
            for (; i + 8 <= n; i += 8) a = Vector256.Max(a, Vector256.Load(x + i));
            for (int j = 0; j < 8; j++) m = MathF.Max(m, a[j]);
        }
        for (; i < n; i++) m = MathF.Max(m, x[i]);
        return m;
    }

    /// <summary>y[i] = e^(x[i] − m); returns Σ y[i].</summary>
    public static float ExpSub(float* x, float m, float* y, int n)
    {
        int i = 0; float s = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var a = Vector512<float>.Zero; var mv = Vector512.Create(m);
            for (; i + 64 <= n; i += 64)
            {
                var e0 = Vector512.Load(x + i) - mv; var e1 = Vector512.Load(x + i + 16) - mv;
                var e2 = Vector512.Load(x + i + 32) - mv; var e3 = Vector512.Load(x + i + 48) - mv;
                FastMath.Exp4(ref e0, ref e1, ref e2, ref e3);
                e0.Store(y + i); e1.Store(y + i + 16); e2.Store(y + i + 32); e3.Store(y + i + 48);
                a += e0; a += e1; a += e2; a += e3;
            }
            for (; i + 16 <= n; i += 16) { var e = FastMath.Exp(Vector512.Load(x + i) - mv); e.Store(y + i); a += e; }
            s = Vector512.Sum(a);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var a = Vector256<float>.Zero; var mv = Vector256.Create(m);
            for (; i + 8 <= n; i += 8) { var e = FastMath.Exp(Vector256.Load(x + i) - mv); e.Store(y + i); a += e; }
            s = Vector256.Sum(a);
        }
        for (; i < n; i++) { float e = FastMath.Exp(x[i] - m); y[i] = e; s += e; }
        return s;
    }

    /// <summary>
    /// One sweep of e^(x[i] − m) against a reference m that need not be the maximum: writes y[i] (unless y
    /// is null) and returns Σ e^(x[i] − m). <paramref name="redo"/> is set when some x[i] exceeds
    /// m + <see cref="ExpHeadroom"/>: below that nothing can overflow and the result is as good as
    /// against the true max (softmax and logsumexp do not depend on the reference); above it the caller
    /// redoes the row against its max. This folds the max pass of a stable softmax into the exp pass,
    /// so a row is read from memory once and its loads overlap the exponentials. The bound is checked
    /// with one vector compare per 64 elements, so no horizontal max is ever reduced.
    /// </summary>
    public static float ExpSubRef(float* x, float m, float* y, int n, out bool redo)
    {
        int i = 0; float s = 0; bool over = false;
        float lim = m + ExpHeadroom;
        if (Avx512F.IsSupported && n >= 16)
        {
            var a0 = Vector512<float>.Zero; var a1 = a0;
            var b0 = Vector512.Create(float.NegativeInfinity); var b1 = b0;
            var mv = Vector512.Create(m);
            for (; i + 64 <= n; i += 64)
            {
                // 8 KB ahead: the exponentials keep the out-of-order window too full for the loads alone
                // to run far ahead of use (+15–25 % on one thread here); a prefetch past the end is harmless.
                float* pf = x + i + 2048;
                Sse.Prefetch0(pf); Sse.Prefetch0(pf + 16); Sse.Prefetch0(pf + 32); Sse.Prefetch0(pf + 48);
                var e0 = Vector512.Load(x + i); var e1 = Vector512.Load(x + i + 16);
                var e2 = Vector512.Load(x + i + 32); var e3 = Vector512.Load(x + i + 48);
                b0 = Avx512F.Max(b0, Avx512F.Max(e0, e1)); b1 = Avx512F.Max(b1, Avx512F.Max(e2, e3));
                e0 -= mv; e1 -= mv; e2 -= mv; e3 -= mv;
                FastMath.Exp4(ref e0, ref e1, ref e2, ref e3);
                if (y != null) { e0.Store(y + i); e1.Store(y + i + 16); e2.Store(y + i + 32); e3.Store(y + i + 48); }
                a0 += e0 + e1; a1 += e2 + e3;
            }
            for (; i + 16 <= n; i += 16)
            {
                var v = Vector512.Load(x + i);
                b0 = Avx512F.Max(b0, v);
                var e = FastMath.Exp(v - mv);
                if (y != null) e.Store(y + i);
                a0 += e;
            }
            s = Vector512.Sum(a0 + a1);
            over = Vector512.GreaterThanAny(Avx512F.Max(b0, b1), Vector512.Create(lim));
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var a = Vector256<float>.Zero; var b = Vector256.Create(float.NegativeInfinity); var mv = Vector256.Create(m);
            for (; i + 8 <= n; i += 8)
            {
                var v = Vector256.Load(x + i);
                b = Vector256.Max(b, v);
                var e = FastMath.Exp(v - mv);
                if (y != null) e.Store(y + i);
                a += e;
            }
            s = Vector256.Sum(a);
            over = Vector256.GreaterThanAny(b, Vector256.Create(lim));
        }
        for (; i < n; i++)
        {
            over |= x[i] > lim;
            float e = FastMath.Exp(x[i] - m);
            if (y != null) y[i] = e;
            s += e;
        }
        redo = over;
        return s;
    }

    /// <summary>How far the maximum may exceed the reference of <see cref="ExpSubRef"/> with no overflow: e^64·2³² ≪ float.MaxValue.</summary>
    public const float ExpHeadroom = 64f;

    /// <summary>Σ e^(x[i] − m).</summary>
    public static float ExpSum(float* x, float m, int n)
    {
        int i = 0; float s = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var a = Vector512<float>.Zero; var mv = Vector512.Create(m);
            for (; i + 64 <= n; i += 64)
            {
                var e0 = Vector512.Load(x + i) - mv; var e1 = Vector512.Load(x + i + 16) - mv;
                var e2 = Vector512.Load(x + i + 32) - mv; var e3 = Vector512.Load(x + i + 48) - mv;
                FastMath.Exp4(ref e0, ref e1, ref e2, ref e3);
                a += e0; a += e1; a += e2; a += e3;
            }
            for (; i + 16 <= n; i += 16) a += FastMath.Exp(Vector512.Load(x + i) - mv);
            s = Vector512.Sum(a);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var a = Vector256<float>.Zero; var mv = Vector256.Create(m);
            for (; i + 8 <= n; i += 8) a += FastMath.Exp(Vector256.Load(x + i) - mv);
            s = Vector256.Sum(a);
        }
        for (; i < n; i++) s += FastMath.Exp(x[i] - m);
        return s;
    }
}
