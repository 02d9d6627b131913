// Element types of SharpLM tensors. f32 is the compute type; bf16 is a storage type that kernels
// widen to f32 on the fly; int32 holds token ids; int8 holds quantized weights (with separate scales).
namespace SharpLM.Tensors;

/// <summary>Element type of a tensor's storage.</summary>
public enum DType
{
    /// <summary>IEEE 754 binary32, the compute type.</summary>
    F32,
    /// <summary>bfloat16 (upper 16 bits of binary32), a storage type widened in kernels.</summary>
    BF16,
    /// <summary>32-bit signed integers (token ids, indices).</summary>
    I32,
    /// <summary>8-bit signed integers (quantized weights; scales live elsewhere).</summary>
    I8,
}

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypeInfo
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(DType t) => t switch
    {
        DType.F32 or DType.I32 => 4,
        DType.BF16 => 2,
        DType.I8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown dtype"),
    };

    /// <summary>The name used in file formats (safetensors-style: F32, BF16, I32, I8).</summary>
    public static string Name(DType t) => t switch
    {
        DType.F32 => "F32",
        DType.BF16 => "BF16",
        DType.I32 => "I32",
        DType.I8 => "I8",
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown dtype"),
    };
}
