// Gopher quality rules (Rae et al. 2021, "Scaling Language Models", appendix A.1.1; defaults as in datatrove's
// GopherQualityFilter): word count 50–100,000; mean word length 3–10; '#' and ellipsis each ≤ 0.1 per word;
// ≤ 90% of lines starting with a bullet; ≤ 30% of lines ending with an ellipsis; ≥ 80% of words containing a
// letter; ≥ 2 stop words (the, be, to, of, and, that, have, with).
// Where the anchors differ we follow datatrove: the *mean* word length (Dolma's Gopher port also uses mean;
// the paper says mean) and stop words *counted with repetition* ("the the" counts 2; the paper says "at least
// two of the following words", read by some ports as two distinct ones — set DistinctStopWords to get that).
// Words are those of Words.Split (punctuation-only tokens excluded), used for counts, lengths and ratios.
namespace SharpLM.Text.Data.Quality;

/// <summary>Thresholds of the Gopher quality rules (defaults: the published ones).</summary>
public sealed record GopherQualityOptions
{
    public int MinWords { get; init; } = 50;
    public int MaxWords { get; init; } = 100_000;
    public double MinMeanWordLength { get; init; } = 3;
    public double MaxMeanWordLength { get; init; } = 10;
    /// <summary>Max '#' per word and max ellipses ("..." or "…") per word, each.</summary>
    public double MaxSymbolWordRatio { get; init; } = 0.1;
    public double MaxBulletLinesRatio { get; init; } = 0.9;
    public double MaxEllipsisLinesRatio { get; init; } = 0.3;
    public double MinAlphaWordsRatio { get; init; } = 0.8;
    public int MinStopWords { get; init; } = 2;
    /// <summary>Count distinct stop words instead of occurrences.</summary>
    public bool DistinctStopWords { get; init; }
    public IReadOnlyList<string> StopWords { get; init; } = ["the", "be", "to", "of", "and", "that", "have", "with"];
}

/// <summary>Gopher quality filter.</summary>
public sealed class GopherQualityFilter(GopherQualityOptions? options = null) : IParallelSafeFilter
{
    private readonly GopherQualityOptions _o = options ?? new GopherQualityOptions();
    private readonly HashSet<string> _stop = new((options ?? new GopherQualityOptions()).StopWords, StringComparer.OrdinalIgnoreCase);
    private readonly int _maxStopLength = (options ?? new GopherQualityOptions()).StopWords.Select(s => s.Length).DefaultIfEmpty(0).Max();

    /// <inheritdoc/>
    public string Name => "gopher_quality";

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc) => Check(doc.Text) is { } r ? FilterVerdict.Drop($"{Name}:{r}") : FilterVerdict.Kept;

    [ThreadStatic] private static List<WordSpan>? t_words;

    /// <summary>The first failing rule, or null when the text passes.</summary>
    public string? Check(string text)
    {
        var words = t_words ??= [];
        Words.Split(text, words);
        int n = words.Count;
        if (n < _o.MinWords) return "word_count";
        if (n > _o.MaxWords) return "word_count";
        long chars = 0;
        int alpha = 0, stop = 0;
        HashSet<string>? seen = _o.DistinctStopWords ? new(StringComparer.OrdinalIgnoreCase) : null;
        var lookup = _stop.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var w in words)
        {
            var s = text.AsSpan(w.Start, w.Length);
            chars += w.Length;
            foreach (char c in s) if (char.IsLetter(c)) { alpha++; break; }
            if (w.Length <= _maxStopLength && lookup.TryGetValue(s, out var sw))
            {
                if (seen is null) stop++;
                else if (seen.Add(sw)) stop++;
            }
        }
        double mean = (double)chars / n;
        if (mean < _o.MinMeanWordLength || mean > _o.MaxMeanWordLength) return "mean_word_length";
        int hashes = 0, ellipses = 0;
        var span = text.AsSpan();
        hashes = span.Count('#');
        ellipses = span.Count("...") + span.Count('…');
        if (hashes > _o.MaxSymbolWordRatio * n) return "hash_ratio";
        if (ellipses > _o.MaxSymbolWordRatio * n) return "ellipsis_ratio";
        int lines = 0, bullets = 0, ellLines = 0;
        foreach (var range in span.Split('\n'))
        {
            var line = span[range];
            lines++;
            var l = line.TrimStart();
            if (l.StartsWith('•') || l.StartsWith('-')) bullets++;
            var r = line.TrimEnd();
            if (r.EndsWith("...") || r.EndsWith('…')) ellLines++;
        }
        if (bullets > _o.MaxBulletLinesRatio * lines) return "bullet_lines";
        if (ellLines > _o.MaxEllipsisLinesRatio * lines) return "ellipsis_lines";
        if (alpha < _o.MinAlphaWordsRatio * n) return "alpha_words";
        if (stop < _o.MinStopWords) return "stop_words";
        return null;
    }
}
