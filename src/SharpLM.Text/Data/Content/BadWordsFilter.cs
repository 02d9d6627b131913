// Bad-words filter (C4: drop any page containing a word of the LDNOOBW list; Gopher/Dolma use the same idea
// with a fraction threshold). A page is dropped when the number of listed words/phrases it contains exceeds
// MaxHits (default 0 = any hit drops, as C4). Matching is on lower-cased whole words; phrases match whole-word
// sequences. The default English list is embedded; any list file can replace it.
namespace SharpLM.Text.Data.Content;

/// <summary>Drops documents containing listed words.</summary>
public sealed class BadWordsFilter : IParallelSafeFilter
{
    private readonly HashSet<string> _words = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _phrases = [];
    private readonly int _maxHits;

    /// <inheritdoc/>
    public string Name => "bad_words";

    /// <summary>A filter over <paramref name="entries"/> (words or phrases), dropping past <paramref name="maxHits"/> hits.</summary>
    public BadWordsFilter(IEnumerable<string> entries, int maxHits = 0)
    {
        foreach (var raw in entries)
        {
            var e = raw.Trim().ToLowerInvariant();
            if (e.Length == 0 || e[0] == '#') continue;
            if (e.Contains(' ')) _phrases.Add(" " + e + " ");
            else _words.Add(e);
        }
        _maxHits = maxHits;
    }

    /// <summary>The embedded default English list.</summary>
    public static IEnumerable<string> DefaultList()
    {
        using var s = typeof(BadWordsFilter).Assembly.GetManifestResourceStream("SharpLM.Text.Data.Content.badwords-en.txt")
            ?? throw new InvalidOperationException("embedded bad-words list missing");
        using var r = new StreamReader(s);
        return r.ReadToEnd().Split('\n');
    }

    /// <inheritdoc/>
    public FilterVerdict Apply(Document doc) => CountHits(doc.Text) > _maxHits ? FilterVerdict.Drop($"{Name}:hit") : FilterVerdict.Kept;

    /// <summary>Number of listed words and phrases found.</summary>
    public int CountHits(string text)
    {
        int hits = 0;
        var lookup = _words.GetAlternateLookup<ReadOnlySpan<char>>();
        var span = text.AsSpan();
        int i = 0;
        while (i < span.Length)
        {
            while (i < span.Length && !char.IsLetterOrDigit(span[i])) i++;
            int s = i;
            while (i < span.Length && char.IsLetterOrDigit(span[i])) i++;
            if (i > s && lookup.Contains(span[s..i]))
            {
                hits++;
                if (hits > _maxHits && _phrases.Count == 0) return hits;
            }
        }
        if (_phrases.Count > 0)
        {
            var norm = " " + string.Join(' ', Quality.Words.SplitToStrings(text.ToLowerInvariant())) + " ";
            foreach (var p in _phrases) if (norm.Contains(p, StringComparison.Ordinal)) hits++;
        }
        return hits;
    }
}
