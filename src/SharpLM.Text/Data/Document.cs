// The unit of the data pipeline: one document with its provenance. Serialized as one JSONL line
// {"id","text","url","source","metadata":{…}} — the format of ARCHITECTURE.md.
namespace SharpLM.Text.Data;

/// <summary>A document flowing through the data pipeline.</summary>
public sealed class Document
{
    /// <summary>Stable identifier (from the source, or derived from it).</summary>
    public required string Id { get; init; }
    /// <summary>The text (after extraction, for HTML sources).</summary>
    public required string Text { get; set; }
    /// <summary>Where the document came from on the web, if known.</summary>
    public string? Url { get; init; }
    /// <summary>The file or dataset it was read from.</summary>
    public string? Source { get; init; }
    /// <summary>Free-form annotations added by stages (language, scores, labels).</summary>
    public Dictionary<string, object?> Metadata { get; init; } = [];
}
