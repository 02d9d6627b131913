// Content hashes for exact deduplication: XXH3 (64-bit) and XXH128 over the text's UTF-16 code units
// (no transcoding to UTF-8: the hash only has to agree with itself), optionally after collapsing every run
// of whitespace to one space and trimming the ends, so documents that differ only in line breaks or
// indentation collide. Follows the exact-dedup step of datatrove / Dolma (a strong 64- or 128-bit content
// hash; at 64 bits the chance of any false collision among n documents is about n²/2⁶⁵, 3·10⁻⁸ at 10⁶).
// Not here: near-duplicates (MinHash.cs), which normalise far more aggressively.
using System.Buffers;
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace SharpLM.Text.Data.Dedup;

/// <summary>64- and 128-bit content hashes of text.</summary>
public static class TextHash
{
    /// <summary>XXH3-64 of the UTF-16 code units of <paramref name="text"/>.</summary>
    public static ulong Hash64(ReadOnlySpan<char> text, ulong seed = 0) => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(text), (long)seed);

    /// <summary>XXH128 of the UTF-16 code units of <paramref name="text"/>.</summary>
    public static UInt128 Hash128(ReadOnlySpan<char> text, ulong seed = 0) => XxHash128.HashToUInt128(MemoryMarshal.AsBytes(text), (long)seed);

    /// <summary>Hash of <paramref name="text"/>, 64-bit (widened) or 128-bit, optionally whitespace-normalised first.</summary>
    public static UInt128 Hash(ReadOnlySpan<char> text, int bits, bool normalizeWhitespace)
    {
        if (bits != 64 && bits != 128) throw new ArgumentException($"hash bits must be 64 or 128, got {bits}");
        if (!normalizeWhitespace) return bits == 64 ? Hash64(text) : Hash128(text);
        char[]? rented = null;
        Span<char> buf = text.Length <= 1024 ? stackalloc char[text.Length] : (rented = ArrayPool<char>.Shared.Rent(text.Length));
        int n = CollapseWhitespace(text, buf);
        var h = bits == 64 ? Hash64(buf[..n]) : Hash128(buf[..n]);
        if (rented != null) ArrayPool<char>.Shared.Return(rented);
        return h;
    }

    /// <summary>Copies <paramref name="text"/> to <paramref name="dst"/> with each whitespace run replaced by one
    /// space and leading/trailing whitespace dropped; returns the length written (≤ text.Length).</summary>
    public static int CollapseWhitespace(ReadOnlySpan<char> text, Span<char> dst)
    {
        int n = 0;
        bool pendingSpace = false;
        foreach (char c in text)
        {
            if (c <= ' ' ? c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v' : c >= '\u0085' && char.IsWhiteSpace(c))
            {
                pendingSpace = n > 0;
                continue;
            }
            if (pendingSpace) { dst[n++] = ' '; pendingSpace = false; }
            dst[n++] = c;
        }
        return n;
    }
}
