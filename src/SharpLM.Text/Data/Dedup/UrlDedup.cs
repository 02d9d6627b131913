// Streaming URL deduplication: the first document with a given normalised URL (UrlNormalizer) is kept,
// later ones are dropped with reason "url_duplicate" and metadata "duplicate_of". Documents without a URL
// pass. The index (ShardedKeyIndex) holds the 64-bit hash of each distinct normalised URL plus the kept id
// (~60–100 bytes per URL). In a pipeline it runs as a batch step: URLs are normalised and hashed in parallel and
// the sharded index is filled in parallel, the first document in input order winning — the same output as one
// thread. Apply() decides one document (serialised).
namespace SharpLM.Text.Data.Dedup;

/// <summary>Drops documents whose normalised URL was seen before.</summary>
public sealed class UrlDedup(bool stripWww = false) : IBatchFilter
{
    private readonly ShardedKeyIndex _seen = new();

    /// <inheritdoc/>
    public string Name => "url_dedup";

    private UInt128 Key(string url) => TextHash.Hash64(UrlNormalizer.Normalize(url, stripWww));

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc)
    {
        if (string.IsNullOrWhiteSpace(doc.Url)) return FilterVerdict.Kept;
        var first = _seen.Add(Key(doc.Url), doc.Id);
        if (first is null) return FilterVerdict.Kept;
        doc.Metadata["duplicate_of"] = first;
        return FilterVerdict.Drop("url_duplicate");
    }

    /// <inheritdoc/>
    public void ApplyBatch(IReadOnlyList<Document> docs, Span<FilterVerdict> verdicts, int threads = 0) =>
        _seen.MarkDuplicates(docs, verdicts, threads, (Document d, out UInt128 key) =>
        {
            key = default;
            if (string.IsNullOrWhiteSpace(d.Url)) return false;
            key = Key(d.Url);
            return true;
        }, "url_duplicate");
}
