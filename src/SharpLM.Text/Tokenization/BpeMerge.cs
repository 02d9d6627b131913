// The BPE merge core: given a chunk as token ids (initially one per byte), repeatedly merge the adjacent
// pair with the lowest rank until no adjacent pair has a rank. Ties go to the leftmost pair. This is the
// encoding rule of tiktoken (openai/tiktoken src/lib.rs, byte_pair_merge: lowest rank of the concatenated
// bytes, leftmost first) and of Hugging Face tokenizers' BPE model (lowest merge index, leftmost first),
// because a pair table can hold either: rank = rank of the merged token, or rank = merge index.
// Short chunks use a quadratic loop over two small arrays; long chunks (long whitespace, base64 blobs)
// use a doubly linked list and a binary min-heap with lazy invalidation, O(n log n).
// Not here: pre-tokenization, caching, special tokens (BpeTokenizer).
using System.Buffers;
using System.Runtime.CompilerServices;

namespace SharpLM.Text.Tokenization;

/// <summary>Open-addressing hash map from an ordered token pair to (rank, merged id). Read-only after build.</summary>
internal sealed class PairTable
{
    private ulong[] _keys;
    private long[] _values; // rank << 32 | merged
    private int _mask;
    private int _count;
    private const ulong Empty = ulong.MaxValue;

    public PairTable(int expected)
    {
        int cap = 16;
        while (cap < expected * 2) cap <<= 1;
        _keys = new ulong[cap];
        Array.Fill(_keys, Empty);
        _values = new long[cap];
        _mask = cap - 1;
    }

    public int Count => _count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Key(int a, int b) => ((ulong)(uint)a << 32) | (uint)b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(ulong key)
    {
        ulong h = key * 0x9E3779B97F4A7C15UL;
        return (int)(h >> 32) ^ (int)h;
    }

    /// <summary>Adds (a, b) → (rank, merged) unless the pair already has a lower or equal rank.</summary>
    public void Add(int a, int b, int rank, int merged)
    {
        if ((_count + 1) * 2 > _keys.Length) Grow();
        ulong key = Key(a, b);
        int i = Hash(key) & _mask;
        while (true)
        {
            if (_keys[i] == Empty)
            {
                _keys[i] = key; _values[i] = ((long)rank << 32) | (uint)merged; _count++;
                return;
            }
            if (_keys[i] == key)
            {
                if ((int)(_values[i] >> 32) > rank) _values[i] = ((long)rank << 32) | (uint)merged;
                return;
            }
            i = (i + 1) & _mask;
        }
    }

    /// <summary>The rank of (a, b), or int.MaxValue when the pair does not merge; <paramref name="merged"/> gets the new id.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Rank(int a, int b, out int merged)
    {
        ulong key = Key(a, b);
        var keys = _keys;
        int i = Hash(key) & _mask;
        while (true)
        {
            ulong k = keys[i];
            if (k == key) { long v = _values[i]; merged = (int)v; return (int)(v >> 32); }
            if (k == Empty) { merged = -1; return int.MaxValue; }
            i = (i + 1) & _mask;
        }
    }

    /// <summary>All entries as (a, b, rank, merged), in no particular order.</summary>
    public IEnumerable<(int A, int B, int Rank, int Merged)> Entries()
    {
        for (int i = 0; i < _keys.Length; i++)
            if (_keys[i] != Empty)
                yield return ((int)(_keys[i] >> 32), (int)(uint)_keys[i], (int)(_values[i] >> 32), (int)_values[i]);
    }

    private void Grow()
    {
        var oldK = _keys; var oldV = _values;
        _keys = new ulong[oldK.Length * 2];
        Array.Fill(_keys, Empty);
        _values = new long[oldK.Length * 2];
        _mask = _keys.Length - 1;
        _count = 0;
        for (int i = 0; i < oldK.Length; i++)
            if (oldK[i] != Empty) Add((int)(oldK[i] >> 32), (int)(uint)oldK[i], (int)(oldV[i] >> 32), (int)oldV[i]);
    }
}

internal static class BpeMerge
{
    /// <summary>Chunks up to this many parts use the quadratic loop.</summary>
    public const int ShortLimit = 64;

    /// <summary>Merges <paramref name="ids"/> in place; returns the number of ids left.</summary>
    public static int Merge(PairTable pairs, Span<int> ids)
    {
        int n = ids.Length;
        if (n < 2) return n;
        return n <= ShortLimit ? MergeShort(pairs, ids) : MergeLong(pairs, ids);
    }

    internal static int MergeShort(PairTable pairs, Span<int> ids)
    {
        int n = ids.Length;
        Span<int> rank = stackalloc int[ShortLimit];
        Span<int> merged = stackalloc int[ShortLimit];
        for (int i = 0; i < n - 1; i++) rank[i] = pairs.Rank(ids[i], ids[i + 1], out merged[i]);
        while (n > 1)
        {
            int best = int.MaxValue, at = -1;
            for (int i = 0; i < n - 1; i++)
                if (rank[i] < best) { best = rank[i]; at = i; }
            if (at < 0) break;
            ids[at] = merged[at];
            // drop part at+1 and pair at+1 (the pair that started at the removed part)
            for (int j = at + 1; j < n - 1; j++) ids[j] = ids[j + 1];
            for (int j = at + 1; j < n - 2; j++) { rank[j] = rank[j + 1]; merged[j] = merged[j + 1]; }
            n--;
            if (at > 0) rank[at - 1] = pairs.Rank(ids[at - 1], ids[at], out merged[at - 1]);
            if (at < n - 1) rank[at] = pairs.Rank(ids[at], ids[at + 1], out merged[at]);
        }
        return n;
    }

    private struct HeapItem
    {
        public int Rank, Left, LeftId, RightId;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Less(in HeapItem x, in HeapItem y) => x.Rank < y.Rank || (x.Rank == y.Rank && x.Left < y.Left);

    internal static int MergeLong(PairTable pairs, Span<int> ids)
    {
        int n = ids.Length;
        int[] next = ArrayPool<int>.Shared.Rent(n);
        int[] prev = ArrayPool<int>.Shared.Rent(n);
        int[] id = ArrayPool<int>.Shared.Rent(n);
        HeapItem[] heap = ArrayPool<HeapItem>.Shared.Rent(n * 3 + 4);
        int hc = 0;
        for (int i = 0; i < n; i++) { id[i] = ids[i]; next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
        for (int i = 0; i < n - 1; i++)
        {
            int r = pairs.Rank(id[i], id[i + 1], out _);
            if (r != int.MaxValue) Push(heap, ref hc, new HeapItem { Rank = r, Left = i, LeftId = id[i], RightId = id[i + 1] });
        }
        while (hc > 0)
        {
            var top = heap[0];
            Pop(heap, ref hc);
            int l = top.Left;
            int rgt = next[l];
            if (id[l] != top.LeftId || rgt < 0 || id[rgt] != top.RightId) continue; // stale
            pairs.Rank(id[l], id[rgt], out int m);
            id[l] = m;
            id[rgt] = -1;
            int after = next[rgt];
            next[l] = after;
            if (after >= 0) prev[after] = l;
            int before = prev[l];
            if (before >= 0)
            {
                int r = pairs.Rank(id[before], m, out _);
                if (r != int.MaxValue) Push(heap, ref hc, new HeapItem { Rank = r, Left = before, LeftId = id[before], RightId = m });
            }
            if (after >= 0)
            {
                int r = pairs.Rank(m, id[after], out _);
                if (r != int.MaxValue) Push(heap, ref hc, new HeapItem { Rank = r, Left = l, LeftId = m, RightId = id[after] });
            }
        }
        int k = 0;
        for (int i = 0; i >= 0; i = next[i]) ids[k++] = id[i];
        ArrayPool<int>.Shared.Return(next);
        ArrayPool<int>.Shared.Return(prev);
        ArrayPool<int>.Shared.Return(id);
        ArrayPool<HeapItem>.Shared.Return(heap);
        return k;
    }

    private static void Push(HeapItem[] heap, ref int count, HeapItem item)
    {
        // n - 1 initial pushes plus at most two per merge (n - 1 merges): 3n + 4 slots always suffice
        int i = count++;
        while (i > 0)
        {
            int p = (i - 1) >> 1;
            if (!Less(item, heap[p])) break;
            heap[i] = heap[p];
            i = p;
        }
        heap[i] = item;
    }

    private static void Pop(HeapItem[] heap, ref int count)
    {
        var last = heap[--count];
        int i = 0;
        while (true)
        {
            int c = 2 * i + 1;
            if (c >= count) break;
            if (c + 1 < count && Less(heap[c + 1], heap[c])) c++;
            if (!Less(heap[c], last)) break;
            heap[i] = heap[c];
            i = c;
        }
        if (count > 0) heap[i] = last;
    }
}
