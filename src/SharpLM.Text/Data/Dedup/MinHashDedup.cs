// MinHash-LSH near-duplicate removal as a two-pass pipeline step: Prepare() reads every document once,
// computing signatures in parallel batches into a MinHashIndex, and clusters them; the returned filter then
// sees the same documents again in the same order and drops every document that is not its cluster's first
// member, with metadata dedup_reason = "near_duplicate", cluster/duplicate_of = the kept document's id and
// similarity = the estimated Jaccard with it. The filter checks that the second pass really is the same
// sequence (a 32-bit hash of each id is kept from the first pass) and fails loudly otherwise.
// Memory: MinHashIndex's 8b + 4K bytes per document plus 4 bytes for the id check.
namespace SharpLM.Text.Data.Dedup;

/// <summary>The streaming half of MinHash dedup, built by Prepare.</summary>
public sealed class MinHashDedup : IDocumentFilter
{
    private readonly MinHashClusters _clusters;
    private readonly uint[] _idHashes;
    private readonly Dictionary<int, string> _repIds = [];
    private readonly Dictionary<int, List<string>> _members = [];
    private readonly bool[] _hasMembers;
    private int _next;

    private MinHashDedup(MinHashClusters clusters, uint[] idHashes)
    {
        _clusters = clusters;
        _idHashes = idHashes;
        _hasMembers = new bool[idHashes.Length];
        for (int d = 0; d < idHashes.Length; d++) if (clusters.Representative[d] != d) _hasMembers[clusters.Representative[d]] = true;
    }

    /// <inheritdoc/>
    public string Name => "minhash_dedup";

    /// <summary>The clustering of the first pass.</summary>
    public MinHashClusters Clusters => _clusters;

    /// <summary>Documents indexed in the first pass.</summary>
    public int Count => _idHashes.Length;

    /// <summary>Clusters with more than one member seen so far in the second pass: kept id → removed ids, in input order.</summary>
    public IEnumerable<(string Kept, IReadOnlyList<string> Removed)> ClusterMembers()
    {
        foreach (var rep in _repIds.Keys.Order()) yield return (_repIds[rep], _members[rep]);
    }

    /// <summary>Pass 1: signatures of all <paramref name="docs"/> (batches of <paramref name="batchSize"/> on
    /// <paramref name="threads"/> threads, 0 = all cores), then LSH clustering.</summary>
    public static MinHashDedup Prepare(IEnumerable<Document> docs, MinHashOptions options, int threads = 0, int batchSize = 4096)
    {
        var b = new Builder(options, threads);
        var batch = new List<Document>(batchSize);
        foreach (var d in docs)
        {
            batch.Add(d);
            if (batch.Count == batchSize) { b.Add(batch); batch.Clear(); }
        }
        if (batch.Count > 0) b.Add(batch);
        return b.Build();
    }

    /// <summary>Pass 1 fed batch by batch (e.g. while another step streams the same documents), then <see cref="Build"/>.</summary>
    public sealed class Builder(MinHashOptions options, int threads = 0)
    {
        private readonly MinHashIndex _index = new(options);
        private readonly List<uint> _ids = [];
        private readonly List<string> _texts = [];

        /// <summary>Signs a batch of documents (in parallel) and appends it in order.</summary>
        public void Add(IReadOnlyList<Document> batch)
        {
            _texts.Clear();
            foreach (var d in batch) { _ids.Add((uint)TextHash.Hash64(d.Id)); _texts.Add(d.Text); }
            _index.AddBatch(_texts, threads);
        }

        /// <summary>Clusters everything added and returns the filter for the second pass.</summary>
        public MinHashDedup Build() => new(_index.Cluster(), [.. _ids]);
    }

    /// <summary>Pass 2: call on the same documents in the same order. Not thread-safe (the order is the key).</summary>
    public FilterVerdict Apply(Document doc)
    {
        int d = _next;
        if (d >= _idHashes.Length)
            throw new InvalidOperationException($"minhash dedup: more documents in the filtering pass than the {_idHashes.Length} indexed (at id '{doc.Id}')");
        if ((uint)TextHash.Hash64(doc.Id) != _idHashes[d])
            throw new InvalidOperationException($"minhash dedup: document {d} of the filtering pass has id '{doc.Id}', not the id indexed there; both passes must read the same documents in the same order");
        _next++;
        int rep = _clusters.Representative[d];
        if (rep == d)
        {
            if (_hasMembers[d]) { _repIds[d] = doc.Id; _members[d] = []; }
            return FilterVerdict.Kept;
        }
        string repId = _repIds[rep]; // the representative is the earliest member, so it has been seen
        doc.Metadata["duplicate_of"] = repId;
        doc.Metadata["cluster"] = repId;
        doc.Metadata["similarity"] = Math.Round(_clusters.Similarity[d], 4);
        _members[rep].Add(doc.Id);
        return FilterVerdict.Drop("near_duplicate");
    }

    /// <summary>Documents the filtering pass has seen.</summary>
    public int Seen => _next;
}
