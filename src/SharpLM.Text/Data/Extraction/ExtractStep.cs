// The extraction step: turns documents whose metadata says content_type text/html (HTML files, WARC pages, or
// JSONL with that field) into their main text; documents with no text left are dropped as "extract:empty".
namespace SharpLM.Text.Data.Extraction;

/// <summary>HTML → text pipeline step.</summary>
public sealed class ExtractStep(ExtractionOptions? options = null, bool all = false) : IParallelSafeFilter
{
    [ThreadStatic] private static HtmlExtractor? t_extractor;
    private readonly ExtractionOptions _o = options ?? new ExtractionOptions();

    /// <inheritdoc/>
    public string Name => "extract";

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc)
    {
        bool html;
        lock (doc.Metadata) html = all || (doc.Metadata.TryGetValue("content_type", out var ct) && ct is string s && s.Contains("html", StringComparison.OrdinalIgnoreCase));
        if (!html) return FilterVerdict.Kept;
        var x = t_extractor ??= new HtmlExtractor(_o);
        doc.Text = x.Extract(doc.Text, out var title);
        lock (doc.Metadata)
        {
            doc.Metadata.Remove("content_type");
            if (title is not null) doc.Metadata["title"] = title;
        }
        return doc.Text.Length == 0 ? FilterVerdict.Drop($"{Name}:empty") : FilterVerdict.Kept;
    }
}
