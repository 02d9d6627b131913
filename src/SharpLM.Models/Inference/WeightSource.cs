// Where an inference model's weights come from, by Hugging Face name: a safetensors checkpoint (f32, bf16
// or f16 tensors widened to f32; int8 tensors written by `sharplm quantize` as NAME (I8, out×in) plus
// NAME_scale (F32, out×blocks)) or seeded random values for benchmarks. Independent of the training code.
using SharpLM.Models.IO;

namespace SharpLM.Models.Inference;

/// <summary>A source of named weight tensors.</summary>
public abstract class WeightSource
{
    /// <summary>True if a tensor of that name exists.</summary>
    public abstract bool Contains(string name);

    /// <summary>The tensor as f32 (row-major); throws naming the tensor if the element count differs from <paramref name="count"/>.</summary>
    public abstract float[] F32(string name, long count);

    /// <summary>Int8 weights and their scales if the tensor is stored quantized; false otherwise.</summary>
    public virtual bool TryInt8(string name, out sbyte[] q, out float[] scales)
    {
        q = []; scales = [];
        return false;
    }

    /// <summary>Name of the source, for errors.</summary>
    public abstract string Describe { get; }
}

/// <summary>Weights read from a safetensors file.</summary>
public sealed class SafetensorsSource(SafetensorsFile file) : WeightSource
{
    /// <summary>Suffix of the scale tensor of an int8 weight.</summary>
    public const string ScaleSuffix = "_scale";

    /// <inheritdoc />
    public override bool Contains(string name) => file.Contains(name);

    /// <inheritdoc />
    public override string Describe => file.Path;

    /// <inheritdoc />
    public override float[] F32(string name, long count)
    {
        if (!file.Contains(name)) throw new InvalidDataException($"{file.Path}: tensor '{name}' missing");
        var info = file.Info(name);
        if (info.ElementCount != count) throw new InvalidDataException($"{file.Path}: tensor '{name}' has shape {info.ShapeText} ({info.ElementCount} values), expected {count}");
        if (info.DType == SafetensorsDType.I8)
        {
            if (!TryInt8(name, out var q, out var s)) throw new InvalidDataException($"{file.Path}: int8 tensor '{name}' has no '{name}{ScaleSuffix}'");
            long rows = info.Shape[0], K = info.ElementCount / rows, B = K / (s.Length / rows);
            var r = new float[q.Length];
            for (long i = 0; i < q.Length; i++) r[i] = q[i] * s[i / K * (K / B) + i % K / B];
            return r;
        }
        return file.ReadF32(name);
    }

    /// <inheritdoc />
    public override bool TryInt8(string name, out sbyte[] q, out float[] scales)
    {
        q = []; scales = [];
        if (!file.Contains(name) || file.Info(name).DType != SafetensorsDType.I8) return false;
        var info = file.Info(name);
        if (info.Shape.Length != 2) throw new InvalidDataException($"{file.Path}: int8 tensor '{name}' must be 2-D (out, in), got {info.ShapeText}");
        if (!file.Contains(name + ScaleSuffix)) throw new InvalidDataException($"{file.Path}: int8 tensor '{name}' has no scale tensor '{name}{ScaleSuffix}'");
        var si = file.Info(name + ScaleSuffix);
        if (si.Shape.Length != 2 || si.Shape[0] != info.Shape[0] || si.Shape[1] == 0 || info.Shape[1] % si.Shape[1] != 0)
            throw new InvalidDataException($"{file.Path}: scale tensor '{name}{ScaleSuffix}' has shape {si.ShapeText}; expected ({info.Shape[0]}, blocks) with blocks dividing {info.Shape[1]}");
        q = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(file.Bytes(name)).ToArray();
        scales = file.ReadF32(name + ScaleSuffix);
        return true;
    }
}

/// <summary>Seeded random weights (normal, σ = 0.02; norms 1, biases 0) for benchmarks and tests.</summary>
public sealed class RandomSource(ulong seed) : WeightSource
{
    /// <inheritdoc />
    public override bool Contains(string name) => !name.EndsWith("lm_head.weight", StringComparison.Ordinal);

    /// <inheritdoc />
    public override string Describe => $"random weights (seed {seed})";

    /// <inheritdoc />
    public override float[] F32(string name, long count)
    {
        var r = new float[count];
        bool norm = name.Contains("ln_", StringComparison.Ordinal) || name.Contains("norm", StringComparison.Ordinal);
        if (norm && name.EndsWith(".weight", StringComparison.Ordinal)) { Array.Fill(r, 1f); return r; }
        if (name.EndsWith(".bias", StringComparison.Ordinal)) return r;
        ulong s = Fnv(name) ^ seed;
        for (long i = 0; i < count; i += 2)
        {
            // Box–Muller over SplitMix64 uniforms.
            double u1 = (SplitMix(ref s) >> 11) * (1.0 / (1UL << 53)) + 1e-300, u2 = (SplitMix(ref s) >> 11) * (1.0 / (1UL << 53));
            double m = Math.Sqrt(-2 * Math.Log(u1));
            r[i] = (float)(0.02 * m * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < count) r[i + 1] = (float)(0.02 * m * Math.Sin(2 * Math.PI * u2));
        }
        return r;
    }

    private static ulong Fnv(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in s) { h ^= c; h *= 1099511628211UL; }
        return h;
    }

    private static ulong SplitMix(ref ulong s)
    {
        ulong z = s += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
