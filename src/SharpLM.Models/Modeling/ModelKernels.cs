// The small glue kernels a transformer step needs beside the engine's fused ones (SharpLM.Tensors.Kernels):
// row initialisation with a bias and/or residual (so a projection is "init rows, then GEMM accumulate":
// one pass instead of GEMM + bias + residual), bias gradients as column sums, learned position add and its
// backward, and the chunked LM head with cross-entropy (optionally soft-capped logits, Gemma 2) scaled by
// the caller's gradScale. Every kernel is parallel over rows or column blocks with a fixed summation order
// per output element, so results do not depend on thread count (llm.c's encoder/matmul-bias backward do
// the same reductions). The activation backwards also read a bf16 saved input, widening it row by row
// (bf16 activations). What it is not: anything with a public contract — these are the model's internals.
using System.Runtime.Intrinsics;
using SharpLM.Tensors.Kernels;
using SharpLM.Tensors.Threading;

namespace SharpLM.Models.Modeling;

internal static unsafe class ModelKernels
{
    // ------------------------------------------------------------------ rows

    /// <summary>dst[r, :] = (src? src[r, :] : 0) + (bias? bias : 0) for r &lt; rows; row stride ld for dst and src.</summary>
    public static void InitRows(float* dst, float* src, float* bias, int rows, int C, int ld)
    {
        var body = new InitBody { Dst = dst, Src = src, Bias = bias, C = C, Ld = ld };
        WorkerPool.For(rows, Math.Max(1, 8192 / Math.Max(1, C)), ref body);
    }

    /// <summary>As <see cref="InitRows(float*, float*, float*, int, int, int)"/>, also writing save = bf16(src) (row stride ld) while the row is in cache.</summary>
    public static void InitRows(float* dst, float* src, float* bias, int rows, int C, int ld, ushort* save)
    {
        var body = new InitBody { Dst = dst, Src = src, Bias = bias, C = C, Ld = ld, Save = save };
        WorkerPool.For(rows, Math.Max(1, 8192 / Math.Max(1, C)), ref body);
    }

    private struct InitBody : IParallelBody
    {
        public float* Dst, Src, Bias; public ushort* Save; public int C, Ld;
        public readonly void Execute(int start, int end)
        {
            for (int r = start; r < end; r++)
            {
                if (Save != null) BFloat16Convert.FromFloat(Src + (long)r * Ld, Save + (long)r * Ld, C);
                float* d = Dst + (long)r * Ld;
                if (Src == null && Bias == null) { new Span<float>(d, C).Clear(); continue; }
                if (Src == null) { new ReadOnlySpan<float>(Bias, C).CopyTo(new Span<float>(d, C)); continue; }
                float* s = Src + (long)r * Ld;
                if (Bias == null) { new ReadOnlySpan<float>(s, C).CopyTo(new Span<float>(d, C)); continue; }
                int i = 0;
                for (; i + 16 <= C; i += 16) (Vector512.Load(s + i) + Vector512.Load(Bias + i)).Store(d + i);
                for (; i < C; i++) d[i] = s[i] + Bias[i];
            }
        }
    }

    /// <summary>Zeroes n floats in parallel blocks.</summary>
    public static void Zero(float* p, long n)
    {
        const int Block = 1 << 16;
        var body = new ZeroBody { P = p, N = n };
        WorkerPool.For((int)((n + Block - 1) / Block), 1, ref body);
    }

    private struct ZeroBody : IParallelBody
    {
        public float* P; public long N;
        public readonly void Execute(int start, int end)
        {
            const int Block = 1 << 16;
            long a = (long)start * Block, b = Math.Min(N, (long)end * Block);
            new Span<float>(P + a, (int)(b - a)).Clear();
        }
    }

    /// <summary>dst = bf16(src) for n floats (round to nearest even, the engine's converter), in parallel blocks.</summary>
    public static void ToBf16(float* src, ushort* dst, long n)
    {
        const int Block = 1 << 16;
        var body = new ToBf16Body { Src = src, Dst = dst, N = n };
        WorkerPool.For((int)((n + Block - 1) / Block), 1, ref body);
    }

    private struct ToBf16Body : IParallelBody
    {
        public float* Src; public ushort* Dst; public long N;
        public readonly void Execute(int start, int end)
        {
            const int Block = 1 << 16;
            long a = (long)start * Block, b = Math.Min(N, (long)end * Block);
            BFloat16Convert.FromFloat(Src + a, Dst + a, b - a);
        }
    }

    /// <summary>dbias[j] += Σ_r dout[r, j] (row stride ld), rows summed in order: deterministic.</summary>
    public static void ColSum(float* dbias, float* dout, int rows, int C, int ld)
    {
        const int Block = 64;
        var body = new ColSumBody { Db = dbias, Dout = dout, Rows = rows, C = C, Ld = ld };
        WorkerPool.For((C + Block - 1) / Block, 1, ref body);
    }

    private struct ColSumBody : IParallelBody
    {
        public float* Db, Dout; public int Rows, C, Ld;
        public readonly void Execute(int start, int end)
        {
            const int Block = 64;
            for (int blk = start; blk < end; blk++)
            {
                int j0 = blk * Block, j1 = Math.Min(C, j0 + Block);
                int j = j0;
                for (; j + 16 <= j1; j += 16)
                {
                    var acc = Vector512<float>.Zero;
                    for (int r = 0; r < Rows; r++) acc += Vector512.Load(Dout + (long)r * Ld + j);
                    (Vector512.Load(Db + j) + acc).Store(Db + j);
                }
                for (; j < j1; j++)
                {
                    float acc = 0;
                    for (int r = 0; r < Rows; r++) acc += Dout[(long)r * Ld + j];
                    Db[j] += acc;
                }
            }
        }
    }

    /// <summary>x[b, t, :] += wpe[t, :] for x (B, T, C).</summary>
    public static void AddPositions(float* x, float* wpe, int B, int T, int C)
    {
        var body = new PosBody { X = x, Wpe = wpe, T = T, C = C };
        WorkerPool.For(B * T, Math.Max(1, 8192 / Math.Max(1, C)), ref body);
    }

    private struct PosBody : IParallelBody
    {
        public float* X, Wpe; public int T, C;
        public readonly void Execute(int start, int end)
        {
            for (int bt = start; bt < end; bt++) Simd.Add(Wpe + (long)(bt % T) * C, X + (long)bt * C, C);
        }
    }

    /// <summary>dwpe[t, :] += Σ_b dx[b, t, :], b in order.</summary>
    public static void PositionsBackward(float* dwpe, float* dx, int B, int T, int C)
    {
        var body = new PosBwdBody { Dwpe = dwpe, Dx = dx, B = B, T = T, C = C };
        WorkerPool.For(T, Math.Max(1, 4096 / Math.Max(1, C)), ref body);
    }

    private struct PosBwdBody : IParallelBody
    {
        public float* Dwpe, Dx; public int B, T, C;
        public readonly void Execute(int start, int end)
        {
            for (int t = start; t < end; t++)
                for (int b = 0; b < B; b++) Simd.Add(Dx + ((long)b * T + t) * C, Dwpe + (long)t * C, C);
        }
    }

    // ------------------------------------------------------------------ fused activations and RoPE over strided rows

    /// <summary>y = gelu_tanh(x) = x·σ(2u), u = √(2/π)(x + 0.044715x³), over rows × n (row stride ld for both).</summary>
    public static void GeluForward(float* y, float* x, int rows, int n, int ld)
    {
        var body = new GeluFwdBody { Y = y, X = x, N = n, Ld = ld };
        WorkerPool.For(rows, Math.Max(1, 8192 / Math.Max(1, n)), ref body);
    }

    /// <summary>As <see cref="GeluForward(float*, float*, int, int, int)"/> with x stored as bf16 (row stride ld), widened exactly row by row.</summary>
    public static void GeluForward(float* y, ushort* x, int rows, int n, int ld)
    {
        var body = new GeluFwdBody { Y = y, XB = x, N = n, Ld = ld };
        WorkerPool.For(rows, Math.Max(1, 8192 / Math.Max(1, n)), ref body);
    }

    /// <summary>As <see cref="GeluForward(float*, float*, int, int, int)"/>, also writing save = bf16(x) (row stride ld) while the row is in cache.</summary>
    public static void GeluForward(float* y, float* x, int rows, int n, int ld, ushort* save)
    {
        var body = new GeluFwdBody { Y = y, X = x, N = n, Ld = ld, Save = save };
        WorkerPool.For(rows, Math.Max(1, 8192 / Math.Max(1, n)), ref body);
    }

    private struct GeluFwdBody : IParallelBody
    {
        public float* Y, X; public ushort* XB, Save; public int N, Ld;
        public readonly void Execute(int start, int end)
        {
            const float K = 0.7978845608028654f, Cc = 0.044715f;
            var k2 = Vector512.Create(2f * K); var c = Vector512.Create(Cc); var one = Vector512<float>.One;
            float* wide = stackalloc float[XB != null ? N : 0];
            for (int r = start; r < end; r++)
            {
                float* x = X + (long)r * Ld, y = Y + (long)r * Ld;
                if (XB != null) { BFloat16Convert.ToFloat(XB + (long)r * Ld, wide, N); x = wide; }
                if (Save != null) BFloat16Convert.FromFloat(x, Save + (long)r * Ld, N);
                int i = 0;
                for (; i + 16 <= N; i += 16)
                {
                    var v = Vector512.Load(x + i);
                    (v * FastMath.Sigmoid(k2 * v * Vector512.FusedMultiplyAdd(c, v * v, one))).Store(y + i);
                }
                for (; i < N; i++) { float v = x[i]; y[i] = v * FastMath.Sigmoid(2 * K * v * (1 + Cc * v * v)); }
            }
        }
    }

    /// <summary>dx = gelu_tanh′(x)·dy over rows × n (row stride ld for all three): written, not accumulated.</summary>
    public static void GeluBackward(float* dx, float* x, float* dy, int rows, int n, int ld)
    {
        var body = new GeluBwdBody { Dx = dx, X = x, Dy = dy, N = n, Ld = ld };
        WorkerPool.For(rows, Math.Max(1, 8192 / Math.Max(1, n)), ref body);
    }

    /// <summary>As <see cref="GeluBackward(float*, float*, float*, int, int, int)"/> with x saved as bf16 (row stride ld), widened exactly row by row.</summary>
    public static void GeluBackward(float* dx, ushort* x, float* dy, int rows, int n, int ld)
    {
        var body = new GeluBwdBody { Dx = dx, XB = x, Dy = dy, N = n, Ld = ld };
        WorkerPool.For(rows, Math.Max(1, 8192 / Math.Max(1, n)), ref body);
    }

    private struct GeluBwdBody : IParallelBody
    {
        public float* Dx, X, Dy; public ushort* XB; public int N, Ld;
        public readonly void Execute(int start, int end)
        {
            const float K = 0.7978845608028654f, Cc = 0.044715f; // √(2/π), GPT-2's cubic coefficient
            var k = Vector512.Create(K); var c = Vector512.Create(Cc); var c3 = Vector512.Create(3f * Cc); var one = Vector512<float>.One;
            float* wide = stackalloc float[XB != null ? N : 0];
            for (int r = start; r < end; r++)
            {
                float* x = X + (long)r * Ld, g = Dy + (long)r * Ld, d = Dx + (long)r * Ld;
                if (XB != null) { BFloat16Convert.ToFloat(XB + (long)r * Ld, wide, N); x = wide; }
                int i = 0;
                for (; i + 16 <= N; i += 16)
                {
                    // gelu = x·σ(2u), u = k(x + c x³): d/dx = s + 2x·s(1 − s)·u′, s = σ(2u), u′ = k(1 + 3c x²)
                    var v = Vector512.Load(x + i); var v2 = v * v;
                    var u = k * v * Vector512.FusedMultiplyAdd(c, v2, one);
                    var sg = FastMath.Sigmoid(u + u);
                    var du = k * Vector512.FusedMultiplyAdd(c3, v2, one);
                    ((sg + (v + v) * sg * (one - sg) * du) * Vector512.Load(g + i)).Store(d + i);
                }
                for (; i < N; i++)
                {
                    float v = x[i], u = K * v * (1 + Cc * v * v), sg = FastMath.Sigmoid(2 * u), du = K * (1 + 3 * Cc * v * v);
                    d[i] = (sg + 2 * v * sg * (1 - sg) * du) * g[i];
                }
            }
        }
    }

    /// <summary>h[r, :] = silu(gu[r, 0:I])·gu[r, I:2I] for gu (rows, 2I), h (rows, I).</summary>
    public static void SwiGluForward(float* h, float* gu, int rows, int I)
    {
        var body = new SwiGluBody { H = h, Gu = gu, I = I, Backward = false };
        WorkerPool.For(rows, Math.Max(1, 4096 / Math.Max(1, I)), ref body);
    }

    /// <summary>As <see cref="SwiGluForward(float*, float*, int, int)"/>, also writing save = bf16(gu) while the row is in cache.</summary>
    public static void SwiGluForward(float* h, float* gu, int rows, int I, ushort* save)
    {
        var body = new SwiGluBody { H = h, Gu = gu, I = I, Backward = false, Save = save };
        WorkerPool.For(rows, Math.Max(1, 4096 / Math.Max(1, I)), ref body);
    }

    /// <summary>As <see cref="SwiGluForward(float*, float*, int, int)"/> with gu stored as bf16, widened exactly row by row.</summary>
    public static void SwiGluForward(float* h, ushort* gu, int rows, int I)
    {
        var body = new SwiGluBody { H = h, GuB = gu, I = I, Backward = false };
        WorkerPool.For(rows, Math.Max(1, 4096 / Math.Max(1, I)), ref body);
    }

    /// <summary>dgu[r, 0:I] = dh·b·silu′(a), dgu[r, I:2I] = dh·silu(a) for a, b the halves of gu (written, not accumulated).</summary>
    public static void SwiGluBackward(float* dgu, float* gu, float* dh, int rows, int I)
    {
        var body = new SwiGluBody { H = dh, Gu = gu, Dgu = dgu, I = I, Backward = true };
        WorkerPool.For(rows, Math.Max(1, 4096 / Math.Max(1, I)), ref body);
    }

    /// <summary>As <see cref="SwiGluBackward(float*, float*, float*, int, int)"/> with gu saved as bf16, widened exactly row by row.</summary>
    public static void SwiGluBackward(float* dgu, ushort* gu, float* dh, int rows, int I)
    {
        var body = new SwiGluBody { H = dh, GuB = gu, Dgu = dgu, I = I, Backward = true };
        WorkerPool.For(rows, Math.Max(1, 4096 / Math.Max(1, I)), ref body);
    }

    private struct SwiGluBody : IParallelBody
    {
        public float* H, Gu, Dgu; public ushort* GuB, Save; public int I; public bool Backward;
        public readonly void Execute(int start, int end)
        {
            var one = Vector512<float>.One;
            float* wide = stackalloc float[GuB != null ? 2 * I : 0];
            for (int r = start; r < end; r++)
            {
                float* a = Gu + (long)r * 2 * I, b = a + I, h = H + (long)r * I;
                if (GuB != null) { BFloat16Convert.ToFloat(GuB + (long)r * 2 * I, wide, 2L * I); a = wide; b = a + I; }
                if (Save != null) BFloat16Convert.FromFloat(a, Save + (long)r * 2 * I, 2L * I);
                int i = 0;
                if (!Backward)
                {
                    for (; i + 16 <= I; i += 16) { var v = Vector512.Load(a + i); (v * FastMath.Sigmoid(v) * Vector512.Load(b + i)).Store(h + i); }
                    for (; i < I; i++) h[i] = a[i] * FastMath.Sigmoid(a[i]) * b[i];
                    continue;
                }
                float* da = Dgu + (long)r * 2 * I, db = da + I;
                for (; i + 16 <= I; i += 16)
                {
                    var v = Vector512.Load(a + i); var sg = FastMath.Sigmoid(v); var g = Vector512.Load(h + i);
                    (sg * Vector512.FusedMultiplyAdd(v, one - sg, one) * Vector512.Load(b + i) * g).Store(da + i);
                    (v * sg * g).Store(db + i);
                }
                for (; i < I; i++)
                {
                    float v = a[i], sg = FastMath.Sigmoid(v), g = h[i];
                    da[i] = sg * (1 + v * (1 - sg)) * b[i] * g;
                    db[i] = v * sg * g;
                }
            }
        }
    }

    /// <summary>
    /// RoPE in place (Hugging Face rotate_half pairing, channel j with j + HS/2) on NH heads of HS channels at the
    /// start of each row of x (B·T rows, row stride ld), position t = row mod T; sign −1 applies the inverse
    /// rotation (the backward). cos/sin tables (maxT, HS/2) as SharpLM.Tensors.Kernels.Rope.BuildTables.
    /// </summary>
    public static void RopeInPlace(float* x, int ld, int B, int T, int NH, int HS, float* cos, float* sin, float sign)
    {
        var body = new RopeBody { X = x, Ld = ld, T = T, NH = NH, HS = HS, Cos = cos, Sin = sin, Sign = sign };
        WorkerPool.For(B * T, Math.Max(1, 2048 / Math.Max(1, NH * HS)), ref body);
    }

    private struct RopeBody : IParallelBody
    {
        public float* X, Cos, Sin; public int Ld, T, NH, HS; public float Sign;
        public readonly void Execute(int start, int end)
        {
            int h = HS / 2;
            for (int bt = start; bt < end; bt++)
            {
                int t = bt % T;
                float* c = Cos + (long)t * h, s = Sin + (long)t * h;
                for (int head = 0; head < NH; head++)
                {
                    float* x = X + (long)bt * Ld + head * HS;
                    int j = 0;
                    if (Vector256.IsHardwareAccelerated)
                    {
                        var sg = Vector256.Create(Sign);
                        for (; j + 8 <= h; j += 8)
                        {
                            var x1 = Vector256.Load(x + j); var x2 = Vector256.Load(x + h + j);
                            var cv = Vector256.Load(c + j); var sv = Vector256.Load(s + j) * sg;
                            (x1 * cv - x2 * sv).Store(x + j); (x2 * cv + x1 * sv).Store(x + h + j);
                        }
                    }
                    for (; j < h; j++)
                    {
                        float x1 = x[j], x2 = x[h + j], cv = c[j], sv = s[j] * Sign;
                        x[j] = x1 * cv - x2 * sv; x[h + j] = x2 * cv + x1 * sv;
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ LM head + cross-entropy

    /// <summary>
    /// Mean cross-entropy of logits z = cap·tanh((h·Wᵀ)/cap) (or h·Wᵀ when cap = 0) against targets, built
    /// <paramref name="chunkRows"/> rows at a time into <paramref name="logits"/> (chunkRows, V). With dh/dW not null,
    /// writes dh = s·dz·W and accumulates dW += s·dzᵀ·h for s = gradScale/count. With <paramref name="Wbf16"/> (a bf16
    /// copy of W) the two products with W read it instead. Targets equal to
    /// <paramref name="ignore"/> are not counted. <paramref name="rowLoss"/> holds chunkRows floats. With
    /// <paramref name="accumulateDW"/> false the first chunk writes dW (=) instead of adding to it.
    /// </summary>
    public static float LmHeadLoss(float* dh, float* dW, float* h, float* W, ushort* Wbf16, int* targets, int BT, int C, int V,
        float cap, float gradScale, int ignore, float* logits, float* rowLoss, int chunkRows, bool accumulateDW = true)
    {
        int count = 0;
        for (int r = 0; r < BT; r++)
        {
            int t = targets[r];
            if (t == ignore) continue;
            if ((uint)t >= (uint)V) throw new ArgumentOutOfRangeException(nameof(targets), $"target id {t} at position {r} is outside the vocabulary [0, {V})");
            count++;
        }
        if (count == 0) return float.NaN;
        bool grads = dh != null && dW != null;
        double total = 0;
        for (int r0 = 0; r0 < BT; r0 += chunkRows)
        {
            int rows = Math.Min(chunkRows, BT - r0);
            if (Wbf16 != null) Gemm.RunBf16B(false, true, rows, V, C, h + (long)r0 * C, C, Wbf16, C, logits, V, false);
            else Gemm.Run(false, true, rows, V, C, h + (long)r0 * C, C, W, C, logits, V, false); // (rows, V)
            StepProfile.Mark(StepPhase.LmHead);
            var body = new CeBody
            {
                Logits = logits,
                Loss = rowLoss,
                Targets = targets + r0,
                V = V,
                Ignore = ignore,
                Cap = cap,
                Scale = gradScale / count,
                Grads = grads,
            };
            WorkerPool.For(rows, 1, ref body);
            for (int r = 0; r < rows; r++) total += rowLoss[r];
            StepProfile.Mark(StepPhase.CrossEntropy);
            if (!grads) continue;
            if (Wbf16 != null) Gemm.RunBf16B(false, false, rows, C, V, logits, V, Wbf16, C, dh + (long)r0 * C, C, false);
            else Gemm.Run(false, false, rows, C, V, logits, V, W, C, dh + (long)r0 * C, C, false); // dh (rows, C), written
            Gemm.Run(true, false, V, C, rows, logits, V, h + (long)r0 * C, C, dW, C, accumulateDW || r0 > 0);  // dW (V, C)
            StepProfile.Mark(StepPhase.LmHead);
        }
        return (float)(total / count);
    }

    private struct CeBody : IParallelBody
    {
        public float* Logits, Loss; public int* Targets; public int V, Ignore; public float Cap, Scale; public bool Grads;
        public readonly void Execute(int start, int end)
        {
            for (int r = start; r < end; r++)
            {
                float* x = Logits + (long)r * V;
                if (Cap > 0) SoftCap(x, V, Cap);
                int t = Targets[r];
                if (t == Ignore)
                {
                    Loss[r] = 0;
                    if (Grads) new Span<float>(x, V).Clear();
                    continue;
                }
                float m = Simd.Max(x, V);
                float s = Simd.ExpSum(x, m, V);
                float lse = m + MathF.Log(s);
                Loss[r] = lse - x[t];
                if (!Grads) continue;
                // dz = (softmax − onehot)·scale; through the cap: dy = dz·(1 − (z/cap)²).
                float sc = Scale;
                int i = 0;
                var lv = Vector512.Create(lse); var sv = Vector512.Create(sc);
                if (Cap > 0)
                {
                    float xt = x[t];
                    var inv = Vector512.Create(1f / Cap); var one = Vector512<float>.One;
                    for (; i + 16 <= V; i += 16)
                    {
                        var z = Vector512.Load(x + i); var u = z * inv;
                        (FastMath.Exp(z - lv) * sv * (one - u * u)).Store(x + i);
                    }
                    for (; i < V; i++) { float z = x[i], u = z / Cap; x[i] = FastMath.Exp(z - lse) * sc * (1 - u * u); }
                    float ut = xt / Cap;
                    x[t] -= sc * (1 - ut * ut);
                }
                else
                {
                    for (; i + 16 <= V; i += 16) (FastMath.Exp(Vector512.Load(x + i) - lv) * sv).Store(x + i);
                    for (; i < V; i++) x[i] = FastMath.Exp(x[i] - lse) * sc;
                    x[t] -= sc;
                }
            }
        }

        private static void SoftCap(float* x, int V, float cap)
        {
            float inv = 1f / cap;
            int i = 0;
            var iv = Vector512.Create(inv * 2f); var cv = Vector512.Create(cap); var one = Vector512<float>.One;
            for (; i + 16 <= V; i += 16)
            {
                // cap·tanh(x/cap) = cap·(2σ(2x/cap) − 1)
                var s = FastMath.Sigmoid(Vector512.Load(x + i) * iv);
                (cv * (s + s - one)).Store(x + i);
            }
            for (; i < V; i++) x[i] = cap * FastMath.Tanh(x[i] * inv);
        }
    }
}
