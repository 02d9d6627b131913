// FineWeb's own rules (Penedo et al. 2024, §3.4; defaults as datatrove's FineWebQualityFilter): over the
// non-empty lines, the fraction ending in terminal punctuation must exceed 0.12; the fraction of lines of at
// most 30 characters must stay below 0.67; characters in duplicated lines over the characters of the text
// without '\n' must stay below 0.01; newlines per word at most 0.3.
// The anchors disagree on the duplicated-line threshold: the FineWeb paper reports 0.1, datatrove's filter (what
// FineWeb ran) defaults to 0.01 — we use 0.01 as the issue asks; set MaxDupLineCharRatio to 0.1 for the paper's.
namespace SharpLM.Text.Data.Quality;

/// <summary>Thresholds of the FineWeb rules.</summary>
public sealed record FineWebOptions
{
    /// <summary>Drop when the fraction of lines ending in punctuation is ≤ this.</summary>
    public double MinLinePunctRatio { get; init; } = 0.12;
    /// <summary>Do not apply the punctuation rule when no line ends in punctuation (datatrove's line_punct_exclude_zero).</summary>
    public bool LinePunctExcludeZero { get; init; }
    /// <summary>Drop when the fraction of short lines is ≥ this.</summary>
    public double MaxShortLineRatio { get; init; } = 0.67;
    public int ShortLineLength { get; init; } = 30;
    /// <summary>Drop when duplicated-line chars / chars is ≥ this.</summary>
    public double MaxDupLineCharRatio { get; init; } = 0.01;
    /// <summary>Drop when newlines / words is &gt; this.</summary>
    public double MaxNewlinesPerWord { get; init; } = 0.3;
}

/// <summary>FineWeb quality filter.</summary>
public sealed class FineWebQualityFilter(FineWebOptions? options = null) : IParallelSafeFilter
{
    private readonly FineWebOptions _o = options ?? new FineWebOptions();

    /// <inheritdoc/>
    public string Name => "fineweb";

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc) => Check(doc.Text) is { } r ? FilterVerdict.Drop($"{Name}:{r}") : FilterVerdict.Kept;

    /// <summary>Sentence-final punctuation in the scripts we handle (Latin, Cyrillic, CJK, Arabic, Devanagari, Armenian, Ethiopic).</summary>
    public static bool IsTerminal(char c) => c is '.' or '!' or '?' or '…' or '。' or '！' or '？' or '؟' or '۔' or '।' or '॥' or '։' or '።' or '｡';

    [ThreadStatic] private static List<WordSpan>? t_words;

    /// <summary>The first failing rule, or null.</summary>
    public string? Check(string text)
    {
        var lines = new List<string>();
        foreach (var range in text.AsSpan().Split('\n'))
        {
            var l = text.AsSpan(range);
            if (!l.IsWhiteSpace()) lines.Add(l.ToString());
        }
        if (lines.Count == 0) return "empty";
        int punct = 0, shortLines = 0;
        foreach (var l in lines)
        {
            if (l.Length > 0 && IsTerminal(l[^1])) punct++;
            if (l.Length <= _o.ShortLineLength) shortLines++;
        }
        double pr = (double)punct / lines.Count;
        if (pr <= _o.MinLinePunctRatio && !(punct == 0 && _o.LinePunctExcludeZero)) return "line_punct_ratio";
        if ((double)shortLines / lines.Count >= _o.MaxShortLineRatio) return "short_line_ratio";
        var (_, dupChars) = GopherRepetitionFilter.FindDuplicates(lines);
        int newlines = text.AsSpan().Count('\n');
        int nonNewline = text.Length - newlines;
        if (nonNewline > 0 && (double)dupChars / nonNewline >= _o.MaxDupLineCharRatio) return "char_dup_ratio";
        var words = t_words ??= [];
        Words.Split(text, words);
        if (words.Count == 0 || (double)newlines / words.Count > _o.MaxNewlinesPerWord) return "list_ratio";
        return null;
    }
}
