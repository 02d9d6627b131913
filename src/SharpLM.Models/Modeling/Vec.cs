// Row helpers for the model's glue kernels (the engine's own are internal to SharpLM.Tensors): max, sum of
// exp, add, dot, axpy over float rows, Vector512 when the CPU accelerates it, else Vector256, scalar tails.
// The reduction order is fixed for a given length and machine, so results are deterministic.
using System.Runtime.Intrinsics;
using SharpLM.Tensors.Kernels;

namespace SharpLM.Models.Modeling;

internal static unsafe class Vec
{
    public static float Max(float* x, int n)
    {
        int i = 0; float m = float.NegativeInfinity;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var a = Vector512.Create(float.NegativeInfinity);
            for (; i + 16 <= n; i += 16) a = Vector512.Max(a, Vector512.Load(x + i));
            for (int k = 0; k < 16; k++) m = MathF.Max(m, a[k]);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var a = Vector256.Create(float.NegativeInfinity);
            for (; i + 8 <= n; i += 8) a = Vector256.Max(a, Vector256.Load(x + i));
            for (int k = 0; k < 8; k++) m = MathF.Max(m, a[k]);
        }
        for (; i < n; i++) m = MathF.Max(m, x[i]);
        return m;
    }

    /// <summary>Σ e^(x[i] − m).</summary>
    public static float ExpSum(float* x, float m, int n)
    {
        int i = 0; float s = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var a = Vector512<float>.Zero; var mv = Vector512.Create(m);
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

    /// <summary>y += x.</summary>
    public static void Add(float* x, float* y, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated) for (; i + 16 <= n; i += 16) (Vector512.Load(y + i) + Vector512.Load(x + i)).Store(y + i);
        if (Vector256.IsHardwareAccelerated) for (; i + 8 <= n; i += 8) (Vector256.Load(y + i) + Vector256.Load(x + i)).Store(y + i);
        for (; i < n; i++) y[i] += x[i];
    }

    /// <summary>Σ x[i]·y[i].</summary>
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

    /// <summary>y += a·x.</summary>
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
}
