// Helpers behind `sharplm shards inspect|write`: a summary of one shard (counts, width, document length
// statistics, first tokens, optional full verification) and an importer from a plain text file holding
// one document per line as whitespace-separated token ids (a debugging / interchange path; the tokenizer
// stage writes shards directly). Not here: console formatting (SharpLM.Cli).
using System.Globalization;

namespace SharpLM.Training.Data;

/// <summary>What `shards inspect` reports about a shard.</summary>
/// <param name="Path">The .bin path.</param>
/// <param name="IndexPath">The .idx path.</param>
/// <param name="Width">Bytes per token.</param>
/// <param name="VocabSize">Vocabulary size in the header.</param>
/// <param name="Tokens">Token count.</param>
/// <param name="Documents">Document count.</param>
/// <param name="MinDocLength">Shortest document (0 if none).</param>
/// <param name="MaxDocLength">Longest document (0 if none).</param>
/// <param name="MeanDocLength">Mean document length (0 if none).</param>
/// <param name="Checksum">Header checksum.</param>
/// <param name="Verified">True if every token was scanned and the checksum matched.</param>
/// <param name="FirstTokens">The first few tokens.</param>
public sealed record ShardSummary(string Path, string IndexPath, int Width, int VocabSize, long Tokens, long Documents,
                                  long MinDocLength, long MaxDocLength, double MeanDocLength, ulong Checksum, bool Verified, int[] FirstTokens);

/// <summary>Shard inspection and text import.</summary>
public static class ShardTools
{
    /// <summary>Summarises the shard at <paramref name="binPath"/>; with <paramref name="verify"/>, scans every token first (throws on damage).</summary>
    public static ShardSummary Inspect(string binPath, int firstTokens = 16, bool verify = false)
    {
        using var s = TokenShard.Open(binPath);
        if (verify) s.VerifyTokens();
        long min = long.MaxValue, max = 0;
        for (long d = 0; d < s.DocumentCount; d++)
        {
            long len = s.DocumentEnd(d) - s.DocumentStart(d);
            min = Math.Min(min, len);
            max = Math.Max(max, len);
        }
        if (s.DocumentCount == 0) min = 0;
        var first = new int[(int)Math.Min(Math.Max(firstTokens, 0), s.TokenCount)];
        s.CopyTokens(0, first);
        return new ShardSummary(s.Path, s.IndexPath, s.Width, s.VocabSize, s.TokenCount, s.DocumentCount, min, max,
                                s.DocumentCount == 0 ? 0 : (double)s.TokenCount / s.DocumentCount, s.Checksum, verify, first);
    }

    /// <summary>
    /// Writes a shard from <paramref name="textPath"/>: each non-blank line is one document of whitespace-separated
    /// token ids. Errors name the file, line and the bad token. Returns (tokens, documents).
    /// </summary>
    public static (long Tokens, long Documents) ImportText(string textPath, string binPath, int vocabSize)
    {
        if (!File.Exists(textPath)) throw new FileNotFoundException($"{textPath}: token text file not found", textPath);
        using var w = new TokenShardWriter(binPath, vocabSize);
        var doc = new List<int>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(textPath))
        {
            lineNo++;
            doc.Clear();
            foreach (var part in line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int t))
                    throw new FormatException($"{textPath}:{lineNo}: '{part}' is not a token id (expected a non-negative integer)");
                if (t >= vocabSize) throw new FormatException($"{textPath}:{lineNo}: token {t} is outside the vocabulary [0, {vocabSize})");
                doc.Add(t);
            }
            if (doc.Count > 0) w.AddDocument(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(doc));
        }
        w.Complete();
        return (w.TokenCount, w.DocumentCount);
    }
}
