// The word split shared by the quality rules. The anchors tokenize with language-specific word tokenizers
// (datatrove: nltk/spaCy per language); we split on Unicode whitespace and trim leading/trailing punctuation
// and symbols, dropping tokens that are only punctuation — which is what datatrove's "non-symbol words" are
// after its tokenizer. One split for every rule keeps the rules consistent and allocation-light.
namespace SharpLM.Text.Data.Quality;

/// <summary>A word as a range of the text.</summary>
public readonly record struct WordSpan(int Start, int Length);

/// <summary>Whitespace word split with punctuation trimmed.</summary>
public static class Words
{
    /// <summary>True for characters trimmed from word edges.</summary>
    public static bool IsPunctOrSymbol(char c) => char.IsPunctuation(c) || char.IsSymbol(c);

    /// <summary>Appends the words of <paramref name="text"/> to <paramref name="into"/> (cleared first).</summary>
    public static void Split(ReadOnlySpan<char> text, List<WordSpan> into)
    {
        into.Clear();
        int i = 0, n = text.Length;
        while (i < n)
        {
            while (i < n && char.IsWhiteSpace(text[i])) i++;
            int s = i;
            while (i < n && !char.IsWhiteSpace(text[i])) i++;
            int e = i;
            while (s < e && IsPunctOrSymbol(text[s])) s++;
            while (e > s && IsPunctOrSymbol(text[e - 1])) e--;
            if (e > s) into.Add(new WordSpan(s, e - s));
        }
    }

    /// <summary>The words of <paramref name="text"/> as strings (for tests and tools).</summary>
    public static List<string> SplitToStrings(string text)
    {
        var spans = new List<WordSpan>();
        Split(text, spans);
        return spans.ConvertAll(w => text.Substring(w.Start, w.Length));
    }

    /// <summary>64-bit FNV-1a of a span of chars (ordinal).</summary>
    public static ulong Hash(ReadOnlySpan<char> s)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in s) { h ^= c; h *= 1099511628211UL; }
        return h;
    }

    /// <summary>Order-dependent combination of hashes (for n-grams).</summary>
    public static ulong Combine(ulong h, ulong next) => (h ^ next) * 0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E019UL ^ (h >> 29);
}
