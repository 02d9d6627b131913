// The index behind exact and URL deduplication: key hash → id of the first document that had it, split into
// 16 shards by the hash's top bits so a batch is deduplicated on several threads with the same result as one
// thread. A batch goes: keys hashed in parallel (the costly part: hashing the text, normalising the URL), then
// each document's index is bucketed by shard in input order (a counting sort), then the shards are filled in
// parallel, each walking its own documents in input order — so within a shard, and therefore for every key, the
// first document in input order wins, exactly as a sequential scan decides. Memory: one entry per distinct key
// (the 8- or 16-byte hash and the kept id), about 60–100 bytes with dictionary overhead.
namespace SharpLM.Text.Data.Dedup;

/// <summary>First-seen index of 128-bit keys, sharded for parallel batches.</summary>
internal sealed class ShardedKeyIndex
{
    private const int ShardBits = 4, Shards = 1 << ShardBits;
    private readonly Dictionary<UInt128, string>[] _shards = new Dictionary<UInt128, string>[Shards];
    private readonly Lock _lock = new();

    public ShardedKeyIndex()
    {
        for (int s = 0; s < Shards; s++) _shards[s] = [];
    }

    /// <summary>Distinct keys indexed.</summary>
    public int Count
    {
        get { lock (_lock) { int n = 0; foreach (var d in _shards) n += d.Count; return n; } }
    }

    // The top bits of the low 64: XXH3-64 widened to 128 bits has a zero upper half.
    private static int ShardOf(UInt128 h) => (int)((ulong)h >> (64 - ShardBits));

    /// <summary>Adds one key; returns null when it is new, else the id that had it first.</summary>
    public string? Add(UInt128 key, string id)
    {
        lock (_lock)
        {
            var d = _shards[ShardOf(key)];
            return d.TryAdd(key, id) ? null : d[key];
        }
    }

    /// <summary>
    /// Looks up every key of a batch (<paramref name="has"/>[i] false = no key, always kept), adding new ones, on up
    /// to <paramref name="threads"/> threads; <paramref name="firstId"/>[i] is null when document i is the first
    /// with its key, else the id that had it first. Same result for any thread count.
    /// </summary>
    public void AddBatch(ReadOnlySpan<UInt128> keys, ReadOnlySpan<bool> has, ReadOnlySpan<string> ids, Span<string?> firstId, int threads)
    {
        int n = keys.Length;
        lock (_lock)
        {
            if (threads <= 1 || n < 256)
            {
                for (int i = 0; i < n; i++)
                {
                    if (!has[i]) { firstId[i] = null; continue; }
                    var d = _shards[ShardOf(keys[i])];
                    firstId[i] = d.TryAdd(keys[i], ids[i]) ? null : d[keys[i]];
                }
                return;
            }
            // Counting sort of document indices by shard, input order kept within a shard.
            var start = new int[Shards + 1];
            for (int i = 0; i < n; i++) if (has[i]) start[ShardOf(keys[i]) + 1]++;
            for (int s = 0; s < Shards; s++) start[s + 1] += start[s];
            var order = new int[start[Shards]];
            var fill = (int[])start.Clone();
            for (int i = 0; i < n; i++) if (has[i]) order[fill[ShardOf(keys[i])]++] = i;
            var k = keys.ToArray(); var id = ids.ToArray();
            var result = new string?[n];
            Parallel.For(0, Shards, new ParallelOptions { MaxDegreeOfParallelism = threads }, s =>
            {
                var d = _shards[s];
                for (int j = start[s]; j < start[s + 1]; j++)
                {
                    int i = order[j];
                    if (!d.TryAdd(k[i], id[i])) result[i] = d[k[i]];
                }
            });
            result.CopyTo(firstId);
        }
    }

    /// <summary>The key of a document for <see cref="MarkDuplicates"/>; false when it has none (it is then kept).</summary>
    public delegate bool KeyOf(Document doc, out UInt128 key);

    /// <summary>
    /// A dedup step's batch: keys computed in parallel by <paramref name="keyOf"/>, looked up and added with
    /// <see cref="AddBatch"/>; the first document with a key is kept, later ones get <c>duplicate_of</c> metadata and
    /// are dropped with <paramref name="reason"/>. Same verdicts for any thread count.
    /// </summary>
    public void MarkDuplicates(IReadOnlyList<Document> docs, Span<FilterVerdict> verdicts, int threads, KeyOf keyOf, string reason)
    {
        int n = docs.Count, T = threads > 0 ? threads : Environment.ProcessorCount;
        var keys = new UInt128[n];
        var has = new bool[n];
        var ids = new string[n];
        ForChunks(n, T, i => { ids[i] = docs[i].Id; has[i] = keyOf(docs[i], out keys[i]); });
        var first = new string?[n];
        AddBatch(keys, has, ids, first, T);
        for (int i = 0; i < n; i++)
        {
            if (first[i] is null) { verdicts[i] = FilterVerdict.Kept; continue; }
            docs[i].Metadata["duplicate_of"] = first[i];
            verdicts[i] = FilterVerdict.Drop(reason);
        }
    }

    /// <summary>Runs <paramref name="body"/>(i) for i in [0, n) in chunks on up to <paramref name="threads"/> threads.</summary>
    public static void ForChunks(int n, int threads, Action<int> body)
    {
        if (threads <= 1 || n < 64) { for (int i = 0; i < n; i++) body(i); return; }
        int chunk = Math.Max(16, n / (threads * 8));
        Parallel.For(0, (n + chunk - 1) / chunk, new ParallelOptions { MaxDegreeOfParallelism = threads }, c =>
        {
            int end = Math.Min(n, (c + 1) * chunk);
            for (int i = c * chunk; i < end; i++) body(i);
        });
    }
}
