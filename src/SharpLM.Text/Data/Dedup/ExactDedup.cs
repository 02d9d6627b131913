// Streaming exact deduplication: the first document with a given content hash is kept, later ones are
// dropped with reason "exact_duplicate" and metadata "duplicate_of" = the kept document's id. The index
// (ShardedKeyIndex) is one entry per distinct document: the hash (8 or 16 bytes) plus the kept id's string,
// about 60–100 bytes per unique document with dictionary overhead. In a pipeline it runs as a batch step: texts
// are hashed in parallel and the index, sharded by hash, is filled in parallel, with the first document in input
// order winning for every hash — the same output as one thread. Apply() decides one document (serialised).
// Not here: near-duplicates (MinHashDedup.cs).
namespace SharpLM.Text.Data.Dedup;

/// <summary>Drops documents whose (optionally whitespace-normalised) text was seen before.</summary>
public sealed class ExactDedup(int bits = 64, bool normalizeWhitespace = false) : IBatchFilter
{
    private readonly ShardedKeyIndex _seen = new();

    /// <summary>Hash width: 64 or 128.</summary>
    public int Bits { get; } = bits is 64 or 128 ? bits : throw new ArgumentException($"exact dedup: hash bits must be 64 or 128, got {bits}");

    /// <summary>Whether whitespace runs are collapsed before hashing.</summary>
    public bool NormalizeWhitespace { get; } = normalizeWhitespace;

    /// <inheritdoc/>
    public string Name => "exact_dedup";

    /// <summary>Distinct documents indexed so far.</summary>
    public int Count => _seen.Count;

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc)
    {
        var first = _seen.Add(TextHash.Hash(doc.Text, Bits, NormalizeWhitespace), doc.Id);
        if (first is null) return FilterVerdict.Kept;
        doc.Metadata["duplicate_of"] = first;
        return FilterVerdict.Drop("exact_duplicate");
    }

    /// <inheritdoc/>
    public void ApplyBatch(IReadOnlyList<Document> docs, Span<FilterVerdict> verdicts, int threads = 0) =>
        _seen.MarkDuplicates(docs, verdicts, threads, (Document d, out UInt128 key) => { key = TextHash.Hash(d.Text, Bits, NormalizeWhitespace); return true; }, "exact_duplicate");
}
