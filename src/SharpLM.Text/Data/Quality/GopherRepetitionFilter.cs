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
    [ThreadStatic] private static Scratch? t_scratch;

    // Reused per thread: no allocation per document once warm.
    private sealed class Scratch
    {
        public readonly HashSet<ulong> Seen = [];
        public readonly Dictionary<ulong, (int Count, int First)> Counts = [];
        public ulong[] Prefix = new ulong[256];   // polynomial prefix hashes of word hashes
        public long[] Chars = new long[256];      // prefix sums of word lengths
        public ulong[] Pow = new ulong[16];

        public void Ensure(int n)
        {
            if (Prefix.Length < n + 1) { Prefix = new ulong[Math.Max(n + 1, Prefix.Length * 2)]; Chars = new long[Prefix.Length]; }
        }
    }

    private const ulong P = 0x9E3779B97F4A7C15UL; // odd multiplier of the polynomial n-gram hash

    /// <summary>The first failing rule, or null.</summary>
    public string? Check(string text)
    {
        if (text.Length == 0) return null;
        double len = text.Length;
        var sc = t_scratch ??= new Scratch();
        var (pCount, pDup, pChars) = DuplicateUnits(text.AsSpan().Trim(), paragraphs: true, sc.Seen);
        if (pDup > _o.MaxDupParagraphFraction * pCount) return "dup_para_frac";
        if (pChars > _o.MaxDupParagraphCharFraction * len) return "dup_para_char_frac";
        var (lCount, lDup, lChars) = DuplicateUnits(text, paragraphs: false, sc.Seen);
        if (lDup > _o.MaxDupLineFraction * lCount) return "dup_line_frac";
        if (lChars > _o.MaxDupLineCharFraction * len) return "dup_line_char_frac";

        var words = t_words ??= [];
        Words.Split(text, words);
        int n = words.Count;
        sc.Ensure(n);
        var pre = sc.Prefix; var chars = sc.Chars; var pow = sc.Pow;
        pre[0] = 0; chars[0] = 0;
        for (int i = 0; i < n; i++)
        {
            var w = words[i];
            pre[i + 1] = pre[i] * P + Words.Hash(text.AsSpan(w.Start, w.Length));
            chars[i + 1] = chars[i] + w.Length;
        }
        pow[0] = 1;
        for (int k = 1; k < pow.Length; k++) pow[k] = pow[k - 1] * P;
        foreach (var (g, max) in _o.TopNGrams)
        {
            if (n < g) continue;
            if (TopNGramChars(sc, n, g) > max * len) return $"top_{g}_gram";
        }
        foreach (var (g, max) in _o.DupNGrams)
        {
            if (n < g) continue;
            if (DuplicatedNGramChars(sc, n, g) > max * len) return $"duplicated_{g}_n_grams";
        }
        return null;
    }

    private static ulong Gram(Scratch sc, int i, int g)
    {
        ulong h = sc.Prefix[i + g] - sc.Prefix[i] * (g < sc.Pow.Length ? sc.Pow[g] : Pow(g));
        h ^= h >> 33; h *= 0xFF51AFD7ED558CCDUL; h ^= h >> 33; // mix so set buckets spread
        return h ^ (ulong)g;
    }

    private static ulong Pow(int g) { ulong r = 1; for (int k = 0; k < g; k++) r *= P; return r; }

    // (units, units equal to an earlier one, their chars): lines split on runs of '\n', paragraphs on runs of 2+.
    private static (int Count, int Dup, long Chars) DuplicateUnits(ReadOnlySpan<char> text, bool paragraphs, HashSet<ulong> seen)
    {
        seen.Clear();
        int count = 0, dup = 0; long chars = 0;
        int start = 0, i = 0;
        while (true)
        {
            bool end = i >= text.Length;
            bool split = !end && text[i] == '\n' && (!paragraphs || (i + 1 < text.Length && text[i + 1] == '\n'));
            if (end || split)
            {
                var unit = text[start..i];
                count++;
                ulong h = Words.Hash(unit) ^ ((ulong)unit.Length << 40);
                if (!seen.Add(h)) { dup++; chars += unit.Length; }
                if (end) break;
                while (i < text.Length && text[i] == '\n') i++;
                start = i;
            }
            else i++;
        }
        return (count, dup, chars);
    }

    private static long TopNGramChars(Scratch sc, int n, int g)
    {
        var counts = sc.Counts;
        counts.Clear();
        int bestCount = 0, bestFirst = 0;
        for (int i = 0; i + g <= n; i++)
        {
            ref var e = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(counts, Gram(sc, i, g), out bool exists);
            if (!exists) e = (0, i);
            e.Count++;
            if (e.Count > bestCount || (e.Count == bestCount && e.First < bestFirst)) { bestCount = e.Count; bestFirst = e.First; }
        }
        long gramLen = g - 1 + sc.Chars[bestFirst + g] - sc.Chars[bestFirst];
        return gramLen * bestCount;
    }

    private static long DuplicatedNGramChars(Scratch sc, int n, int g)
    {
        var seen = sc.Seen;
        seen.Clear();
        long repeated = 0;
        int i = 0;
        while (i < n - g + 1)
        {
            if (!seen.Add(Gram(sc, i, g)))
            {
                repeated += sc.Chars[i + g] - sc.Chars[i];
                i += g;
            }
            else i++;
        }
        return repeated;
    }

    /// <summary>Characters of the most frequent n-gram (joined with spaces) times its count; ties go to the first seen.</summary>
    internal static long TopNGramChars(string text, int g)
    {
        var sc = Prepare(text, out int n);
        return n < g ? 0 : TopNGramChars(sc, n, g);
    }

    /// <summary>Characters (without spaces) of n-grams equal to an earlier one, scanning left to right and jumping n words after a repeat.</summary>
    internal static long DuplicatedNGramChars(string text, int g)
    {
        var sc = Prepare(text, out int n);
        return n < g ? 0 : DuplicatedNGramChars(sc, n, g);
    }

    private static Scratch Prepare(string text, out int n)
    {
        var sc = new Scratch();
        var words = new List<WordSpan>();
        Words.Split(text, words);
        n = words.Count;
        sc.Ensure(n);
        for (int i = 0; i < n; i++)
        {
            sc.Prefix[i + 1] = sc.Prefix[i] * P + Words.Hash(text.AsSpan(words[i].Start, words[i].Length));
            sc.Chars[i + 1] = sc.Chars[i] + words[i].Length;
        }
        sc.Pow[0] = 1;
        for (int k = 1; k < sc.Pow.Length; k++) sc.Pow[k] = sc.Pow[k - 1] * P;
        return sc;
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
}
