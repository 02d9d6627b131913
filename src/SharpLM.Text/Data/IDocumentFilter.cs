// A streaming pipeline step: looks at one document, keeps it (possibly rewritten) or drops it with
// a reason. Stateless rules and streaming deduplicators (exact hash, URL) implement it; multi-pass
// stages (MinHash, cross-document line dedup) run as their own stages and then act as filters.
namespace SharpLM.Text.Data;

/// <summary>What a step decided about a document.</summary>
public readonly record struct FilterVerdict(bool Keep, string? Reason)
{
    /// <summary>Keep the document.</summary>
    public static FilterVerdict Kept => new(true, null);
    /// <summary>Drop the document, saying why (e.g. "gopher_quality:word_count").</summary>
    public static FilterVerdict Drop(string reason) => new(false, reason);
}

/// <summary>One composable pipeline step over documents.</summary>
public interface IDocumentFilter
{
    /// <summary>Short stable name, used in stats.json and removed/&lt;name&gt;.jsonl.</summary>
    string Name { get; }

    /// <summary>Decides on one document; may rewrite <see cref="Document.Text"/> (e.g. PII redaction).</summary>
    FilterVerdict Apply(Document doc);
}
