// Streaming exact deduplication: the first document with a given content hash is kept, later ones are
// dropped with reason "exact_duplicate" and metadata "duplicate_of" = the kept document's id. The index is
// one entry per distinct document: the hash (8 or 16 bytes) plus the kept id's string, about 60–100 bytes
// per unique document with dictionary overhead. Apply() is serialised by a lock; feed documents in a fixed
// order for deterministic output (the first seen wins).
// Not here: near-duplicates (MinHashDedup.cs).
namespace SharpLM.Text.Data.Dedup;

/// <summary>Drops documents whose (optionally whitespace-normalised) text was seen before.</summary>
public sealed class ExactDedup(int bits = 64, bool normalizeWhitespace = false) : IDocumentFilter
{
    private readonly Dictionary<UInt128, string> _seen = [];
    private readonly Lock _lock = new();

    /// <summary>Hash width: 64 or 128.</summary>
    public int Bits { get; } = bits is 64 or 128 ? bits : throw new ArgumentException($"exact dedup: hash bits must be 64 or 128, got {bits}");

    /// <summary>Whether whitespace runs are collapsed before hashing.</summary>
    public bool NormalizeWhitespace { get; } = normalizeWhitespace;

    /// <inheritdoc/>
    public string Name => "exact_dedup";

    /// <summary>Distinct documents indexed so far.</summary>
    public int Count { get { lock (_lock) return _seen.Count; } }

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc)
    {
        var h = TextHash.Hash(doc.Text, Bits, NormalizeWhitespace);
        lock (_lock)
        {
            if (_seen.TryAdd(h, doc.Id)) return FilterVerdict.Kept;
            doc.Metadata["duplicate_of"] = _seen[h];
        }
        return FilterVerdict.Drop("exact_duplicate");
    }
}
