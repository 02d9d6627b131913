// One linear layer y = x·Wᵀ (+ b) of an inference model, its weight held in the format decoding reads:
// f32 or bf16 packed panels (PanelGemm: one FMA chain per output, so cached and uncached forward passes
// agree bit for bit) or int8 with per-block / per-row f32 scales (Int8Gemm: activations quantized on the
// fly, VNNI where present; packed in 32-output panels). W is given as Hugging Face nn.Linear stores it, (out = N, in = K).
// Not here: LoRA adapters, sparsity, 4-bit formats.
using SharpLM.Tensors;
using SharpLM.Tensors.Kernels;

namespace SharpLM.Models.Inference;

/// <summary>Storage format of inference weights.</summary>
public enum WeightFormat
{
    /// <summary>f32 (exact).</summary>
    F32,
    /// <summary>bfloat16 (round to nearest even), widened exactly in the kernel.</summary>
    BF16,
    /// <summary>int8 with one f32 scale per block of <see cref="Linear.BlockSize"/> weights of a row (Q8_0-like; per-row when the block is the row).</summary>
    Int8,
}

/// <summary>Parsing and naming of <see cref="WeightFormat"/>.</summary>
public static class WeightFormats
{
    /// <summary>Parses "f32", "bf16" or "int8" (case-insensitive).</summary>
    public static WeightFormat Parse(string s) => s.ToLowerInvariant() switch
    {
        "f32" or "fp32" or "float32" => WeightFormat.F32,
        "bf16" or "bfloat16" => WeightFormat.BF16,
        "int8" or "i8" or "q8_0" => WeightFormat.Int8,
        _ => throw new ArgumentException($"unknown weight dtype '{s}'; expected f32, bf16 or int8"),
    };

    /// <summary>The CLI name.</summary>
    public static string Name(WeightFormat f) => f switch { WeightFormat.F32 => "f32", WeightFormat.BF16 => "bf16", _ => "int8" };
}

/// <summary>A linear layer ready for inference.</summary>
public sealed unsafe class Linear : IDisposable
{
    private readonly NativeBuffer _w;
    private readonly NativeBuffer? _bias;

    /// <summary>Outputs.</summary>
    public int N { get; }
    /// <summary>Inputs.</summary>
    public int K { get; }
    /// <summary>Weight storage format.</summary>
    public WeightFormat Format { get; }
    /// <summary>Int8 scale block (weights per scale along a row); 0 for float formats.</summary>
    public int BlockSize { get; }

    /// <summary>Bytes of weights (and scales, and bias) one forward pass reads.</summary>
    public long WeightBytes => Format switch
    {
        WeightFormat.F32 => 4L * N * K,
        WeightFormat.BF16 => 2L * N * K,
        _ => (long)N * K + 4L * N * (K / BlockSize),
    } + (_bias != null ? 4L * N : 0);

    private Linear(int n, int k, WeightFormat f, int block, NativeBuffer w, NativeBuffer? bias)
    {
        N = n; K = k; Format = f; BlockSize = block; _w = w; _bias = bias;
    }

    /// <summary>
    /// Builds from row-major f32 W[N,K] and an optional bias. <paramref name="int8Block"/> is the int8 scale block
    /// (a multiple of 32 dividing K; 0 = one scale per row).
    /// </summary>
    public static Linear Create(ReadOnlySpan<float> W, int N, int K, ReadOnlySpan<float> bias, WeightFormat f, int int8Block = 32)
    {
        if (W.Length != (long)N * K) throw new ArgumentException($"linear: weight has {W.Length} values, expected {N}×{K}");
        if (!bias.IsEmpty && bias.Length != N) throw new ArgumentException($"linear: bias has {bias.Length} values, expected {N}");
        NativeBuffer? b = null;
        if (!bias.IsEmpty) { b = new NativeBuffer(4L * N); bias.CopyTo(new Span<float>(b.Pointer, N)); }
        fixed (float* w = W)
        {
            if (f == WeightFormat.Int8)
            {
                int B = int8Block <= 0 ? K : int8Block;
                Int8Gemm.CheckBlock(K, B);
                var q = new sbyte[(long)N * K];
                var s = new float[(long)N * (K / B)];
                fixed (sbyte* pq = q) fixed (float* ps = s) Int8Gemm.Quantize(w, N, K, K, B, pq, ps);
                return PackInt8(q, s, N, K, B, b);
            }
            var t = f == WeightFormat.F32 ? PanelType.F32 : PanelType.BF16;
            var p = new NativeBuffer(PanelGemm.PackedBytes(t, N, K));
            PanelGemm.Pack(t, w, N, K, p.Pointer);
            return new Linear(N, K, f, 0, p, b);
        }
    }

    /// <summary>Builds an int8 layer from already-quantized weights q[N,K] and scales [N, K/B].</summary>
    public static Linear FromInt8(ReadOnlySpan<sbyte> q, ReadOnlySpan<float> scales, int N, int K, int B, ReadOnlySpan<float> bias)
    {
        Int8Gemm.CheckBlock(K, B);
        if (q.Length != (long)N * K || scales.Length != (long)N * (K / B))
            throw new ArgumentException($"linear int8: {q.Length} weights and {scales.Length} scales, expected {N}×{K} and {N}×{K / B}");
        NativeBuffer? b = null;
        if (!bias.IsEmpty) { b = new NativeBuffer(4L * N); bias.CopyTo(new Span<float>(b.Pointer, N)); }
        return PackInt8(q, scales, N, K, B, b);
    }

    private static Linear PackInt8(ReadOnlySpan<sbyte> q, ReadOnlySpan<float> scales, int N, int K, int B, NativeBuffer? bias)
    {
        var w = new NativeBuffer(Int8Gemm.PackedBytes(N, K, B) + 64);
        fixed (sbyte* pq = q) fixed (float* ps = scales) Int8Gemm.Pack(pq, ps, N, K, B, (byte*)w.Pointer);
        return new Linear(N, K, WeightFormat.Int8, B, w, bias);
    }

    /// <summary>Int8 weights (N×K) and scales (N×K/B); only for <see cref="WeightFormat.Int8"/>.</summary>
    public (ReadOnlyMemory<sbyte> Q, ReadOnlyMemory<float> Scales) Int8Data()
    {
        if (Format != WeightFormat.Int8) throw new InvalidOperationException("not an int8 layer");
        int nb = K / BlockSize;
        var q = new sbyte[(long)N * K];
        var s = new float[(long)N * nb];
        for (int n = 0; n < N; n++)
        {
            for (int k = 0; k < K; k++) q[(long)n * K + k] = Int8Gemm.Weight((byte*)_w.Pointer, K, BlockSize, n, k);
            for (int b = 0; b < nb; b++) s[(long)n * nb + b] = Int8Gemm.Scale((byte*)_w.Pointer, K, BlockSize, n, b);
        }
        return (q, s);
    }

    /// <summary>The weight as f32 row-major (N×K), dequantized or widened.</summary>
    public float[] ToF32()
    {
        var r = new float[(long)N * K];
        for (int n = 0; n < N; n++)
            for (int k = 0; k < K; k++)
                r[(long)n * K + k] = Format == WeightFormat.Int8
                    ? Int8Gemm.Dequantize((byte*)_w.Pointer, K, BlockSize, n, k)
                    : PanelGemm.Unpack(Format == WeightFormat.F32 ? PanelType.F32 : PanelType.BF16, _w.Pointer, K, n, k);
        return r;
    }

    /// <summary>The bias, or empty.</summary>
    public ReadOnlySpan<float> Bias => _bias != null ? new ReadOnlySpan<float>(_bias.Pointer, N) : default;

    /// <summary>y (M×N, row stride N) = x (M×K, row stride K)·Wᵀ + b. <paramref name="xq"/>/<paramref name="xs"/>: int8 scratch of M×K bytes and 2·M×K/B floats.</summary>
    public void Forward(float* x, int M, float* y, sbyte* xq, float* xs)
    {
        if (Format == WeightFormat.Int8)
            Int8Gemm.Run(M, N, K, BlockSize, x, K, xq, xs, (byte*)_w.Pointer, y, N);
        else
            PanelGemm.Run(Format == WeightFormat.F32 ? PanelType.F32 : PanelType.BF16, M, N, K, x, K, _w.Pointer, y, N);
        if (_bias != null)
        {
            float* b = (float*)_bias.Pointer;
            for (int m = 0; m < M; m++) System.Numerics.Tensors.TensorPrimitives.Add(new ReadOnlySpan<float>(y + (long)m * N, N), new ReadOnlySpan<float>(b, N), new Span<float>(y + (long)m * N, N));
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _w.Dispose();
        _bias?.Dispose();
    }
}
