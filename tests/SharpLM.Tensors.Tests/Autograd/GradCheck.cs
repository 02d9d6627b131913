// Finite-difference gradient checking for the autograd ops. Each check runs the f32 op on the tape,
// back-propagates a random upstream gradient w (so the checked "loss" is Σ w ⊙ y and every output
// element contributes), and compares every input gradient (all of a small input, 64 probed elements of a
// large one) with central differences of an independent
// double-precision reference of the same function (written out per test as plain loops). Forward
// values are compared with the same reference. Differences are taken in float64 with a relative step
// of 1e-6, so the oracle's own error (~1e-9) is far below the f32 tolerance being asserted.
using SharpLM.Tensors.Autograd;

namespace SharpLM.Tensors.Tests.Autograd;

/// <summary>One input of a gradient check: shape, values, and whether a gradient is checked for it.</summary>
internal sealed record GradInput(int[] Shape, float[] Data, bool RequiresGrad = true);

internal static class GradCheck
{
    public static float[] Randn(int n, int seed, float scale = 1f, float shift = 0f)
    {
        var r = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1.0 - r.NextDouble(), u2 = r.NextDouble();
            a[i] = (float)(shift + scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return a;
    }

    /// <summary>Uniform values in [lo, hi).</summary>
    public static float[] Uniform(int n, int seed, float lo, float hi)
    {
        var r = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(lo + (hi - lo) * r.NextDouble());
        return a;
    }

    public static int Count(int[] shape)
    {
        int n = 1; foreach (int d in shape) n *= d; return n;
    }

    public static GradInput In(int seed, params int[] shape) => new(shape, Randn(Count(shape), seed));

    /// <summary>
    /// Runs <paramref name="op"/> on fresh leaves, checks its output against <paramref name="reference"/>
    /// (double) and every requested input gradient against central differences of Σ w ⊙ reference.
    /// </summary>
    public static void Check(string what, GradInput[] inputs, Func<Variable[], Variable> op, Func<double[][], double[]> reference,
        double atol = 1e-5, double rtol = 1e-4, double fwdAtol = 1e-5, double fwdRtol = 1e-5, int seed = 99)
    {
        var tensors = new Tensor[inputs.Length];
        var vars = new Variable[inputs.Length];
        using var tape = new Tape();
        try
        {
            for (int i = 0; i < inputs.Length; i++)
            {
                tensors[i] = Tensor.FromArray(inputs[i].Data, inputs[i].Shape);
                vars[i] = inputs[i].RequiresGrad ? Variable.Parameter(tensors[i]) : Variable.Constant(tensors[i]);
            }
            using (SharpLM.Tensors.Autograd.Autograd.UseTape(tape))
            {
                var y = op(vars);
                var x64 = new double[inputs.Length][];
                for (int i = 0; i < inputs.Length; i++) x64[i] = Array.ConvertAll(inputs[i].Data, v => (double)v);
                double[] yRef = reference(x64);
                float[] yv = y.Data.ToArray();
                Assert.True(yRef.Length == yv.Length, $"{what}: output has {yv.Length} elements, reference {yRef.Length}");
                Close(yRef, yv, fwdAtol, fwdRtol, $"{what} forward");

                var w = Randn(yv.Length, seed);
                using (var seedT = Tensor.FromArray(w, y.Shape.ToArray())) y.Backward(seedT);

                for (int i = 0; i < inputs.Length; i++)
                {
                    if (!inputs[i].RequiresGrad) { Assert.Null(vars[i].Grad); continue; }
                    Assert.True(vars[i].Grad is not null, $"{what}: input {i} received no gradient");
                    float[] g = vars[i].Grad!.ToArray();
                    // Each difference re-evaluates the whole reference, so large inputs are checked at
                    // their first and last 16 elements and 32 spread between (every block edge of a
                    // 4096-element driver is among them for the sizes used here).
                    foreach (int j in Probe(g.Length))
                    {
                        double old = x64[i][j], h = 1e-6 * Math.Max(1.0, Math.Abs(old));
                        x64[i][j] = old + h; double fp = Dot(w, reference(x64));
                        x64[i][j] = old - h; double fm = Dot(w, reference(x64));
                        x64[i][j] = old;
                        double fd = (fp - fm) / (2 * h);
                        if (!(Math.Abs(g[j] - fd) <= atol + rtol * Math.Abs(fd)))
                            Assert.Fail($"{what} d(input {i}): element {j} is {g[j]:R}, finite difference {fd:R} (|diff| {Math.Abs(g[j] - fd):G3} > {atol} + {rtol}·|e|)");
                    }
                }
            }
        }
        finally
        {
            foreach (var v in vars) v?.Dispose();
            foreach (var t in tensors) t?.Dispose();
        }
    }

    /// <summary>Indices to difference: all of a small input; of a large one the ends, the middle spread and 4095/4096.</summary>
    public static IEnumerable<int> Probe(int n)
    {
        if (n <= 64) { for (int j = 0; j < n; j++) yield return j; yield break; }
        var set = new SortedSet<int>();
        for (int j = 0; j < 16; j++) { set.Add(j); set.Add(n - 1 - j); }
        for (int j = 1; j <= 32; j++) set.Add((int)((long)j * (n - 1) / 33));
        if (n > 4096) { set.Add(4095); set.Add(4096); }
        foreach (int j in set) yield return j;
    }

    public static double Dot(float[] w, double[] y)
    {
        double s = 0; for (int i = 0; i < w.Length; i++) s += w[i] * y[i]; return s;
    }

    /// <summary>|a − e| ≤ atol + rtol·|e| element-wise, naming the first offender.</summary>
    public static void Close(double[] expected, ReadOnlySpan<float> actual, double atol, double rtol, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} elements, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (!(Math.Abs(a - e) <= atol + rtol * Math.Abs(e)))
                Assert.Fail($"{what}: element {i} is {a:R}, expected {e:R} (|diff| {Math.Abs(a - e):G3} > {atol} + {rtol}·|e|)");
        }
    }

    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol, double rtol, string what)
    {
        var e = new double[expected.Length];
        for (int i = 0; i < e.Length; i++) e[i] = expected[i];
        Close(e, actual, atol, rtol, what);
    }
}
