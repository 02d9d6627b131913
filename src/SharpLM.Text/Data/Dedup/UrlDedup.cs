// Streaming URL deduplication: the first document with a given normalised URL (UrlNormalizer) is kept,
// later ones are dropped with reason "url_duplicate" and metadata "duplicate_of". Documents without a URL
// pass. The index holds the 64-bit hash of each distinct normalised URL plus the kept id (~60–100 bytes
// per URL). Apply() is serialised by a lock; feed documents in a fixed order for deterministic output.
namespace SharpLM.Text.Data.Dedup;

/// <summary>Drops documents whose normalised URL was seen before.</summary>
public sealed class UrlDedup(bool stripWww = false) : IDocumentFilter
{
    private readonly Dictionary<ulong, string> _seen = [];
    private readonly Lock _lock = new();

    /// <inheritdoc/>
    public string Name => "url_dedup";

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc)
    {
        if (string.IsNullOrWhiteSpace(doc.Url)) return FilterVerdict.Kept;
        ulong h = TextHash.Hash64(UrlNormalizer.Normalize(doc.Url, stripWww));
        lock (_lock)
        {
            if (_seen.TryAdd(h, doc.Id)) return FilterVerdict.Kept;
            doc.Metadata["duplicate_of"] = _seen[h];
        }
        return FilterVerdict.Drop("url_duplicate");
    }
}
