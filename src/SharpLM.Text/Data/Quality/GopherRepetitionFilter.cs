// Gopher repetition rules (Rae et al. 2021, table A1; computed as datatrove's GopherRepetitionFilter, which
// FineWeb uses): fraction of duplicated paragraphs (split on 2+ newlines) ≤ 0.30 and of their characters ≤ 0.20;
// same for lines (split on 1+ newlines) 0.30 / 0.20; characters in the most frequent 2/3/4-gram (its length with
// spaces × its count) ≤ 0.20/0.18/0.16 of the text; characters in duplicated 5…10-grams (counted greedily left to
// right without overlap, lengths without spaces) ≤ 0.15, 0.14, 0.13, 0.12, 0.11, 0.10 of the text. Character
// fractions are over the whole text length, as in datatrove. N-grams are compared by 64-bit hashes of words.
namespace SharpLM.Text.Data.Quality;

/// <summary>Thresholds of the Gopher repetition rules.</summary>
public sealed record GopherRepetitionOptions
{
    public double MaxDupParagraphFraction { get; init; } = 0.30;
    public double MaxDupParagraphCharFraction { get; init; } = 0.20;
    public double MaxDupLineFraction { get; init; } = 0.30;
    public double MaxDupLineCharFraction { get; init; } = 0.20;
    /// <summary>(n, max fraction) for the most frequent n-gram.</summary>
    public IReadOnlyList<(int N, double Max)> TopNGrams { get; init; } = [(2, 0.20), (3, 0.18), (4, 0.16)];
    /// <summary>(n, max fraction) for all duplicated n-grams.</summary>
    public IReadOnlyList<(int N, double Max)> DupNGrams { get; init; } = [(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)];
}

/// <summary>Gopher repetition filter.</summary>
public sealed class GopherRepetitionFilter(GopherRepetitionOptions? options = null) : IParallelSafeFilter
{
    private readonly GopherRepetitionOptions _o = options ?? new GopherRepetitionOptions();

    /// <inheritdoc/>
    public string Name => "gopher_repetition";

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc) => Check(doc.Text) is { } r ? FilterVerdict.Drop($"{Name}:{r}") : FilterVerdict.Kept;

    [ThreadStatic] private static List<WordSpan>? t_words;
    [ThreadStatic] private static List<ulong>? t_hashes;

    /// <summary>The first failing rule, or null.</summary>
    public string? Check(string text)
    {
        if (text.Length == 0) return null;
        double len = text.Length;
        var paragraphs = SplitParagraphs(text.AsSpan().Trim());
        var (pDup, pChars) = FindDuplicates(paragraphs);
        if (pDup > _o.MaxDupParagraphFraction * paragraphs.Count) return "dup_para_frac";
        if (pChars > _o.MaxDupParagraphCharFraction * len) return "dup_para_char_frac";
        var lines = SplitLines(text);
        var (lDup, lChars) = FindDuplicates(lines);
        if (lDup > _o.MaxDupLineFraction * lines.Count) return "dup_line_frac";
        if (lChars > _o.MaxDupLineCharFraction * len) return "dup_line_char_frac";

        var words = t_words ??= [];
        Words.Split(text, words);
        var h = t_hashes ??= [];
        h.Clear();
        foreach (var w in words) h.Add(Words.Hash(text.AsSpan(w.Start, w.Length)));
        foreach (var (n, max) in _o.TopNGrams)
        {
            if (words.Count < n) continue;
            if (TopNGramChars(words, h, n) > max * len) return $"top_{n}_gram";
        }
        foreach (var (n, max) in _o.DupNGrams)
        {
            if (words.Count < n) continue;
            if (DuplicatedNGramChars(words, h, n) > max * len) return $"duplicated_{n}_n_grams";
        }
        return null;
    }

    /// <summary>Splits on runs of two or more '\n' (datatrove: re.split(r"\n{2,}", text.strip())).</summary>
    internal static List<string> SplitParagraphs(ReadOnlySpan<char> text)
    {
        var list = new List<string>();
        int start = 0, i = 0;
        while (i < text.Length)
        {
            if (text[i] == '\n' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                list.Add(text[start..i].ToString());
                while (i < text.Length && text[i] == '\n') i++;
                start = i;
            }
            else i++;
        }
        list.Add(text[start..].ToString());
        return list;
    }

    /// <summary>Splits on runs of '\n' (datatrove: re.split(r"\n+", text)).</summary>
    internal static List<string> SplitLines(string text)
    {
        var list = new List<string>();
        int start = 0, i = 0;
        while (i < text.Length)
        {
            if (text[i] == '\n')
            {
                list.Add(text[start..i]);
                while (i < text.Length && text[i] == '\n') i++;
                start = i;
            }
            else i++;
        }
        list.Add(text[start..]);
        return list;
    }

    /// <summary>(number of elements equal to an earlier one, their total characters).</summary>
    internal static (int Count, long Chars) FindDuplicates(List<string> xs)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int count = 0; long chars = 0;
        foreach (var x in xs)
            if (!seen.Add(x)) { count++; chars += x.Length; }
        return (count, chars);
    }

    /// <summary>Characters of the most frequent n-gram (joined with spaces) times its count; ties go to the first seen.</summary>
    internal static long TopNGramChars(List<WordSpan> words, List<ulong> h, int n)
    {
        var counts = new Dictionary<ulong, (int Count, int First)>();
        int bestCount = 0, bestFirst = 0;
        for (int i = 0; i + n <= words.Count; i++)
        {
            ulong g = h[i];
            for (int k = 1; k < n; k++) g = Words.Combine(g, h[i + k]);
            ref var e = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(counts, g, out bool exists);
            if (!exists) e = (0, i);
            e.Count++;
            if (e.Count > bestCount || (e.Count == bestCount && e.First < bestFirst)) { bestCount = e.Count; bestFirst = e.First; }
        }
        long gramLen = n - 1;
        for (int k = 0; k < n; k++) gramLen += words[bestFirst + k].Length;
        return gramLen * bestCount;
    }

    /// <summary>Characters (without spaces) of n-grams equal to an earlier one, scanning left to right and jumping n words after a repeat.</summary>
    internal static long DuplicatedNGramChars(List<WordSpan> words, List<ulong> h, int n)
    {
        var seen = new HashSet<ulong>();
        long repeated = 0;
        int i = 0;
        while (i < words.Count - n + 1)
        {
            ulong g = h[i];
            for (int k = 1; k < n; k++) g = Words.Combine(g, h[i + k]);
            if (!seen.Add(g))
            {
                for (int k = 0; k < n; k++) repeated += words[i + k].Length;
                i += n;
            }
            else i++;
        }
        return repeated;
    }
}
