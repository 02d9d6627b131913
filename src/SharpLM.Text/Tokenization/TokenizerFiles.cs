// Finding and loading a tokenizer from what a user names on the command line (a run's tokenizer directory,
// a tokenizer.json, a tiktoken rank file), and reading the documents to encode (plain-text lines or a JSONL
// string field) with errors that name the file and line.
// Not here: the formats themselves (TokenizerJson, TiktokenFile) or training input (BpeTrainer reads files
// line by line with the newline kept, as the Rust trainer does; documents here drop it).
using System.Text;
using System.Text.Json;

namespace SharpLM.Text.Tokenization;

/// <summary>Loads tokenizers by path and reads documents for encoding.</summary>
public static class TokenizerFiles
{
    /// <summary>Loads a tokenizer: a directory holding tokenizer.json, a tokenizer.json (optionally .gz), or a
    /// .tiktoken rank file (optionally .gz) whose pattern and special tokens come from <paramref name="encoding"/>
    /// (gpt2, cl100k_base, o200k_base) or, when that is null, the GPT-2 pattern and no special tokens.</summary>
    public static BpeTokenizer Load(string path, string? encoding = null)
    {
        if (Directory.Exists(path))
        {
            var json = Path.Combine(path, "tokenizer.json");
            if (!File.Exists(json)) throw new FileNotFoundException($"{path}: the directory has no tokenizer.json", json);
            return TokenizerJson.Load(json);
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"tokenizer not found: {path}", path);
        var name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        if (name.EndsWith(".tiktoken", StringComparison.OrdinalIgnoreCase))
            return encoding is null ? TiktokenFile.Load(path, PreTokenizerPatterns.Gpt2) : TiktokenFile.LoadKnown(path, encoding);
        return TokenizerJson.Load(path);
    }

    /// <summary>The documents of a file: each line of a plain-text file (without its line break), or the
    /// <paramref name="jsonlField"/> string of each JSONL line (blank lines and null fields skipped).
    /// Gzip files are read transparently; invalid UTF-8 is an error naming the line.</summary>
    public static IEnumerable<string> ReadDocuments(string path, string? jsonlField = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"input file not found: {path}", path);
        return Read(path, jsonlField);

        static IEnumerable<string> Read(string path, string? field)
        {
            using var stream = TiktokenFile.OpenMaybeGzip(path);
            using var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true), false, 1 << 16);
            long lineNo = 0;
            while (true)
            {
                string? line;
                try { line = reader.ReadLine(); }
                catch (DecoderFallbackException)
                {
                    var (bad, offset) = BpeTrainer.FirstInvalidUtf8(path);
                    throw new InvalidDataException($"{path}: not valid UTF-8 at line {bad} (byte offset {offset}); convert it to UTF-8 first");
                }
                if (line is null) yield break;
                lineNo++;
                if (field is null) { yield return line; continue; }
                if (string.IsNullOrWhiteSpace(line)) continue;
                if (JsonlField(line, field, path, lineNo) is { } text) yield return text;
            }
        }
    }

    /// <summary>The string <paramref name="field"/> of one JSONL line; null when the field is JSON null.</summary>
    internal static string? JsonlField(string line, string field, string path, long lineNo)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty(field, out var v))
                throw new InvalidDataException($"{path}:{lineNo}: expected a JSON object with a \"{field}\" field");
            if (v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind != JsonValueKind.String) throw new InvalidDataException($"{path}:{lineNo}: field \"{field}\" must be a string");
            return v.GetString();
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}:{lineNo}: not valid JSON: {e.Message}", e); }
    }
}
