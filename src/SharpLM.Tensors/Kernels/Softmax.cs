// Numerically stable softmax over the last dimension (rows of C): p = e^(x − max) / Σ e^(x − max), and
// its backward dinp += p ⊙ (dout − Σ dout·p) (the Jacobian-vector product, from the saved output p).
// Parallel over rows; vectorised exp (FastMath, four chains interleaved in Simd.ExpSub). The scalar
// twin (…Reference) works in double. Plain stores on purpose: a 4 KB row re-read from L1 by the
// scaling pass, with the exponentials staged in a per-thread buffer and the scaled row written with
// streaming stores, measured slower here (≈ 0.55 against ≈ 0.7 of copy bandwidth per CPU-second),
// and so did folding the max into the exp pass for rows this short.
// What it is not: a masked or causal softmax (attention does its own, fused), nor log-softmax.
using System.Runtime.Intrinsics;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Kernels;

/// <summary>Row softmax. Shapes: inp/out/dout/dinp (BT, C).</summary>
public static unsafe class Softmax
{
    /// <summary>out = softmax(inp) per row (out may equal inp).</summary>
    public static void Forward(float* output, float* inp, int BT, int C)
    {
        var body = new Fwd { Out = output, Inp = inp, C = C };
        WorkerPool.For(BT, WorkerPool.RowGrain(BT, C), ref body);
    }

    private struct Fwd : IParallelBody
    {
        public float* Out, Inp; public int C;
        public readonly void Execute(int start, int end)
        {
            for (int r = start; r < end; r++)
            {
                float* x = Inp + (long)r * C, o = Out + (long)r * C;
                float m = Simd.Max(x, C);
                float s = Simd.ExpSub(x, m, o, C);
                Simd.Scale(1f / s, o, C);
            }
        }
    }

    /// <summary>dinp += out ⊙ (dout − Σ dout·out) per row, from the forward's output.</summary>
    public static void Backward(float* dinp, float* output, float* dout, int BT, int C)
    {
        var body = new Bwd { Dinp = dinp, Out = output, Dout = dout, C = C };
        WorkerPool.For(BT, WorkerPool.RowGrain(BT, C), ref body);
    }

    private struct Bwd : IParallelBody
    {
        public float* Dinp, Out, Dout; public int C;
        public readonly void Execute(int start, int end)
        {
            for (int r = start; r < end; r++)
            {
                float* p = Out + (long)r * C, g = Dout + (long)r * C, dx = Dinp + (long)r * C;
                float d = Simd.Dot(p, g, C);
                int i = 0;
                if (Vector512.IsHardwareAccelerated)
                {
                    var dv = Vector512.Create(d);
                    for (; i + 16 <= C; i += 16) Vector512.FusedMultiplyAdd(Vector512.Load(p + i), Vector512.Load(g + i) - dv, Vector512.Load(dx + i)).Store(dx + i);
                }
                if (Vector256.IsHardwareAccelerated)
                {
                    var dv = Vector256.Create(d);
                    for (; i + 8 <= C; i += 8) Vector256.FusedMultiplyAdd(Vector256.Load(p + i), Vector256.Load(g + i) - dv, Vector256.Load(dx + i)).Store(dx + i);
                }
                for (; i < C; i++) dx[i] += p[i] * (g[i] - d);
            }
        }
    }

    /// <summary>Scalar twin of <see cref="Forward"/> (double, Math.Exp).</summary>
    public static void ForwardReference(Span<float> output, ReadOnlySpan<float> inp, int BT, int C)
    {
        for (int r = 0; r < BT; r++)
        {
            double m = double.NegativeInfinity; for (int i = 0; i < C; i++) m = Math.Max(m, inp[r * C + i]);
            double s = 0; for (int i = 0; i < C; i++) s += Math.Exp(inp[r * C + i] - m);
            for (int i = 0; i < C; i++) output[r * C + i] = (float)(Math.Exp(inp[r * C + i] - m) / s);
        }
    }

    /// <summary>Scalar twin of <see cref="Backward"/> (double).</summary>
    public static void BackwardReference(Span<float> dinp, ReadOnlySpan<float> output, ReadOnlySpan<float> dout, int BT, int C)
    {
        for (int r = 0; r < BT; r++)
        {
            double d = 0; for (int i = 0; i < C; i++) d += (double)output[r * C + i] * dout[r * C + i];
            for (int i = 0; i < C; i++) dinp[r * C + i] = (float)(dinp[r * C + i] + output[r * C + i] * (dout[r * C + i] - d));
        }
    }
}
