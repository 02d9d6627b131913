// LayerNorm (Ba et al. 2016, as torch.nn.LayerNorm over the last dim, biased variance) and RMSNorm
// (Zhang & Sennrich 2019, as Hugging Face LlamaRMSNorm: x · rsqrt(mean(x²) + eps) · w), forward and
// backward over rows of C channels, llm.c style: forward saves mean/rstd, backward accumulates (+=)
// into dinp, dweight, dbias. Parallel over rows; dweight/dbias are reduced per fixed chunk of rows into
// scratch partials that are then summed in chunk order, so results do not depend on thread timing.
// Each kernel has a scalar twin (…Reference) accumulating in double: the test oracle.
// The backward kernels also read a bf16 saved input (mixed-precision training), widening it row by row.
// What it is not: a norm over other axes, or a bf16 forward.
using System.Runtime.Intrinsics;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Kernels;

/// <summary>LayerNorm and RMSNorm kernels. Shapes: inp/out/dout/dinp (BT, C); weight/bias (C); mean/rstd (BT).</summary>
public static unsafe class Norms
{
    private const int RowGrain = 16;

    // ---------------------------------------------------------------- LayerNorm

    /// <summary>out = (inp − mean)·rstd·weight + bias per row; saves mean and rstd (BT each).</summary>
    public static void LayerNormForward(float* output, float* mean, float* rstd, float* inp, float* weight, float* bias, int BT, int C, float eps = 1e-5f)
    {
        var body = new LnFwd { Out = output, Mean = mean, Rstd = rstd, Inp = inp, W = weight, Bias = bias, C = C, Eps = eps };
        WorkerPool.For(BT, WorkerPool.RowGrain(BT, C), ref body);
    }

    /// <summary>As <see cref="LayerNormForward(float*, float*, float*, float*, float*, float*, int, int, float)"/>, also writing keep = bf16(out) (round to nearest even) while each row is in cache.</summary>
    public static void LayerNormForward(float* output, float* mean, float* rstd, float* inp, float* weight, float* bias, int BT, int C, float eps, ushort* keep)
    {
        var body = new LnFwd { Out = output, Mean = mean, Rstd = rstd, Inp = inp, W = weight, Bias = bias, C = C, Eps = eps, Keep = keep };
        WorkerPool.For(BT, WorkerPool.RowGrain(BT, C), ref body);
    }

    private struct LnFwd : IParallelBody
    {
        public float* Out, Mean, Rstd, Inp, W, Bias; public ushort* Keep; public int C; public float Eps;
        public readonly void Execute(int start, int end)
        {
            for (int r = start; r < end; r++)
            {
                float* x = Inp + (long)r * C, o = Out + (long)r * C;
                float m = Simd.Sum(x, C) / C;
                float v = Simd.SumSqDiff(x, m, C) / C;
                float s = 1f / MathF.Sqrt(v + Eps);
                Mean[r] = m; Rstd[r] = s;
                int i = 0;
                if (Vector512.IsHardwareAccelerated)
                {
                    var mv = Vector512.Create(m); var sv = Vector512.Create(s);
                    for (; i + 16 <= C; i += 16)
                        Vector512.FusedMultiplyAdd((Vector512.Load(x + i) - mv) * sv, Vector512.Load(W + i), Vector512.Load(Bias + i)).Store(o + i);
                }
                if (Vector256.IsHardwareAccelerated)
                {
                    var mv = Vector256.Create(m); var sv = Vector256.Create(s);
                    for (; i + 8 <= C; i += 8)
                        Vector256.FusedMultiplyAdd((Vector256.Load(x + i) - mv) * sv, Vector256.Load(W + i), Vector256.Load(Bias + i)).Store(o + i);
                }
                for (; i < C; i++) o[i] = MathF.FusedMultiplyAdd((x[i] - m) * s, W[i], Bias[i]);
                if (Keep != null) BFloat16Convert.FromFloat(o, Keep + (long)r * C, C);
            }
        }
    }

    /// <summary>Accumulates dinp, dweight, dbias (+=) from dout and the saved mean/rstd. dbias may be null.</summary>
    public static void LayerNormBackward(float* dinp, float* dweight, float* dbias, float* dout, float* inp, float* weight, float* mean, float* rstd, int BT, int C)
    {
        int grain = RowGrain;
        int chunks = WorkerPool.ChunkCount(BT, grain);
        float* partial = Scratch.Floats(0, (long)chunks * 2 * C);
        var body = new LnBwd { Dinp = dinp, Dout = dout, Inp = inp, W = weight, Mean = mean, Rstd = rstd, C = C, Grain = grain, Partial = partial };
        WorkerPool.For(BT, grain, ref body);
        var red = new ReducePartials { Partial = partial, Chunks = chunks, Width = 2 * C, C = C, Dw = dweight, Db = dbias };
        WorkerPool.For(C, 256, ref red);
    }

    /// <summary>
    /// As <see cref="LayerNormBackward(float*, float*, float*, float*, float*, float*, float*, float*, int, int)"/>
    /// with the saved input stored as bf16 (raw bits): each row is widened exactly into an f32 row scratch, then
    /// the same arithmetic runs, so the result equals the f32 kernel on the widened input bit for bit.
    /// </summary>
    public static void LayerNormBackward(float* dinp, float* dweight, float* dbias, float* dout, ushort* inp, float* weight, float* mean, float* rstd, int BT, int C)
    {
        int grain = RowGrain;
        int chunks = WorkerPool.ChunkCount(BT, grain);
        float* partial = Scratch.Floats(0, (long)chunks * 2 * C);
        var body = new LnBwd { Dinp = dinp, Dout = dout, InpB = inp, W = weight, Mean = mean, Rstd = rstd, C = C, Grain = grain, Partial = partial };
        WorkerPool.For(BT, grain, ref body);
        var red = new ReducePartials { Partial = partial, Chunks = chunks, Width = 2 * C, C = C, Dw = dweight, Db = dbias };
        WorkerPool.For(C, 256, ref red);
    }

    private struct LnBwd : IParallelBody
    {
        public float* Dinp, Dout, Inp, W, Mean, Rstd, Partial; public ushort* InpB; public int C, Grain;
        public readonly void Execute(int start, int end)
        {
            for (int c0 = start; c0 < end; c0 += Grain) Chunk(c0, Math.Min(end, c0 + Grain));
        }

        // One fixed chunk of rows → its own partial (inline runs cover several chunks in one call).
        private readonly void Chunk(int start, int end)
        {
            float* dw = Partial + (long)(start / Grain) * 2 * C, db = dw + C;
            new Span<float>(dw, 2 * C).Clear();
            float* wide = stackalloc float[InpB != null ? C : 0];
            for (int r = start; r < end; r++)
            {
                float* x = InpB != null ? Widen(InpB + (long)r * C, wide, C) : Inp + (long)r * C, g = Dout + (long)r * C, dx = Dinp + (long)r * C;
                float m = Mean[r], s = Rstd[r];
                // dnorm = w·g; need mean(dnorm) and mean(dnorm·norm)
                float sumD = 0, sumDN = 0;
                int i = 0;
                if (Vector512.IsHardwareAccelerated && C >= 16)
                {
                    var mv = Vector512.Create(m); var sv = Vector512.Create(s);
                    Vector512<float> a = default, b = default;
                    for (; i + 16 <= C; i += 16)
                    {
                        var gv = Vector512.Load(g + i);
                        var n = (Vector512.Load(x + i) - mv) * sv;
                        var d = Vector512.Load(W + i) * gv;
                        a += d; b = Vector512.FusedMultiplyAdd(d, n, b);
                        (Vector512.Load(db + i) + gv).Store(db + i);
                        Vector512.FusedMultiplyAdd(n, gv, Vector512.Load(dw + i)).Store(dw + i);
                    }
                    sumD = Vector512.Sum(a); sumDN = Vector512.Sum(b);
                }
                else if (Vector256.IsHardwareAccelerated)
                {
                    var mv = Vector256.Create(m); var sv = Vector256.Create(s);
                    Vector256<float> a = default, b = default;
                    for (; i + 8 <= C; i += 8)
                    {
                        var gv = Vector256.Load(g + i);
                        var n = (Vector256.Load(x + i) - mv) * sv;
                        var d = Vector256.Load(W + i) * gv;
                        a += d; b = Vector256.FusedMultiplyAdd(d, n, b);
                        (Vector256.Load(db + i) + gv).Store(db + i);
                        Vector256.FusedMultiplyAdd(n, gv, Vector256.Load(dw + i)).Store(dw + i);
                    }
                    sumD = Vector256.Sum(a); sumDN = Vector256.Sum(b);
                }
                for (; i < C; i++)
                {
                    float n = (x[i] - m) * s, d = W[i] * g[i];
                    sumD += d; sumDN += d * n;
                    db[i] += g[i]; dw[i] += n * g[i];
                }
                float meanD = sumD / C, meanDN = sumDN / C;
                i = 0;
                if (Vector512.IsHardwareAccelerated)
                {
                    var mv = Vector512.Create(m); var sv = Vector512.Create(s);
                    var md = Vector512.Create(meanD); var mdn = Vector512.Create(meanDN);
                    for (; i + 16 <= C; i += 16)
                    {
                        var n = (Vector512.Load(x + i) - mv) * sv;
                        var d = Vector512.Load(W + i) * Vector512.Load(g + i);
                        var t = (d - md - n * mdn) * sv;
                        (Vector512.Load(dx + i) + t).Store(dx + i);
                    }
                }
                if (Vector256.IsHardwareAccelerated)
                {
                    var mv = Vector256.Create(m); var sv = Vector256.Create(s);
                    var md = Vector256.Create(meanD); var mdn = Vector256.Create(meanDN);
                    for (; i + 8 <= C; i += 8)
                    {
                        var n = (Vector256.Load(x + i) - mv) * sv;
                        var d = Vector256.Load(W + i) * Vector256.Load(g + i);
                        var t = (d - md - n * mdn) * sv;
                        (Vector256.Load(dx + i) + t).Store(dx + i);
                    }
                }
                for (; i < C; i++)
                {
                    float n = (x[i] - m) * s, d = W[i] * g[i];
                    dx[i] += (d - meanD - n * meanDN) * s;
                }
            }
        }
    }

    // Sums per-chunk partials [chunk][dw(C) | db(C)] in chunk order, adding into dw (and db if not null).
    private struct ReducePartials : IParallelBody
    {
        public float* Partial, Dw, Db; public int Chunks, Width, C;
        public readonly void Execute(int start, int end)
        {
            for (int j = start; j < end; j++)
            {
                float sw = 0, sb = 0;
                for (int c = 0; c < Chunks; c++)
                {
                    float* p = Partial + (long)c * Width;
                    sw += p[j];
                    if (Db != null) sb += p[C + j];
                }
                Dw[j] += sw;
                if (Db != null) Db[j] += sb;
            }
        }
    }

    /// <summary>Scalar twin of <see cref="LayerNormForward(float*, float*, float*, float*, float*, float*, int, int, float)"/> (double accumulation).</summary>
    public static void LayerNormForwardReference(Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> inp, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int BT, int C, float eps = 1e-5f)
    {
        for (int r = 0; r < BT; r++)
        {
            double m = 0; for (int i = 0; i < C; i++) m += inp[r * C + i]; m /= C;
            double v = 0; for (int i = 0; i < C; i++) { double d = inp[r * C + i] - m; v += d * d; }
            v /= C;
            double s = 1.0 / Math.Sqrt(v + eps);
            mean[r] = (float)m; rstd[r] = (float)s;
            for (int i = 0; i < C; i++) output[r * C + i] = (float)((inp[r * C + i] - m) * s * weight[i] + bias[i]);
        }
    }

    /// <summary>Scalar twin of <see cref="LayerNormBackward(float*, float*, float*, float*, float*, float*, float*, float*, int, int)"/> (double accumulation; accumulates like it).</summary>
    public static void LayerNormBackwardReference(Span<float> dinp, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> dout, ReadOnlySpan<float> inp, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int BT, int C)
    {
        var dw = new double[C]; var db = new double[C];
        for (int r = 0; r < BT; r++)
        {
            double m = mean[r], s = rstd[r], sumD = 0, sumDN = 0;
            for (int i = 0; i < C; i++)
            {
                double n = (inp[r * C + i] - m) * s, d = (double)weight[i] * dout[r * C + i];
                sumD += d; sumDN += d * n;
                db[i] += dout[r * C + i]; dw[i] += n * dout[r * C + i];
            }
            sumD /= C; sumDN /= C;
            for (int i = 0; i < C; i++)
            {
                double n = (inp[r * C + i] - m) * s, d = (double)weight[i] * dout[r * C + i];
                dinp[r * C + i] = (float)(dinp[r * C + i] + (d - sumD - n * sumDN) * s);
            }
        }
        for (int i = 0; i < C; i++) { dweight[i] = (float)(dweight[i] + dw[i]); if (!dbias.IsEmpty) dbias[i] = (float)(dbias[i] + db[i]); }
    }

    // ---------------------------------------------------------------- RMSNorm

    /// <summary>out = inp·rstd·weight with rstd = 1/sqrt(mean(inp²) + eps); saves rstd (BT).</summary>
    public static void RmsNormForward(float* output, float* rstd, float* inp, float* weight, int BT, int C, float eps = 1e-6f)
    {
        var body = new RmsFwd { Out = output, Rstd = rstd, Inp = inp, W = weight, C = C, Eps = eps };
        WorkerPool.For(BT, WorkerPool.RowGrain(BT, C), ref body);
    }

    /// <summary>As <see cref="RmsNormForward(float*, float*, float*, float*, int, int, float)"/>, also writing keep = bf16(out) (round to nearest even) while each row is in cache.</summary>
    public static void RmsNormForward(float* output, float* rstd, float* inp, float* weight, int BT, int C, float eps, ushort* keep)
    {
        var body = new RmsFwd { Out = output, Rstd = rstd, Inp = inp, W = weight, C = C, Eps = eps, Keep = keep };
        WorkerPool.For(BT, WorkerPool.RowGrain(BT, C), ref body);
    }

    private struct RmsFwd : IParallelBody
    {
        public float* Out, Rstd, Inp, W; public ushort* Keep; public int C; public float Eps;
        public readonly void Execute(int start, int end)
        {
            for (int r = start; r < end; r++)
            {
                float* x = Inp + (long)r * C, o = Out + (long)r * C;
                float s = 1f / MathF.Sqrt(Simd.Dot(x, x, C) / C + Eps);
                Rstd[r] = s;
                int i = 0;
                if (Vector512.IsHardwareAccelerated)
                {
                    var sv = Vector512.Create(s);
                    for (; i + 16 <= C; i += 16) (Vector512.Load(x + i) * sv * Vector512.Load(W + i)).Store(o + i);
                }
                if (Vector256.IsHardwareAccelerated)
                {
                    var sv = Vector256.Create(s);
                    for (; i + 8 <= C; i += 8) (Vector256.Load(x + i) * sv * Vector256.Load(W + i)).Store(o + i);
                }
                for (; i < C; i++) o[i] = x[i] * s * W[i];
                if (Keep != null) BFloat16Convert.FromFloat(o, Keep + (long)r * C, C);
            }
        }
    }

    /// <summary>Accumulates dinp and dweight (+=) from dout and the saved rstd.</summary>
    public static void RmsNormBackward(float* dinp, float* dweight, float* dout, float* inp, float* weight, float* rstd, int BT, int C)
    {
        int grain = RowGrain;
        int chunks = WorkerPool.ChunkCount(BT, grain);
        float* partial = Scratch.Floats(0, (long)chunks * C);
        var body = new RmsBwd { Dinp = dinp, Dout = dout, Inp = inp, W = weight, Rstd = rstd, C = C, Grain = grain, Partial = partial };
        WorkerPool.For(BT, grain, ref body);
        var red = new ReducePartials { Partial = partial, Chunks = chunks, Width = C, C = C, Dw = dweight, Db = null };
        WorkerPool.For(C, 256, ref red);
    }

    /// <summary>
    /// As <see cref="RmsNormBackward(float*, float*, float*, float*, float*, float*, int, int)"/> with the saved
    /// input stored as bf16 (raw bits), widened exactly row by row: equals the f32 kernel on the widened input.
    /// </summary>
    public static void RmsNormBackward(float* dinp, float* dweight, float* dout, ushort* inp, float* weight, float* rstd, int BT, int C)
    {
        int grain = RowGrain;
        int chunks = WorkerPool.ChunkCount(BT, grain);
        float* partial = Scratch.Floats(0, (long)chunks * C);
        var body = new RmsBwd { Dinp = dinp, Dout = dout, InpB = inp, W = weight, Rstd = rstd, C = C, Grain = grain, Partial = partial };
        WorkerPool.For(BT, grain, ref body);
        var red = new ReducePartials { Partial = partial, Chunks = chunks, Width = C, C = C, Dw = dweight, Db = null };
        WorkerPool.For(C, 256, ref red);
    }

    // Widens one bf16 row into dst (exact) and returns dst.
    private static float* Widen(ushort* src, float* dst, int C)
    {
        BFloat16Convert.ToFloat(src, dst, C);
        return dst;
    }

    private struct RmsBwd : IParallelBody
    {
        public float* Dinp, Dout, Inp, W, Rstd, Partial; public ushort* InpB; public int C, Grain;
        public readonly void Execute(int start, int end)
        {
            for (int c0 = start; c0 < end; c0 += Grain) Chunk(c0, Math.Min(end, c0 + Grain));
        }

        private readonly void Chunk(int start, int end)
        {
            float* dw = Partial + (long)(start / Grain) * C;
            new Span<float>(dw, C).Clear();
            float* wide = stackalloc float[InpB != null ? C : 0];
            for (int r = start; r < end; r++)
            {
                float* x = InpB != null ? Widen(InpB + (long)r * C, wide, C) : Inp + (long)r * C, g = Dout + (long)r * C, dx = Dinp + (long)r * C;
                float s = Rstd[r];
                float sumDN = 0;
                int i = 0;
                if (Vector512.IsHardwareAccelerated && C >= 16)
                {
                    var sv = Vector512.Create(s); Vector512<float> b = default;
                    for (; i + 16 <= C; i += 16)
                    {
                        var gv = Vector512.Load(g + i);
                        var n = Vector512.Load(x + i) * sv;
                        b = Vector512.FusedMultiplyAdd(Vector512.Load(W + i) * gv, n, b);
                        Vector512.FusedMultiplyAdd(n, gv, Vector512.Load(dw + i)).Store(dw + i);
                    }
                    sumDN = Vector512.Sum(b);
                }
                else if (Vector256.IsHardwareAccelerated)
                {
                    var sv = Vector256.Create(s); Vector256<float> b = default;
                    for (; i + 8 <= C; i += 8)
                    {
                        var gv = Vector256.Load(g + i);
                        var n = Vector256.Load(x + i) * sv;
                        b = Vector256.FusedMultiplyAdd(Vector256.Load(W + i) * gv, n, b);
                        Vector256.FusedMultiplyAdd(n, gv, Vector256.Load(dw + i)).Store(dw + i);
                    }
                    sumDN = Vector256.Sum(b);
                }
                for (; i < C; i++) { float n = x[i] * s; sumDN += W[i] * g[i] * n; dw[i] += n * g[i]; }
                float meanDN = sumDN / C;
                i = 0;
                if (Vector512.IsHardwareAccelerated)
                {
                    var sv = Vector512.Create(s); var mdn = Vector512.Create(meanDN);
                    for (; i + 16 <= C; i += 16)
                    {
                        var n = Vector512.Load(x + i) * sv;
                        var t = (Vector512.Load(W + i) * Vector512.Load(g + i) - n * mdn) * sv;
                        (Vector512.Load(dx + i) + t).Store(dx + i);
                    }
                }
                if (Vector256.IsHardwareAccelerated)
                {
                    var sv = Vector256.Create(s); var mdn = Vector256.Create(meanDN);
                    for (; i + 8 <= C; i += 8)
                    {
                        var n = Vector256.Load(x + i) * sv;
                        var t = (Vector256.Load(W + i) * Vector256.Load(g + i) - n * mdn) * sv;
                        (Vector256.Load(dx + i) + t).Store(dx + i);
                    }
                }
                for (; i < C; i++) { float n = x[i] * s; dx[i] += (W[i] * g[i] - n * meanDN) * s; }
            }
        }
    }

    /// <summary>Scalar twin of <see cref="RmsNormForward(float*, float*, float*, float*, int, int, float)"/> (double accumulation).</summary>
    public static void RmsNormForwardReference(Span<float> output, Span<float> rstd, ReadOnlySpan<float> inp, ReadOnlySpan<float> weight, int BT, int C, float eps = 1e-6f)
    {
        for (int r = 0; r < BT; r++)
        {
            double ss = 0; for (int i = 0; i < C; i++) ss += (double)inp[r * C + i] * inp[r * C + i];
            double s = 1.0 / Math.Sqrt(ss / C + eps);
            rstd[r] = (float)s;
            for (int i = 0; i < C; i++) output[r * C + i] = (float)(inp[r * C + i] * s * weight[i]);
        }
    }

    /// <summary>Scalar twin of <see cref="RmsNormBackward(float*, float*, float*, float*, float*, float*, int, int)"/> (double accumulation; accumulates like it).</summary>
    public static void RmsNormBackwardReference(Span<float> dinp, Span<float> dweight, ReadOnlySpan<float> dout, ReadOnlySpan<float> inp, ReadOnlySpan<float> weight, ReadOnlySpan<float> rstd, int BT, int C)
    {
        var dw = new double[C];
        for (int r = 0; r < BT; r++)
        {
            double s = rstd[r], sumDN = 0;
            for (int i = 0; i < C; i++) { double n = inp[r * C + i] * s; sumDN += (double)weight[i] * dout[r * C + i] * n; dw[i] += n * dout[r * C + i]; }
            sumDN /= C;
            for (int i = 0; i < C; i++)
            {
                double n = inp[r * C + i] * s;
                dinp[r * C + i] = (float)(dinp[r * C + i] + ((double)weight[i] * dout[r * C + i] - n * sumDN) * s);
            }
        }
        for (int i = 0; i < C; i++) dweight[i] = (float)(dweight[i] + dw[i]);
    }
}
