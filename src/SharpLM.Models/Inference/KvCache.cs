// The key/value cache of generation: for every layer, sequence slot and KV head, the keys and values of
// positions 0..Tmax−1: values laid out (L, S, NKV, Tmax, HS), keys transposed (L, S, NKV, HS, Tmax) so the
// attention kernel (CachedAttention) scores a query against all keys with passes vectorised across keys. Positions are absolute: RoPE rotates a
// key by its position once, when it is written, and a later step continues from Length.
// Not here: paging, eviction or sliding windows.
using SharpLM.Tensors;

namespace SharpLM.Models.Inference;

/// <summary>Keys and values of up to <see cref="Sequences"/> sequences of at most <see cref="MaxLength"/> tokens.</summary>
public sealed unsafe class KvCache : IDisposable
{
    private readonly NativeBuffer _k, _v;
    private readonly int[] _length;

    /// <summary>Layers.</summary>
    public int Layers { get; }
    /// <summary>Sequence slots.</summary>
    public int Sequences { get; }
    /// <summary>KV heads.</summary>
    public int KvHeads { get; }
    /// <summary>Head width.</summary>
    public int HeadDim { get; }
    /// <summary>Longest sequence (positions 0..MaxLength−1).</summary>
    public int MaxLength { get; }

    /// <summary>Allocates a zeroed cache.</summary>
    public KvCache(int layers, int sequences, int kvHeads, int headDim, int maxLength)
    {
        if (layers <= 0 || sequences <= 0 || kvHeads <= 0 || headDim <= 0 || maxLength <= 0)
            throw new ArgumentException($"kv cache: sizes must be positive (layers {layers}, sequences {sequences}, kv heads {kvHeads}, head dim {headDim}, max length {maxLength})");
        Layers = layers; Sequences = sequences; KvHeads = kvHeads; HeadDim = headDim; MaxLength = maxLength;
        long n = checked((long)layers * sequences * kvHeads * maxLength * headDim);
        _k = new NativeBuffer(4 * n);
        _v = new NativeBuffer(4 * n);
        _length = new int[sequences];
    }

    /// <summary>Bytes held (keys and values).</summary>
    public long Bytes => _k.Bytes + _v.Bytes;

    /// <summary>Tokens cached for sequence <paramref name="s"/>.</summary>
    public int Length(int s) => _length[s];

    /// <summary>Sets the cached length of a sequence (e.g. 0 to reuse a slot; a shorter length rolls back).</summary>
    public void SetLength(int s, int length)
    {
        if ((uint)length > (uint)MaxLength) throw new ArgumentOutOfRangeException(nameof(length), $"kv cache: length {length} outside 0..{MaxLength}");
        _length[s] = length;
    }

    /// <summary>Keys of one layer, transposed: (S, NKV, HS, Tmax).</summary>
    public float* Keys(int layer) => (float*)_k.Pointer + (long)layer * Sequences * KvHeads * MaxLength * HeadDim;
    /// <summary>Values of one layer: (S, NKV, Tmax, HS).</summary>
    public float* Values(int layer) => (float*)_v.Pointer + (long)layer * Sequences * KvHeads * MaxLength * HeadDim;

    /// <summary>Copies the first <see cref="Length"/>(src) positions of sequence <paramref name="src"/> into <paramref name="dst"/> (n samples of one prompt share one prefill).</summary>
    public void CopySequence(int src, int dst)
    {
        int len = _length[src];
        long block = (long)MaxLength * HeadDim, bytes = 4L * len * HeadDim;
        for (int l = 0; l < Layers; l++)
            for (int h = 0; h < KvHeads; h++)
            {
                long so = ((long)src * KvHeads + h) * block, d = ((long)dst * KvHeads + h) * block;
                for (int e = 0; e < HeadDim; e++) // keys: HeadDim rows of MaxLength positions, the first len used
                    Buffer.MemoryCopy(Keys(l) + so + (long)e * MaxLength, Keys(l) + d + (long)e * MaxLength, 4L * len, 4L * len);
                Buffer.MemoryCopy(Values(l) + so, Values(l) + d, bytes, bytes);
            }
        _length[dst] = len;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _k.Dispose();
        _v.Dispose();
    }
}
