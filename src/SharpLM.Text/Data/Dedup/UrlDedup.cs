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
    public void ApplyBatch(IReadOnlyList<Document> docs, Span<FilterVerdict> verdicts, int threads = 0)
    {
        int n = docs.Count, T = threads > 0 ? threads : Environment.ProcessorCount;
        var keys = new UInt128[n];
        var has = new bool[n];
        var ids = new string[n];
        ShardedKeyIndex.ForChunks(n, T, i =>
        {
            ids[i] = docs[i].Id;
            if (string.IsNullOrWhiteSpace(docs[i].Url)) return;
            keys[i] = Key(docs[i].Url!);
            has[i] = true;
        });
        var first = new string?[n];
        _seen.AddBatch(keys, has, ids, first, T);
        for (int i = 0; i < n; i++)
        {
            if (first[i] is null) { verdicts[i] = FilterVerdict.Kept; continue; }
            docs[i].Metadata["duplicate_of"] = first[i];
            verdicts[i] = FilterVerdict.Drop("url_duplicate");
        }
    }
}
