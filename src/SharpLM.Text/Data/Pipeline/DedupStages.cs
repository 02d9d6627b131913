// Pipeline adapters for the deduplication building blocks of Data/Dedup: exact and URL dedup stream as
// ordinary (sequential, stateful) filters; cross-document line/paragraph boilerplate and MinHash-LSH need the
// whole input first, so they run as multi-pass stages (count or sign every document, then filter in a second pass).
// Memory: the dedup indexes (LineDedup's count sketch; MinHash: BytesPerDocument per document), nothing else.
using SharpLM.Text.Data.Dedup;

namespace SharpLM.Text.Data.Pipeline;

/// <summary>Line/paragraph boilerplate removal across documents as a two-pass stage.</summary>
public sealed class LineDedupStage(Func<LineDedup> make) : IPipelineStage
{
    private readonly LineDedup _probe = make();

    /// <inheritdoc/>
    public string Name => _probe.Name;

    /// <inheritdoc/>
    public IDocumentFilter Prepare(Func<IEnumerable<Document>> input, string workDir)
    {
        var d = make();
        foreach (var doc in input()) d.Observe(doc);
        return d;
    }
}

/// <summary>MinHash-LSH near-duplicate removal as a two-pass stage: signatures of every document, clustering,
/// then one member per cluster kept (the first in input order).</summary>
public sealed class MinHashStage(MinHashOptions options, int threads = 0) : IPipelineStage
{
    /// <inheritdoc/>
    public string Name => "minhash_dedup";

    /// <inheritdoc/>
    public IDocumentFilter Prepare(Func<IEnumerable<Document>> input, string workDir)
    {
        var index = new MinHashIndex(options);
        var batch = new List<string>(4096);
        foreach (var doc in input())
        {
            batch.Add(doc.Text);
            if (batch.Count == 4096) { index.AddBatch(batch, threads); batch.Clear(); }
        }
        if (batch.Count > 0) index.AddBatch(batch, threads);
        return new Apply(index.Cluster());
    }

    private sealed class Apply(MinHashClusters clusters) : IDocumentFilter
    {
        private int _i;
        public string Name => "minhash_dedup";

        FilterVerdict IDocumentFilter.Apply(Document doc)
        {
            int i = _i++;
            if (i >= clusters.Representative.Length) throw new InvalidOperationException("minhash_dedup: more documents in the filter pass than were signed");
            return clusters.IsDuplicate(i) ? FilterVerdict.Drop("minhash_dedup:near_duplicate") : FilterVerdict.Kept;
        }
    }
}
