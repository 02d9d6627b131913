// 64-byte-aligned native memory: the storage under every tensor. Aligned so AVX-512 loads of a
// row start never split a cache line; native so the GC never moves or scans it. Freed by Dispose or,
// as a safety net, by the finalizer.
using System.Runtime.InteropServices;

namespace SharpLM.Tensors;

/// <summary>An owned, zero-initialised, 64-byte-aligned block of native memory.</summary>
public sealed unsafe class NativeBuffer : IDisposable
{
    /// <summary>Alignment of every buffer, in bytes (one cache line, one AVX-512 register).</summary>
    public const int Alignment = 64;

    private void* _ptr;

    /// <summary>Size in bytes.</summary>
    public long Bytes { get; }

    /// <summary>Allocates <paramref name="bytes"/> zeroed bytes.</summary>
    public NativeBuffer(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        Bytes = bytes;
        nuint n = (nuint)Math.Max(bytes, 1);
        _ptr = NativeMemory.AlignedAlloc(n, Alignment);
        NativeMemory.Clear(_ptr, n);
        if (bytes > 0) GC.AddMemoryPressure(bytes);
    }

    /// <summary>The start of the block.</summary>
    public void* Pointer => _ptr != null ? _ptr : throw new ObjectDisposedException(nameof(NativeBuffer));

    /// <inheritdoc />
    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (_ptr == null) return;
        NativeMemory.AlignedFree(_ptr);
        _ptr = null;
        if (Bytes > 0) GC.RemoveMemoryPressure(Bytes);
    }

    /// <summary>Frees the memory if Dispose was never called.</summary>
    ~NativeBuffer() => Free();
}
