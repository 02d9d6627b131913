// Rotary position embedding (Su et al. 2021, RoFormer), forward and backward, over x of layout
// (B, T, NH, HS) — queries or keys (NH = n_kv_heads for keys). Two pairing conventions:
//   RopeStyle.RotateHalf — Hugging Face Llama (`rotate_half`): channel j pairs with j + HS/2;
//   RopeStyle.Interleaved — original Meta / llama.cpp / GGUF "normal" rope: channel 2j pairs with 2j+1.
// Frequencies θ^(−2j/HS), j < HS/2, for position p rotate by angle p·θ^(−2j/HS); cos/sin tables of shape
// (maxT, HS/2) are precomputed once by BuildTables (in double, then rounded). Forward may run in place;
// backward applies the transposed rotation and accumulates into dinp. What it is not: a scaled-RoPE
// variant (YaRN / NTK / linear scaling): those only change the table, which callers may build themselves.
using System.Runtime.Intrinsics;
using SharpLM.Tensors.Threading;

namespace SharpLM.Tensors.Kernels;

/// <summary>Which channels a rotation pairs.</summary>
public enum RopeStyle
{
    /// <summary>Channel j with j + HS/2 (Hugging Face Llama).</summary>
    RotateHalf,
    /// <summary>Channel 2j with 2j + 1 (llama.cpp / GGUF, original Meta).</summary>
    Interleaved,
}

/// <summary>RoPE kernels.</summary>
public static unsafe class Rope
{
    /// <summary>Fills cos/sin tables (maxT, HS/2): angle(p, j) = p·θ^(−2j/HS).</summary>
    public static void BuildTables(Span<float> cos, Span<float> sin, int maxT, int HS, double theta = 10000.0)
    {
        if (HS % 2 != 0) throw new ArgumentException($"rope: head size {HS} must be even");
        int h = HS / 2;
        if (cos.Length < maxT * h || sin.Length < maxT * h) throw new ArgumentException($"rope: tables need {maxT * h} elements each");
        for (int j = 0; j < h; j++)
        {
            double f = Math.Pow(theta, -2.0 * j / HS);
            for (int p = 0; p < maxT; p++) { double a = p * f; cos[p * h + j] = (float)Math.Cos(a); sin[p * h + j] = (float)Math.Sin(a); }
        }
    }

    /// <summary>out = rope(inp) for positions pos0 … pos0+T−1; out may equal inp.</summary>
    public static void Forward(float* output, float* inp, float* cos, float* sin, int B, int T, int NH, int HS, RopeStyle style, int pos0 = 0)
    {
        var body = new Body { Out = output, Inp = inp, Cos = cos, Sin = sin, T = T, NH = NH, HS = HS, Style = style, Pos0 = pos0, Sign = 1f, Acc = false };
        WorkerPool.For(B * T, Math.Max(1, 2048 / Math.Max(1, NH * HS)), ref body);
    }

    /// <summary>dinp += ropeᵀ(dout) (the inverse rotation).</summary>
    public static void Backward(float* dinp, float* dout, float* cos, float* sin, int B, int T, int NH, int HS, RopeStyle style, int pos0 = 0)
    {
        var body = new Body { Out = dinp, Inp = dout, Cos = cos, Sin = sin, T = T, NH = NH, HS = HS, Style = style, Pos0 = pos0, Sign = -1f, Acc = true };
        WorkerPool.For(B * T, Math.Max(1, 2048 / Math.Max(1, NH * HS)), ref body);
    }

    private struct Body : IParallelBody
    {
        public float* Out, Inp, Cos, Sin; public int T, NH, HS, Pos0; public RopeStyle Style; public float Sign; public bool Acc;
        public readonly void Execute(int start, int end)
        {
            int h = HS / 2;
            for (int bt = start; bt < end; bt++)
            {
                int p = Pos0 + bt % T;
                float* c = Cos + (long)p * h, s = Sin + (long)p * h;
                for (int head = 0; head < NH; head++)
                {
                    float* x = Inp + ((long)bt * NH + head) * HS, o = Out + ((long)bt * NH + head) * HS;
                    if (Style == RopeStyle.RotateHalf) Half(o, x, c, s, h);
                    else Pairs(o, x, c, s, h);
                }
            }
        }

        // forward: (x1, x2) → (x1 c − x2 s, x2 c + x1 s); backward uses sign −1 (the transpose) and accumulates.
        private readonly void Half(float* o, float* x, float* c, float* s, int h)
        {
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var sg = Vector256.Create(Sign);
                for (; j + 8 <= h; j += 8)
                {
                    var x1 = Vector256.Load(x + j); var x2 = Vector256.Load(x + h + j);
                    var cv = Vector256.Load(c + j); var sv = Vector256.Load(s + j) * sg;
                    var y1 = x1 * cv - x2 * sv; var y2 = x2 * cv + x1 * sv;
                    if (Acc) { y1 += Vector256.Load(o + j); y2 += Vector256.Load(o + h + j); }
                    y1.Store(o + j); y2.Store(o + h + j);
                }
            }
            for (; j < h; j++)
            {
                float x1 = x[j], x2 = x[h + j], cv = c[j], sv = s[j] * Sign;
                float y1 = x1 * cv - x2 * sv, y2 = x2 * cv + x1 * sv;
                if (Acc) { o[j] += y1; o[h + j] += y2; } else { o[j] = y1; o[h + j] = y2; }
            }
        }

        private readonly void Pairs(float* o, float* x, float* c, float* s, int h)
        {
            for (int j = 0; j < h; j++)
            {
                float x1 = x[2 * j], x2 = x[2 * j + 1], cv = c[j], sv = s[j] * Sign;
                float y1 = x1 * cv - x2 * sv, y2 = x2 * cv + x1 * sv;
                if (Acc) { o[2 * j] += y1; o[2 * j + 1] += y2; } else { o[2 * j] = y1; o[2 * j + 1] = y2; }
            }
        }
    }

    /// <summary>Scalar twin in double, computing angles directly (not from the tables).</summary>
    public static void ForwardReference(Span<float> output, ReadOnlySpan<float> inp, int B, int T, int NH, int HS, RopeStyle style, double theta = 10000.0, int pos0 = 0, bool backward = false)
    {
        int h = HS / 2;
        for (int bt = 0; bt < B * T; bt++)
            for (int head = 0; head < NH; head++)
            {
                int baseI = (bt * NH + head) * HS;
                for (int j = 0; j < h; j++)
                {
                    double a = (pos0 + bt % T) * Math.Pow(theta, -2.0 * j / HS), c = Math.Cos(a), s = backward ? -Math.Sin(a) : Math.Sin(a);
                    int i1 = style == RopeStyle.RotateHalf ? j : 2 * j, i2 = style == RopeStyle.RotateHalf ? j + h : 2 * j + 1;
                    double x1 = inp[baseI + i1], x2 = inp[baseI + i2];
                    double y1 = x1 * c - x2 * s, y2 = x2 * c + x1 * s;
                    if (backward) { output[baseI + i1] += (float)y1; output[baseI + i2] += (float)y2; }
                    else { output[baseI + i1] = (float)y1; output[baseI + i2] = (float)y2; }
                }
            }
    }
}
