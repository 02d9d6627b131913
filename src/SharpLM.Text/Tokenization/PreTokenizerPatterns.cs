// Pre-tokenization: the regex split that cuts text into chunks before BPE, with the GPT-2, cl100k and
// o200k patterns of tiktoken built in and any custom .NET pattern allowed.
// Follows the pattern strings tiktoken ships (openai/tiktoken tiktoken_ext/openai_public.py, as used by the
// Rust core through @dqbd/tiktoken). .NET has no possessive quantifiers; the patterns below use atomic
// groups only around a repetition that nothing after it in its branch could give back to, so they match
// exactly what the originals match (checked by the tiktoken agreement tests over committed fixtures).
// .NET regex works on UTF-16 code units, so a character outside the BMP (an astral letter, digit or
// emoji) is seen as two surrogates. PreTokenizer replaces each surrogate pair by ONE BMP stand-in of the
// same Unicode general category before matching and maps match positions back, so the regex sees one
// character per code point, as tiktoken's (Rust, code-point based) regex does: an astral digit counts once
// towards \p{N}{1,3}, and no chunk boundary can fall inside a surrogate pair.
// Not here: normalisation (none of these tokenizers normalises) and BPE itself (BpeTokenizer).
using System.Globalization;
using System.Text.RegularExpressions;

namespace SharpLM.Text.Tokenization;

/// <summary>The pre-tokenizer patterns of the tokenizers the ecosystem uses.</summary>
public static partial class PreTokenizerPatterns
{
    /// <summary>GPT-2 (r50k/p50k, and Hugging Face's ByteLevel pre-tokenizer with use_regex).</summary>
    public const string Gpt2 =
        @"'s|'t|'re|'ve|'m|'ll|'d| ?(?>\p{L}+)| ?(?>\p{N}+)| ?(?>[^\s\p{L}\p{N}]+)|\s+(?!\S)|\s+";

    /// <summary>GPT-4 / GPT-3.5 (tiktoken cl100k_base).</summary>
    public const string Cl100k =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?(?>\p{L}+)|(?>\p{N}{1,3})| ?(?>[^\s\p{L}\p{N}]+)[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>GPT-4o (tiktoken o200k_base).</summary>
    public const string O200k =
        @"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?" +
        @"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?" +
        @"|(?>\p{N}{1,3})| ?(?>[^\s\p{L}\p{N}]+)[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>The original tiktoken pattern strings (for writing tokenizer.json files other tools read).</summary>
    public const string Gpt2Original = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>cl100k as tiktoken writes it.</summary>
    public const string Cl100kOriginal =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>o200k as tiktoken writes it.</summary>
    public const string O200kOriginal =
        @"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?" +
        @"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?" +
        @"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    [GeneratedRegex(Gpt2, RegexOptions.CultureInvariant)]
    internal static partial Regex Gpt2Regex();

    [GeneratedRegex(Cl100k, RegexOptions.CultureInvariant)]
    internal static partial Regex Cl100kRegex();

    [GeneratedRegex(O200k, RegexOptions.CultureInvariant)]
    internal static partial Regex O200kRegex();

    /// <summary>The compiled regex for a pattern: the generated one for a built-in pattern (original or
    /// atomic spelling), otherwise a <see cref="RegexOptions.Compiled"/> regex.</summary>
    public static Regex ToRegex(string pattern) => pattern switch
    {
        Gpt2 or Gpt2Original => Gpt2Regex(),
        Cl100k or Cl100kOriginal => Cl100kRegex(),
        O200k or O200kOriginal => O200kRegex(),
        _ => Compile(pattern),
    };

    /// <summary>Maps the atomic spelling of a built-in pattern to the spelling other tools accept.</summary>
    public static string ToPortable(string pattern) => pattern switch
    {
        Gpt2 => Gpt2Original,
        Cl100k => Cl100kOriginal,
        O200k => O200kOriginal,
        _ => pattern,
    };

    /// <summary>Resolves a name (gpt2, cl100k, o200k) or returns the argument as a custom pattern.</summary>
    public static string FromName(string nameOrPattern) => nameOrPattern.ToLowerInvariant() switch
    {
        "gpt2" or "r50k" or "r50k_base" or "p50k_base" => Gpt2,
        "cl100k" or "cl100k_base" or "gpt4" => Cl100k,
        "o200k" or "o200k_base" or "gpt4o" => O200k,
        _ => nameOrPattern,
    };

    private static Regex Compile(string pattern)
    {
        try { return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled); }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"pre-tokenizer pattern is not a valid .NET regex ({e.Message}); " +
                                        "possessive quantifiers (a++, a?+) must be written as atomic groups (?>a+)", e);
        }
    }
}

/// <summary>Splits text into pre-tokenization chunks with one regex. Thread-safe.</summary>
public sealed class PreTokenizer
{
    private readonly Regex _regex;

    /// <summary>A pre-tokenizer for a pattern (see <see cref="PreTokenizerPatterns"/>).</summary>
    public PreTokenizer(string pattern)
    {
        Pattern = pattern;
        _regex = PreTokenizerPatterns.ToRegex(pattern);
    }

    private PreTokenizer(string pattern, Regex regex)
    {
        Pattern = pattern;
        _regex = regex;
    }

    /// <summary>The same splitter on a regex instance of its own (same pattern text and options, compiled), for a
    /// thread that matches concurrently with others: one Regex instance caches a single runner.</summary>
    public PreTokenizer CloneForThread() =>
        new(Pattern, new Regex(_regex.ToString(), _regex.Options | RegexOptions.Compiled));

    /// <summary>The pattern as given.</summary>
    public string Pattern { get; }

    /// <summary>Calls <paramref name="sink"/> with (start, length) of each chunk of <paramref name="text"/>, in order.
    /// Text between matches (which the built-in patterns never leave) is passed on as its own chunk, so no input is lost.</summary>
    public void Split<TSink>(ReadOnlySpan<char> text, ref TSink sink) where TSink : struct, IChunkSink, allows ref struct
    {
        if (text.IsEmpty) return;
        if (text.IndexOfAnyInRange('\uD800', '\uDFFF') >= 0) { SplitAstral(text, ref sink); return; }
        int pos = 0;
        foreach (var m in _regex.EnumerateMatches(text))
        {
            if (m.Index > pos) sink.Chunk(pos, m.Index - pos);
            if (m.Length > 0) sink.Chunk(m.Index, m.Length);
            pos = m.Index + m.Length;
        }
        if (pos < text.Length) sink.Chunk(pos, text.Length - pos);
    }

    // Text with surrogates: match on a copy with one stand-in per code point, report chunks in the original.
    private void SplitAstral<TSink>(ReadOnlySpan<char> text, ref TSink sink) where TSink : struct, IChunkSink, allows ref struct
    {
        char[] scan = System.Buffers.ArrayPool<char>.Shared.Rent(text.Length);
        int[] map = System.Buffers.ArrayPool<int>.Shared.Rent(text.Length + 1); // scan index → text index
        int n = SubstituteAstral(text, scan, map);
        int pos = 0;
        foreach (var m in _regex.EnumerateMatches(scan.AsSpan(0, n)))
        {
            int start = map[m.Index], end = map[m.Index + m.Length];
            if (start > pos) sink.Chunk(pos, start - pos);
            if (end > start) sink.Chunk(start, end - start);
            pos = end;
        }
        if (pos < text.Length) sink.Chunk(pos, text.Length - pos);
        System.Buffers.ArrayPool<char>.Shared.Return(scan);
        System.Buffers.ArrayPool<int>.Shared.Return(map);
    }

    /// <summary>The chunks of <paramref name="text"/> as strings (convenient, allocating; for tests and tools).</summary>
    public List<string> SplitToStrings(string text)
    {
        var sink = new ListSink { Text = text, Out = [] };
        Split(text.AsSpan(), ref sink);
        return sink.Out;
    }

    private struct ListSink : IChunkSink
    {
        public string Text;
        public List<string> Out;
        public void Chunk(int start, int length) => Out.Add(Text.Substring(start, length));
    }

    // Replaces each surrogate pair by one BMP character of the same general category (a lone surrogate stays:
    // category Cs, which none of the built-in classes name, like an emoji's So). map[k] is the index in src
    // of dst[k]; map[count] = src.Length. Returns the count of chars written.
    internal static int SubstituteAstral(ReadOnlySpan<char> src, Span<char> dst, Span<int> map)
    {
        int k = 0;
        for (int i = 0; i < src.Length; i++)
        {
            map[k] = i;
            char c = src[i];
            if (char.IsHighSurrogate(c) && i + 1 < src.Length && char.IsLowSurrogate(src[i + 1]))
            {
                dst[k++] = StandIn(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, src[i + 1])));
                i++;
            }
            else dst[k++] = c;
        }
        map[k] = src.Length;
        return k;
    }

    private static char StandIn(UnicodeCategory c) => c switch
    {
        UnicodeCategory.UppercaseLetter => 'A',
        UnicodeCategory.LowercaseLetter => 'a',
        UnicodeCategory.TitlecaseLetter => '\u01C5',
        UnicodeCategory.ModifierLetter => '\u02B0',
        UnicodeCategory.OtherLetter => '\u05D0',
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '0',
        UnicodeCategory.LetterNumber => '\u2160',
        UnicodeCategory.OtherNumber => '\u00B2',
        _ => '\u00A9', // symbols, punctuation, format, private use, unassigned: like '©' (So), in [^\s\p{L}\p{N}]
    };
}

/// <summary>Receives the chunks found by <see cref="PreTokenizer.Split{TSink}"/> as (start, length) in the input.</summary>
public interface IChunkSink
{
    /// <summary>One chunk.</summary>
    void Chunk(int start, int length);
}
