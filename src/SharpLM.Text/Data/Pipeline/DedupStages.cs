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
        d.ObserveAll(input());
        return d;
    }
}

/// <summary>MinHash-LSH near-duplicate removal as a two-pass stage: signatures of every document, clustering,
/// then one member per cluster kept (the first in input order); removed documents carry their cluster
/// (metadata cluster, duplicate_of, similarity) — see <see cref="MinHashDedup"/>.</summary>
public sealed class MinHashStage(MinHashOptions options, int threads = 0) : IPipelineStage
{
    /// <inheritdoc/>
    public string Name => "minhash_dedup";

    /// <inheritdoc/>
    public IDocumentFilter Prepare(Func<IEnumerable<Document>> input, string workDir) => MinHashDedup.Prepare(input(), options, threads);
}
