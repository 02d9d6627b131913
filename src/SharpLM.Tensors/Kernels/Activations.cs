// Element-wise activations, forward and backward (backward accumulates into dinp):
//   GELU, tanh approximation as GPT-2 / torch.nn.functional.gelu(approximate="tanh"):
//     gelu(x) = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³). Since ½(1 + tanh u) = σ(2u), we compute
//     x·σ(2u), which has no cancellation for negative x; d/dx = s + 2x·s(1−s)·u′ with s = σ(2u).
//   SiLU (Hendrycks & Gimpel; Elfwing et al.): silu(x) = x·σ(x), d/dx = σ(x)(1 + x(1 − σ(x))).
//   SwiGLU (Shazeer 2020, as Llama's MLP): out = silu(a)·b over two inputs of the same shape.
// Vectorised through FastMath.Exp; parallel over fixed blocks of elements. Each kernel has a scalar
// twin (…Reference) in double precision with Math.Exp/Math.Tanh: the test oracle.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Kernels;

/// <summary>GELU (tanh), SiLU and SwiGLU over flat arrays of N elements.</summary>
public static unsafe class Activations
{
    private const int Block = 8192;
    private const float GeluK = 0.7978845608028654f; // √(2/π)
    private const float GeluC = 0.044715f;

    private enum Kind { GeluF, GeluB, SiluF, SiluB, SwigluF, SwigluB }

    private struct Body : IParallelBody
    {
        public Kind K; public long N;
        public float* A, B, C, D, E; // meaning per kind, see the public entry points
        public readonly void Execute(int start, int end)
        {
            long i = (long)start * Block, stop = Math.Min(N, (long)end * Block);
            switch (K)
            {
                case Kind.GeluF: GeluF(A, B, i, stop); break;
                case Kind.GeluB: GeluB(A, B, C, i, stop); break;
                case Kind.SiluF: SiluF(A, B, i, stop); break;
                case Kind.SiluB: SiluB(A, B, C, i, stop); break;
                case Kind.SwigluF: SwigluF(A, B, C, i, stop); break;
                case Kind.SwigluB: SwigluB(A, B, C, D, E, i, stop); break;
            }
        }
    }

    private static void Run(Kind k, long N, float* a, float* b, float* c = null, float* d = null, float* e = null)
    {
        var body = new Body { K = k, N = N, A = a, B = b, C = c, D = d, E = e };
        WorkerPool.For((int)((N + Block - 1) / Block), 1, ref body);
    }

    /// <summary>out = gelu_tanh(inp).</summary>
    public static void GeluForward(float* output, float* inp, long N) => Run(Kind.GeluF, N, output, inp);
    /// <summary>dinp += gelu_tanh′(inp)·dout.</summary>
    public static void GeluBackward(float* dinp, float* inp, float* dout, long N) => Run(Kind.GeluB, N, dinp, inp, dout);
    /// <summary>out = silu(inp).</summary>
    public static void SiluForward(float* output, float* inp, long N) => Run(Kind.SiluF, N, output, inp);
    /// <summary>dinp += silu′(inp)·dout.</summary>
    public static void SiluBackward(float* dinp, float* inp, float* dout, long N) => Run(Kind.SiluB, N, dinp, inp, dout);
    /// <summary>out = silu(a)·b.</summary>
    public static void SwiGluForward(float* output, float* a, float* b, long N) => Run(Kind.SwigluF, N, output, a, b);
    /// <summary>da += silu′(a)·b·dout; db += silu(a)·dout.</summary>
    public static void SwiGluBackward(float* da, float* db, float* a, float* b, float* dout, long N) => Run(Kind.SwigluB, N, da, db, a, b, dout);

    // --- scalar forms (also the tails of the vector loops)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float GeluS(float x) { float u = GeluK * x * (1f + GeluC * x * x); return x * FastMath.Sigmoid(2f * u); }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float GeluGradS(float x)
    {
        float x2 = x * x, u = GeluK * x * (1f + GeluC * x2);
        float s = Sig(2f * u, out float oneMinusS);
        return s + 2f * x * s * oneMinusS * GeluK * (1f + 3f * GeluC * x2);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SiluGradS(float x) { float s = Sig(x, out float oms); return s * (1f + x * oms); }

    // σ(x) and 1 − σ(x) without cancellation: for σ > ½, 1 − σ = e^(−x)·σ exactly in real arithmetic.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Sig(float x, out float oneMinusS)
    {
        float e = FastMath.Exp(-x), s = 1f / (1f + e);
        oneMinusS = s > 0.5f ? e * s : 1f - s;
        return s;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Sig(Vector256<float> x, out Vector256<float> oneMinusS)
    {
        var e = FastMath.Exp(-x); var s = Vector256<float>.One / (Vector256<float>.One + e);
        oneMinusS = Vector256.ConditionalSelect(Vector256.GreaterThan(s, Vector256.Create(0.5f)), e * s, Vector256<float>.One - s);
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Sig(Vector512<float> x, out Vector512<float> oneMinusS)
    {
        var e = FastMath.Exp(-x); var s = Vector512<float>.One / (Vector512<float>.One + e);
        oneMinusS = Vector512.ConditionalSelect(Vector512.GreaterThan(s, Vector512.Create(0.5f)), e * s, Vector512<float>.One - s);
        return s;
    }

    private static void GeluF(float* o, float* x, long i, long n)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            var k = Vector512.Create(GeluK); var c = Vector512.Create(GeluC); var one = Vector512<float>.One;
            for (; i + 16 <= n; i += 16)
            {
                var v = Vector512.Load(x + i);
                var u = k * v * Vector512.FusedMultiplyAdd(c * v, v, one);
                (v * FastMath.Sigmoid(u + u)).Store(o + i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var k = Vector256.Create(GeluK); var c = Vector256.Create(GeluC); var one = Vector256<float>.One;
            for (; i + 8 <= n; i += 8)
            {
                var v = Vector256.Load(x + i);
                var u = k * v * Vector256.FusedMultiplyAdd(c * v, v, one);
                (v * FastMath.Sigmoid(u + u)).Store(o + i);
            }
        }
        for (; i < n; i++) o[i] = GeluS(x[i]);
    }

    private static void GeluB(float* dx, float* x, float* g, long i, long n)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            var k = Vector512.Create(GeluK); var c = Vector512.Create(GeluC); var c3 = Vector512.Create(3f * GeluC); var one = Vector512<float>.One;
            for (; i + 16 <= n; i += 16)
            {
                var v = Vector512.Load(x + i); var v2 = v * v;
                var u = k * v * Vector512.FusedMultiplyAdd(c, v2, one);
                var s = Sig(u + u, out var oms);
                var du = k * Vector512.FusedMultiplyAdd(c3, v2, one);
                var grad = s + (v + v) * s * oms * du;
                Vector512.FusedMultiplyAdd(grad, Vector512.Load(g + i), Vector512.Load(dx + i)).Store(dx + i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var k = Vector256.Create(GeluK); var c = Vector256.Create(GeluC); var c3 = Vector256.Create(3f * GeluC); var one = Vector256<float>.One;
            for (; i + 8 <= n; i += 8)
            {
                var v = Vector256.Load(x + i); var v2 = v * v;
                var u = k * v * Vector256.FusedMultiplyAdd(c, v2, one);
                var s = Sig(u + u, out var oms);
                var du = k * Vector256.FusedMultiplyAdd(c3, v2, one);
                var grad = s + (v + v) * s * oms * du;
                Vector256.FusedMultiplyAdd(grad, Vector256.Load(g + i), Vector256.Load(dx + i)).Store(dx + i);
            }
        }
        for (; i < n; i++) dx[i] += GeluGradS(x[i]) * g[i];
    }

    private static void SiluF(float* o, float* x, long i, long n)
    {
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) { var v = Vector256.Load(x + i); (v * FastMath.Sigmoid(v)).Store(o + i); }
        for (; i < n; i++) o[i] = x[i] * FastMath.Sigmoid(x[i]);
    }

    private static void SiluB(float* dx, float* x, float* g, long i, long n)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256<float>.One;
            for (; i + 8 <= n; i += 8)
            {
                var v = Vector256.Load(x + i); var s = Sig(v, out var oms);
                var grad = s * Vector256.FusedMultiplyAdd(v, oms, one);
                Vector256.FusedMultiplyAdd(grad, Vector256.Load(g + i), Vector256.Load(dx + i)).Store(dx + i);
            }
        }
        for (; i < n; i++) dx[i] += SiluGradS(x[i]) * g[i];
    }

    private static void SwigluF(float* o, float* a, float* b, long i, long n)
    {
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8) { var v = Vector256.Load(a + i); (v * FastMath.Sigmoid(v) * Vector256.Load(b + i)).Store(o + i); }
        for (; i < n; i++) o[i] = a[i] * FastMath.Sigmoid(a[i]) * b[i];
    }

    private static void SwigluB(float* da, float* db, float* a, float* b, float* g, long i, long n)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256<float>.One;
            for (; i + 8 <= n; i += 8)
            {
                var v = Vector256.Load(a + i); var s = Sig(v, out var oms); var gv = Vector256.Load(g + i);
                var grad = s * Vector256.FusedMultiplyAdd(v, oms, one);
                Vector256.FusedMultiplyAdd(grad * Vector256.Load(b + i), gv, Vector256.Load(da + i)).Store(da + i);
                Vector256.FusedMultiplyAdd(v * s, gv, Vector256.Load(db + i)).Store(db + i);
            }
        }
        for (; i < n; i++)
        {
            float s = Sig(a[i], out float oms);
            da[i] += s * (1f + a[i] * oms) * b[i] * g[i];
            db[i] += a[i] * s * g[i];
        }
    }

    // --- scalar twins in double (oracles)

    /// <summary>Exact gelu_tanh in double.</summary>
    public static double GeluReference(double x) => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    /// <summary>Exact derivative of gelu_tanh in double.</summary>
    public static double GeluGradReference(double x)
    {
        double k = Math.Sqrt(2 / Math.PI), u = k * (x + 0.044715 * x * x * x), t = Math.Tanh(u);
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x);
    }
    /// <summary>Exact silu in double.</summary>
    public static double SiluReference(double x) => x / (1 + Math.Exp(-x));
    /// <summary>Exact derivative of silu in double.</summary>
    public static double SiluGradReference(double x) { double s = 1 / (1 + Math.Exp(-x)); return s * (1 + x * (1 - s)); }
}
