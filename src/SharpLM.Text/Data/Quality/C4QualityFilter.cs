// C4 rules (Raffel et al. 2020, §2.2; line logic as datatrove's C4QualityFilter): per line — drop lines with a
// word longer than 1000 chars, strip Wikipedia citation marks ([1], [edit], [citation needed]), drop lines not
// ending in terminal punctuation (. ? ! " ') or ending in "...", drop lines with fewer than 3 words, drop lines
// containing "javascript" or a cookie/policy phrase; per page — drop the page if any kept line contains
// "lorem ipsum" or '{', or if fewer than 5 sentences remain. Kept lines are joined with '\n' (the text is rewritten).
// Sentences are counted as runs of terminal punctuation followed by a space or the line end (datatrove splits
// with nltk's punkt; the paper does not say).
using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;

namespace SharpLM.Text.Data.Quality;

/// <summary>Switches and thresholds of the C4 rules.</summary>
public sealed record C4Options
{
    public int MinWordsPerLine { get; init; } = 3;
    public int MaxWordLength { get; init; } = 1000;
    public int MinSentences { get; init; } = 5;
    public bool RemoveCitations { get; init; } = true;
    public bool FilterNoTerminalPunct { get; init; } = true;
    public bool FilterLoremIpsum { get; init; } = true;
    public bool FilterJavascript { get; init; } = true;
    public bool FilterCurlyBracket { get; init; } = true;
    public bool FilterPolicy { get; init; } = true;
    public IReadOnlyList<string> PolicySubstrings { get; init; } =
        ["terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies"];
}

/// <summary>C4 line and page filter.</summary>
public sealed partial class C4QualityFilter(C4Options? options = null) : IParallelSafeFilter
{
    private readonly C4Options _o = options ?? new C4Options();
    // Every phrase a line rule looks for, searched at once (vectorised multi-string search); the individual
    // checks run only on the rare lines that contain one of them.
    private readonly SearchValues<string> _phrases = SearchValues.Create(
        ["lorem ipsum", "javascript", .. (options ?? new C4Options()).PolicySubstrings], StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc/>
    public string Name => "c4";

    [GeneratedRegex(@"\[\d*\]|\[edit\]|\[citation needed\]", RegexOptions.CultureInvariant)]
    private static partial Regex Citation();

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc)
    {
        var r = Check(doc.Text, out var kept);
        if (r is not null) return FilterVerdict.Drop($"{Name}:{r}");
        doc.Text = kept;
        return FilterVerdict.Kept;
    }

    [ThreadStatic] private static StringBuilder? t_sb;

    /// <summary>The failing page rule or null; <paramref name="kept"/> is the text with the dropped lines removed.</summary>
    public string? Check(string text, out string kept)
    {
        var sb = t_sb ??= new StringBuilder();
        sb.Clear();
        int sentences = 0;
        kept = "";
        foreach (var range in text.AsSpan().Split('\n'))
        {
            var line = text.AsSpan(range).Trim();
            if (line.IsEmpty) continue;
            int words = 0, wl = 0, longest = 0;
            foreach (char c in line)
            {
                if (char.IsWhiteSpace(c)) { if (wl > longest) longest = wl; wl = 0; }
                else if (wl++ == 0) words++;
            }
            if (wl > longest) longest = wl;
            if (_o.MaxWordLength > 0 && longest > _o.MaxWordLength) continue;
            ReadOnlySpan<char> l = _o.RemoveCitations && line.Contains('[') ? Citation().Replace(line.ToString(), "").AsSpan() : line;
            if (_o.FilterNoTerminalPunct && (!EndsWithTerminal(l) || l.EndsWith("..."))) continue;
            if (words < _o.MinWordsPerLine) continue;
            bool phrase = l.IndexOfAny(_phrases) >= 0;
            if (phrase && _o.FilterLoremIpsum && l.Contains("lorem ipsum", StringComparison.OrdinalIgnoreCase)) return "lorem_ipsum";
            if (phrase && _o.FilterJavascript && l.Contains("javascript", StringComparison.OrdinalIgnoreCase)) continue;
            if (_o.FilterCurlyBracket && l.Contains('{')) return "curly_bracket";
            if (phrase && _o.FilterPolicy && ContainsPolicy(l)) continue;
            sentences += CountSentences(l);
            if (sb.Length > 0) sb.Append('\n');
            sb.Append(l);
        }
        if (sentences < _o.MinSentences) return "too_few_sentences";
        kept = sb.ToString();
        return null;
    }

    private bool ContainsPolicy(ReadOnlySpan<char> l)
    {
        foreach (var p in _o.PolicySubstrings)
            if (l.Contains(p, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    private static bool EndsWithTerminal(ReadOnlySpan<char> l) => l.Length > 0 && l[^1] is '.' or '?' or '!' or '"' or '\'';

    /// <summary>Runs of . ? ! followed by whitespace or the end of the line.</summary>
    internal static int CountSentences(ReadOnlySpan<char> l)
    {
        int n = 0;
        for (int i = 0; i < l.Length; i++)
        {
            if (l[i] is not ('.' or '?' or '!')) continue;
            while (i + 1 < l.Length && l[i + 1] is '.' or '?' or '!' or '"' or '\'' or ')') i++;
            if (i + 1 == l.Length || char.IsWhiteSpace(l[i + 1])) n++;
        }
        return n;
    }
}
