// Helpers for the kernel tests: seeded random inputs, element-wise closeness with a named first
// mismatch, and central finite differences of a scalar function in double.
namespace SharpLM.Tensors.Tests.Kernels;

internal static class KernelAssert
{
    public static float[] Randn(int n, int seed, float scale = 1f)
    {
        var r = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1.0 - r.NextDouble(), u2 = r.NextDouble();
            a[i] = (float)(scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return a;
    }

    /// <summary>Asserts |a − e| ≤ atol + rtol·|e| element-wise, reporting the first offender.</summary>
    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol, double rtol, string what)
    {
        Assert.True(expected.Length <= actual.Length, $"{what}: length {actual.Length} < {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) && double.IsNaN(a)) continue;
            if (!(Math.Abs(a - e) <= atol + rtol * Math.Abs(e)))
                Assert.Fail($"{what}: element {i} is {a:R}, expected {e:R} (|diff| {Math.Abs(a - e):G3} > {atol} + {rtol}·|e|)");
        }
    }

    /// <summary>Central difference ∂f/∂x[i] with step h (x is restored afterwards).</summary>
    public static double Fd(float[] x, int i, double h, Func<double> f)
    {
        float old = x[i];
        x[i] = (float)(old + h); double fp = f();
        x[i] = (float)(old - h); double fm = f();
        double hh = ((double)(float)(old + h) - (float)(old - h)) / 2; // the step actually taken in float
        x[i] = old;
        return (fp - fm) / (2 * hh);
    }

    /// <summary>Σ w·y in double: the scalar "loss" whose gradient wrt y is w.</summary>
    public static double Dot(ReadOnlySpan<float> w, ReadOnlySpan<float> y)
    {
        double s = 0; for (int i = 0; i < w.Length; i++) s += (double)w[i] * y[i]; return s;
    }
}
