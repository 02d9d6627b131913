// The tiktoken rank file: one line per token, "<base64 of the token's bytes> <rank>" (openai/tiktoken
// load.py, load_tiktoken_bpe). Read and written here, gzip-compressed files read and written transparently
// (by the .gz extension on write, by the gzip magic bytes on read). Special tokens and the pre-tokenizer
// pattern are not part of the format and are passed alongside (KnownEncodings has them for the OpenAI ones).
// Not here: the merge algorithm (BpeMerge), Hugging Face files (TokenizerJson).
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace SharpLM.Text.Tokenization;

/// <summary>Reads and writes tiktoken <c>.tiktoken</c> rank files.</summary>
public static class TiktokenFile
{
    /// <summary>Reads the ranks of a file: element r is the bytes of rank r (null where no line has that rank).</summary>
    public static List<byte[]?> ReadRanks(string path)
    {
        using var stream = OpenMaybeGzip(path);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var ranks = new List<byte[]?>();
        string? line;
        int lineNo = 0;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (line.Length == 0) continue;
            int sp = line.IndexOf(' ');
            if (sp <= 0 || !int.TryParse(line.AsSpan(sp + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int rank))
                throw new InvalidDataException($"{path}:{lineNo}: expected '<base64 token> <rank>'");
            byte[] bytes;
            try { bytes = Convert.FromBase64String(line[..sp]); }
            catch (FormatException) { throw new InvalidDataException($"{path}:{lineNo}: the token is not valid base64"); }
            if (bytes.Length == 0) throw new InvalidDataException($"{path}:{lineNo}: empty token");
            while (ranks.Count <= rank) ranks.Add(null);
            if (ranks[rank] is not null) throw new InvalidDataException($"{path}:{lineNo}: rank {rank} appears twice");
            ranks[rank] = bytes;
        }
        if (ranks.Count == 0) throw new InvalidDataException($"{path}: no ranks in the file");
        return ranks;
    }

    /// <summary>Loads a tokenizer from a rank file with the given pattern and special tokens.</summary>
    public static BpeTokenizer Load(string path, string pattern, IReadOnlyDictionary<string, int>? specialTokens = null)
        => BpeTokenizer.FromRanks(ReadRanks(path), specialTokens ?? new Dictionary<string, int>(), pattern);

    /// <summary>Loads one of the OpenAI encodings (gpt2, cl100k_base, o200k_base) from its rank file.</summary>
    public static BpeTokenizer LoadKnown(string path, string encoding)
    {
        var (pattern, special) = KnownEncodings.Get(encoding);
        return Load(path, pattern, special);
    }

    /// <summary>Writes the tokenizer's BPE tokens (not special tokens) as a rank file, rank = id; gzip if the path ends in .gz.
    /// Written to a temporary file and renamed into place.</summary>
    public static void Save(BpeTokenizer tokenizer, string path)
    {
        var tmp = path + ".tmp";
        using (var file = File.Create(tmp))
        using (Stream s = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionLevel.SmallestSize) : file)
        using (var w = new StreamWriter(s, new UTF8Encoding(false)) { NewLine = "\n" })
        {
            for (int id = 0; id < tokenizer.VocabSize; id++)
                if (tokenizer.TokenBytes(id) is { } b)
                    w.WriteLine($"{Convert.ToBase64String(b)} {id.ToString(CultureInfo.InvariantCulture)}");
        }
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Opens a file, decompressing it if it starts with the gzip magic bytes.</summary>
    public static Stream OpenMaybeGzip(string path)
    {
        var fs = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[2];
        int n = fs.Read(magic);
        fs.Position = 0;
        if (n == 2 && magic[0] == 0x1F && magic[1] == 0x8B) return new GZipStream(fs, CompressionMode.Decompress);
        return fs;
    }
}

/// <summary>Pattern and special tokens of the OpenAI encodings (openai/tiktoken tiktoken_ext/openai_public.py).</summary>
public static class KnownEncodings
{
    /// <summary>Returns (pattern, special tokens) of gpt2, cl100k_base or o200k_base.</summary>
    public static (string Pattern, Dictionary<string, int> Special) Get(string name) => name switch
    {
        "gpt2" or "r50k_base" => (PreTokenizerPatterns.Gpt2, new() { ["<|endoftext|>"] = 50256 }),
        "cl100k_base" => (PreTokenizerPatterns.Cl100k, new()
        {
            ["<|endoftext|>"] = 100257,
            ["<|fim_prefix|>"] = 100258,
            ["<|fim_middle|>"] = 100259,
            ["<|fim_suffix|>"] = 100260,
            ["<|endofprompt|>"] = 100276,
        }),
        "o200k_base" => (PreTokenizerPatterns.O200k, new() { ["<|endoftext|>"] = 199999, ["<|endofprompt|>"] = 200018 }),
        _ => throw new ArgumentException($"unknown encoding '{name}'; expected gpt2, cl100k_base or o200k_base"),
    };
}
