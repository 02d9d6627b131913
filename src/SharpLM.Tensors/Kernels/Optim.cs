// Optimizer-step kernels:
//   • AdamW (Loshchilov & Hutter 2019) exactly as torch.optim.AdamW's single-tensor path, same order:
//       p *= 1 − lr·wd;  m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;
//       p −= (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + eps)
//   • the global L2 norm of a gradient (fixed chunks, double partials summed in chunk order:
//     deterministic) and clipping by a scale (torch.nn.utils.clip_grad_norm_: s = min(1, max/(norm+1e-6)));
//   • dropout with a counter-based RNG: element i is kept iff hash(seed, offset + i) ≥ p·2³² (a SplitMix64
//     finaliser of the pair), so masks depend only on (seed, index) — never on threads — and backward
//     recomputes the mask instead of storing it. Kept elements are scaled by 1/(1−p) (inverted dropout).
// What it is not: other optimizers (SGD, Lion), fused multi-tensor lists (callers keep parameters in one
// flat buffer, as llm.c does), or torch's bit-exact RNG stream.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Kernels;

/// <summary>AdamW, gradient norm/clipping, dropout.</summary>
public static unsafe class Optim
{
    private const int Block = 16384;

    /// <summary>One AdamW step at step number <paramref name="t"/> (1-based) over N parameters, in place.</summary>
    public static void AdamW(float* param, float* grad, float* m, float* v, long N, float lr, float beta1, float beta2, float eps, float weightDecay, int t)
    {
        if (t < 1) throw new ArgumentOutOfRangeException(nameof(t), $"adamw: step must be ≥ 1, got {t}");
        var body = new AdamBody
        {
            P = param,
            G = grad,
            M = m,
            V = v,
            N = N,
            Decay = 1f - lr * weightDecay,
            B1 = beta1,
            B2 = beta2,
            Eps = eps,
            StepSize = lr / (1f - MathF.Pow(beta1, t)),
            Bc2Sqrt = MathF.Sqrt(1f - MathF.Pow(beta2, t)),
        };
        WorkerPool.For((int)((N + Block - 1) / Block), 1, ref body);
    }

    private struct AdamBody : IParallelBody
    {
        public float* P, G, M, V; public long N; public float Decay, B1, B2, Eps, StepSize, Bc2Sqrt;
        public readonly void Execute(int start, int end)
        {
            long i = (long)start * Block, n = Math.Min(N, (long)end * Block);
            float w1 = 1f - B1, w2 = 1f - B2;
            if (Vector512.IsHardwareAccelerated)
            {
                var dec = Vector512.Create(Decay); var vb1 = Vector512.Create(B1); var vw1 = Vector512.Create(w1); var vb2 = Vector512.Create(B2); var vw2 = Vector512.Create(w2);
                var eps = Vector512.Create(Eps); var step = Vector512.Create(StepSize); var bc = Vector512.Create(Bc2Sqrt);
                for (; i + 16 <= n; i += 16)
                {
                    var g = Vector512.Load(G + i); var mm = Vector512.Load(M + i); var vv = Vector512.Load(V + i);
                    var p = Vector512.Load(P + i) * dec;
                    mm = mm * vb1 + g * vw1;
                    vv = vv * vb2 + (g * g) * vw2;
                    var denom = Vector512.Sqrt(vv) / bc + eps;
                    p = p - step * (mm / denom);
                    p.Store(P + i); mm.Store(M + i); vv.Store(V + i);
                }
            }
            if (Vector256.IsHardwareAccelerated)
            {
                var dec = Vector256.Create(Decay); var vb1 = Vector256.Create(B1); var vw1 = Vector256.Create(w1); var vb2 = Vector256.Create(B2); var vw2 = Vector256.Create(w2);
                var eps = Vector256.Create(Eps); var step = Vector256.Create(StepSize); var bc = Vector256.Create(Bc2Sqrt);
                for (; i + 8 <= n; i += 8)
                {
                    var g = Vector256.Load(G + i); var mm = Vector256.Load(M + i); var vv = Vector256.Load(V + i);
                    var p = Vector256.Load(P + i) * dec;
                    mm = mm * vb1 + g * vw1;
                    vv = vv * vb2 + (g * g) * vw2;
                    var denom = Vector256.Sqrt(vv) / bc + eps;
                    p = p - step * (mm / denom);
                    p.Store(P + i); mm.Store(M + i); vv.Store(V + i);
                }
            }
            for (; i < n; i++)
            {
                float g = G[i], mm = M[i], vv = V[i];
                float p = P[i] * Decay;
                mm = mm * B1 + g * w1;
                vv = vv * B2 + (g * g) * w2;
                p = p - StepSize * (mm / (MathF.Sqrt(vv) / Bc2Sqrt + Eps));
                P[i] = p; M[i] = mm; V[i] = vv;
            }
        }
    }

    /// <summary>Scalar twin of <see cref="AdamW"/> in double (one rounding to float per stored state).</summary>
    public static void AdamWReference(Span<float> param, ReadOnlySpan<float> grad, Span<float> m, Span<float> v, float lr, float beta1, float beta2, float eps, float weightDecay, int t)
    {
        double bc1 = 1 - Math.Pow(beta1, t), bc2 = 1 - Math.Pow(beta2, t);
        for (int i = 0; i < param.Length; i++)
        {
            double p = param[i] * (1 - (double)lr * weightDecay);
            double mm = beta1 * (double)m[i] + (1 - (double)beta1) * grad[i];
            double vv = beta2 * (double)v[i] + (1 - (double)beta2) * grad[i] * (double)grad[i];
            p -= lr * (mm / bc1) / (Math.Sqrt(vv / bc2) + eps);
            param[i] = (float)p; m[i] = (float)mm; v[i] = (float)vv;
        }
    }

    /// <summary>√(Σ g²) over N elements, summed in double per fixed chunk and combined in chunk order.</summary>
    public static double GlobalNorm(float* grad, long N)
    {
        int chunks = (int)((N + Block - 1) / Block);
        if (chunks == 0) return 0;
        var partial = new double[chunks]; // one small array per call; this is once per step, not per element
        fixed (double* ps = partial)
        {
            var body = new NormBody { G = grad, N = N, Partial = ps };
            WorkerPool.For(chunks, 1, ref body);
        }
        double s = 0;
        for (int c = 0; c < chunks; c++) s += partial[c];
        return Math.Sqrt(s);
    }

    private struct NormBody : IParallelBody
    {
        public float* G; public long N; public double* Partial;
        public readonly void Execute(int start, int end)
        {
            for (int c = start; c < end; c++)
            {
                long i = (long)c * Block, n = Math.Min(N, i + Block);
                double s = 0;
                // float lanes over short runs (256 elements) then widened: exact enough and fast
                while (i < n)
                {
                    long stop = Math.Min(n, i + 256);
                    s += Simd.Dot(G + i, G + i, (int)(stop - i));
                    i = stop;
                }
                Partial[c] = s;
            }
        }
    }

    /// <summary>The factor torch's clip_grad_norm_ multiplies gradients by: min(1, maxNorm / (norm + 1e-6)).</summary>
    public static float ClipScale(double norm, double maxNorm) => (float)Math.Min(1.0, maxNorm / (norm + 1e-6));

    /// <summary>g *= scale over N elements.</summary>
    public static void ScaleInPlace(float* grad, long N, float scale)
    {
        var body = new ScaleBody { G = grad, N = N, S = scale };
        WorkerPool.For((int)((N + Block - 1) / Block), 1, ref body);
    }

    private struct ScaleBody : IParallelBody
    {
        public float* G; public long N; public float S;
        public readonly void Execute(int start, int end)
        {
            long i = (long)start * Block, n = Math.Min(N, (long)end * Block);
            Simd.Scale(S, G + i, (int)(n - i));
        }
    }

    // ---------------------------------------------------------------- dropout

    /// <summary>The 32-bit counter-based random value of element <paramref name="index"/> under <paramref name="seed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash(ulong seed, ulong index)
    {
        ulong z = seed * 0x9E3779B97F4A7C15ul + index * 0xD1B54A32D192ED03ul + 0x632BE59BD9B4E019ul;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ul;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBul;
        return (uint)((z ^ (z >> 31)) >> 32);
    }

    /// <summary>out[i] = keep(i) ? inp[i]/(1−p) : 0 with keep(i) ⇔ Hash(seed, offset+i) ≥ p·2³². p in [0, 1).</summary>
    public static void DropoutForward(float* output, float* inp, long N, float p, ulong seed, ulong offset = 0)
    {
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), $"dropout: p must be in [0, 1), got {p}");
        var body = new DropBody { Out = output, In = inp, N = N, Threshold = (uint)Math.Min(uint.MaxValue, (double)p * 4294967296.0), Scale = 1f / (1f - p), Seed = seed, Offset = offset, Acc = false };
        WorkerPool.For((int)((N + Block - 1) / Block), 1, ref body);
    }

    /// <summary>dinp[i] += keep(i) ? dout[i]/(1−p) : 0 — the same mask as the forward with the same seed/offset.</summary>
    public static void DropoutBackward(float* dinp, float* dout, long N, float p, ulong seed, ulong offset = 0)
    {
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), $"dropout: p must be in [0, 1), got {p}");
        var body = new DropBody { Out = dinp, In = dout, N = N, Threshold = (uint)Math.Min(uint.MaxValue, (double)p * 4294967296.0), Scale = 1f / (1f - p), Seed = seed, Offset = offset, Acc = true };
        WorkerPool.For((int)((N + Block - 1) / Block), 1, ref body);
    }

    private struct DropBody : IParallelBody
    {
        public float* Out, In; public long N; public uint Threshold; public float Scale; public ulong Seed, Offset; public bool Acc;
        public readonly void Execute(int start, int end)
        {
            long i = (long)start * Block, n = Math.Min(N, (long)end * Block);
            for (; i < n; i++)
            {
                float y = Hash(Seed, Offset + (ulong)i) >= Threshold ? In[i] * Scale : 0f;
                if (Acc) Out[i] += y; else Out[i] = y;
            }
        }
    }
}
