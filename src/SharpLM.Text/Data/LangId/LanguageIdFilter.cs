// Language identification step: scores each document with the hashed char n-gram classifier, records
// metadata "language" and "language_score", and keeps documents whose top language is one of the chosen ones
// with confidence ≥ the threshold (0.65 by default, as FineWeb keeps English at fastText score ≥ 0.65).
// The shipped model (en, de, es, fr, it, pl, ru, cs, pt, nl) is an embedded resource trained by
// `sharplm data train-langid` on the corpus of reference/langid/make_corpus.py.
namespace SharpLM.Text.Data.LangId;

/// <summary>Options of the language filter.</summary>
public sealed record LanguageIdOptions
{
    /// <summary>Languages to keep (empty: keep all, only annotate).</summary>
    public IReadOnlyList<string> Languages { get; init; } = ["en"];
    /// <summary>Minimum confidence.</summary>
    public double Threshold { get; init; } = 0.65;
}

/// <summary>Keeps documents in chosen languages.</summary>
public sealed class LanguageIdFilter(HashedNgramClassifier model, LanguageIdOptions? options = null) : IParallelSafeFilter
{
    private readonly LanguageIdOptions _o = options ?? new LanguageIdOptions();
    private readonly HashSet<string> _keep = new((options ?? new LanguageIdOptions()).Languages, StringComparer.OrdinalIgnoreCase);

    /// <inheritdoc/>
    public string Name => "langid";

    /// <summary>The classifier in use.</summary>
    public HashedNgramClassifier Model => model;

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc)
    {
        var (lang, p) = model.PredictTop(doc.Text);
        lock (doc.Metadata)
        {
            doc.Metadata["language"] = lang;
            doc.Metadata["language_score"] = Math.Round((double)p, 4);
        }
        if (_keep.Count > 0 && !_keep.Contains(lang)) return FilterVerdict.Drop($"{Name}:language_{lang}");
        if (p < _o.Threshold) return FilterVerdict.Drop($"{Name}:low_confidence");
        return FilterVerdict.Kept;
    }
}

/// <summary>The language ID model shipped inside the assembly.</summary>
public static class LanguageIdModel
{
    private static readonly Lazy<HashedNgramClassifier> Embedded = new(() =>
    {
        using var s = typeof(LanguageIdModel).Assembly.GetManifestResourceStream("SharpLM.Text.Data.LangId.langid.bin")
            ?? throw new InvalidOperationException("the embedded language ID model is missing from SharpLM.Text");
        return HashedNgramClassifier.Load(s, "embedded langid.bin");
    });

    /// <summary>The shipped model (loaded once).</summary>
    public static HashedNgramClassifier Default => Embedded.Value;

    /// <summary>The model at <paramref name="path"/>, or the shipped one when null.</summary>
    public static HashedNgramClassifier Load(string? path)
    {
        if (path is null) return Default;
        using var fs = File.OpenRead(path);
        return HashedNgramClassifier.Load(fs, path);
    }
}
