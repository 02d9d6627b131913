// What a pipeline is made of: streaming filters (IDocumentFilter, run per document) and multi-pass stages
// (IPipelineStage: MinHash-LSH, cross-document line dedup, anything that must see the whole input first). The
// runner cuts the pipeline at every multi-pass stage: the documents reaching it are written to an intermediate
// file, the stage prepares over that file (as many passes as it wants), then its filter and the steps after it
// stream from that file.
namespace SharpLM.Text.Data.Pipeline;

/// <summary>A step that needs a full pass over its input before it can filter.</summary>
public interface IPipelineStage
{
    /// <summary>Short stable name (stats.json, removed/&lt;name&gt;.jsonl).</summary>
    string Name { get; }

    /// <summary>
    /// Reads the stage's input (call <paramref name="input"/> for each pass; every call re-reads the same
    /// documents in the same order), may keep files in <paramref name="workDir"/> (kept across a resumed run),
    /// and returns the filter applied to those documents in the streaming pass that follows.
    /// </summary>
    IDocumentFilter Prepare(Func<IEnumerable<Document>> input, string workDir);
}

/// <summary>One entry of a pipeline: a streaming filter or a multi-pass stage.</summary>
public sealed class PipelineItem
{
    private PipelineItem(IDocumentFilter? filter, IPipelineStage? stage) { Filter = filter; Stage = stage; }

    /// <summary>The streaming filter, if this item is one.</summary>
    public IDocumentFilter? Filter { get; }
    /// <summary>The multi-pass stage, if this item is one.</summary>
    public IPipelineStage? Stage { get; }
    /// <summary>The step's name.</summary>
    public string Name => Filter?.Name ?? Stage!.Name;

    /// <summary>Wraps a streaming filter.</summary>
    public static PipelineItem Of(IDocumentFilter f) => new(f, null);
    /// <summary>Wraps a multi-pass stage.</summary>
    public static PipelineItem Of(IPipelineStage s) => new(null, s);
}
