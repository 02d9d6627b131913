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

/// <summary>MinHash-LSH near-duplicate removal as a multi-pass stage, run through the staged path of
/// <see cref="MinHashStaged"/> with one rank in the stage's work folder: signatures and sorted band files,
/// band matching, clustering, then the filtering pass; each finished task leaves a marker, so a relaunch after a
/// crash skips it. One member per cluster is kept (the first in input order); removed documents carry their
/// cluster (metadata cluster, duplicate_of, similarity). Across ranks, use `sharplm data minhash`.</summary>
public sealed class MinHashStage(MinHashOptions options, int threads = 0) : IPipelineStage
{
    /// <inheritdoc/>
    public string Name => "minhash_dedup";

    /// <summary>Tasks of the last Prepare skipped because they had finished in an earlier launch.</summary>
    public int SkippedTasks { get; private set; }

    /// <inheritdoc/>
    public IDocumentFilter Prepare(Func<IEnumerable<Document>> input, string workDir)
    {
        var st = new MinHashStaged(options, workDir, 1);
        st.RunAll(_ => input(), threads);
        SkippedTasks = st.Skipped;
        return st.Filter(0);
    }
}
