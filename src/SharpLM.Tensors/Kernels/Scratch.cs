// Per-thread, grow-only scratch memory for kernels that need temporary buffers (per-chunk partial
// sums, logits chunks): allocated once, reused every call, so a training step does not allocate after
// its first. What it is not: a general allocator — a caller owns the slot until it returns, and each
// kernel uses distinct slot numbers for buffers alive at the same time.
namespace SharpLM.Tensors.Kernels;

internal static unsafe class Scratch
{
    private const int Slots = 4;
    [ThreadStatic] private static NativeBuffer?[]? _buffers;

    /// <summary>A 64-byte-aligned float buffer of at least <paramref name="floats"/> elements (contents undefined).</summary>
    public static float* Floats(int slot, long floats)
    {
        var b = _buffers ??= new NativeBuffer?[Slots];
        long bytes = Math.Max(64, floats * sizeof(float));
        if (b[slot] is not { } buf || buf.Bytes < bytes)
        {
            b[slot]?.Dispose();
            b[slot] = buf = new NativeBuffer(bytes + bytes / 4);
        }
        return (float*)buf.Pointer;
    }
}
