// Hugging Face tokenizer.json for byte-level BPE (huggingface/tokenizers: models/bpe, pre_tokenizers/byte_level,
// pre_tokenizers/split): model.vocab (byte-level token string → id), model.merges ("a b" or ["a","b"], in
// priority order), added_tokens (special tokens), pre_tokenizer (ByteLevel with its GPT-2 regex, or a Sequence
// of a regex Split and a ByteLevel without regex). The byte-level alphabet is GPT-2's bytes_to_unicode: printable
// Latin-1 bytes stand for themselves, the other 68 bytes for U+0100.. in byte order.
// Not here: normalizers, post-processors, truncation and padding (read as absent; a non-null normalizer is refused
// because ignoring it would change the ids), and models other than BPE.
using System.Text;
using System.Text.Json;

namespace SharpLM.Text.Tokenization;

/// <summary>Reads and writes Hugging Face <c>tokenizer.json</c> files for byte-level BPE.</summary>
public static class TokenizerJson
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte = BuildCharToByte();

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[b] = printable ? (char)b : (char)(256 + n++);
        }
        return map;
    }

    private static Dictionary<char, byte> BuildCharToByte()
    {
        var d = new Dictionary<char, byte>(256);
        for (int b = 0; b < 256; b++) d[ByteToChar[b]] = (byte)b;
        return d;
    }

    /// <summary>The byte-level string of some bytes (GPT-2 bytes_to_unicode).</summary>
    public static string ToByteLevel(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        foreach (var b in bytes) sb.Append(ByteToChar[b]);
        return sb.ToString();
    }

    /// <summary>The bytes of a byte-level string, or null if it has a character outside the alphabet.</summary>
    public static byte[]? FromByteLevel(string s)
    {
        var r = new byte[s.Length];
        for (int i = 0; i < s.Length; i++)
        {
            if (!CharToByte.TryGetValue(s[i], out r[i])) return null;
        }
        return r;
    }

    /// <summary>The byte-level alphabet character of each byte.</summary>
    public static char ByteChar(byte b) => ByteToChar[b];

    /// <summary>Loads a byte-level BPE tokenizer.json; a malformed or unsupported file gets an error naming the field.</summary>
    public static BpeTokenizer Load(string path)
    {
        using var stream = TiktokenFile.OpenMaybeGzip(path);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(stream, new JsonDocumentOptions { AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON (line {e.LineNumber + 1}): {e.Message}", e); }
        using (doc) return Parse(doc.RootElement, path);
    }

    /// <summary>Parses tokenizer.json text (<paramref name="source"/> names it in errors).</summary>
    public static BpeTokenizer Parse(string json, string source = "tokenizer.json")
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not valid JSON (line {e.LineNumber + 1}): {e.Message}", e); }
        using (doc) return Parse(doc.RootElement, source);
    }

    private static InvalidDataException Bad(string source, string field, string expected) =>
        new($"{source}: field '{field}': {expected}");

    private static BpeTokenizer Parse(JsonElement root, string src)
    {
        if (root.ValueKind != JsonValueKind.Object) throw Bad(src, "$", "expected a JSON object");
        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw Bad(src, "model", "expected an object with the BPE model");
        if (model.TryGetProperty("type", out var type) && type.GetString() != "BPE")
            throw Bad(src, "model.type", $"expected \"BPE\", found \"{type}\"");
        if (root.TryGetProperty("normalizer", out var norm) && norm.ValueKind != JsonValueKind.Null)
            throw Bad(src, "normalizer", "expected null (normalizers are not supported for byte-level BPE)");
        if (!model.TryGetProperty("vocab", out var vocabEl) || vocabEl.ValueKind != JsonValueKind.Object)
            throw Bad(src, "model.vocab", "expected an object mapping token to id");
        if (!model.TryGetProperty("merges", out var mergesEl) || mergesEl.ValueKind != JsonValueKind.Array)
            throw Bad(src, "model.merges", "expected an array of merges");

        var byId = new List<byte[]?>();
        var idOf = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in vocabEl.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
                throw Bad(src, $"model.vocab[\"{p.Name}\"]", "expected a non-negative integer id");
            var bytes = FromByteLevel(p.Name) ?? throw Bad(src, $"model.vocab[\"{p.Name}\"]", "token has a character outside the byte-level alphabet (is this a byte-level BPE tokenizer?)");
            while (byId.Count <= id) byId.Add(null);
            if (byId[id] is not null) throw Bad(src, $"model.vocab[\"{p.Name}\"]", $"id {id} is used twice");
            byId[id] = bytes;
            idOf[p.Name] = id;
        }

        var merges = new List<(int, int)>(mergesEl.GetArrayLength());
        int mi = 0;
        foreach (var m in mergesEl.EnumerateArray())
        {
            string? a, b;
            if (m.ValueKind == JsonValueKind.String)
            {
                var s = m.GetString()!;
                int sp = s.IndexOf(' ');
                if (sp <= 0 || sp != s.LastIndexOf(' ')) throw Bad(src, $"model.merges[{mi}]", "expected \"left right\"");
                a = s[..sp]; b = s[(sp + 1)..];
            }
            else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2)
            {
                a = m[0].GetString(); b = m[1].GetString();
            }
            else throw Bad(src, $"model.merges[{mi}]", "expected \"left right\" or [\"left\", \"right\"]");
            if (a is null || !idOf.TryGetValue(a, out int ia)) throw Bad(src, $"model.merges[{mi}]", $"left part \"{a}\" is not in model.vocab");
            if (b is null || !idOf.TryGetValue(b, out int ib)) throw Bad(src, $"model.merges[{mi}]", $"right part \"{b}\" is not in model.vocab");
            if (!idOf.ContainsKey(a + b)) throw Bad(src, $"model.merges[{mi}]", $"merged token \"{a + b}\" is not in model.vocab");
            merges.Add((ia, ib));
            mi++;
        }

        var special = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            int ai = 0;
            foreach (var t in added.EnumerateArray())
            {
                if (!t.TryGetProperty("id", out var idEl) || !idEl.TryGetInt32(out int id) || !t.TryGetProperty("content", out var c) || c.GetString() is not { Length: > 0 } content)
                    throw Bad(src, $"added_tokens[{ai}]", "expected an object with id and content");
                // an added token that is also a vocabulary entry with the same id is already covered by BPE
                if (id < byId.Count && byId[id] is not null)
                {
                    if (!idOf.TryGetValue(content, out int vid) || vid != id)
                        throw Bad(src, $"added_tokens[{ai}]", $"id {id} is already the BPE token of different text");
                }
                else special[content] = id;
                ai++;
            }
        }

        string pattern = PreTokenizerPatterns.Gpt2;
        bool prefixSpace = false;
        if (root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind == JsonValueKind.Object)
            (pattern, prefixSpace) = ReadPreTokenizer(pre, src, "pre_tokenizer");
        else throw Bad(src, "pre_tokenizer", "expected a ByteLevel pre-tokenizer (or a Sequence of a regex Split and ByteLevel)");

        try { return BpeTokenizer.FromMerges(byId, merges, special, pattern, prefixSpace); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{src}: {e.Message}", e); }
        catch (ArgumentException e) { throw new InvalidDataException($"{src}: {e.Message}", e); }
    }

    private static (string Pattern, bool PrefixSpace) ReadPreTokenizer(JsonElement pre, string src, string field)
    {
        string type = pre.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        switch (type)
        {
            case "ByteLevel":
                {
                    bool useRegex = !pre.TryGetProperty("use_regex", out var ur) || ur.ValueKind != JsonValueKind.False;
                    bool prefix = pre.TryGetProperty("add_prefix_space", out var ap) && ap.ValueKind == JsonValueKind.True;
                    if (!useRegex) throw Bad(src, field, "a ByteLevel pre-tokenizer without regex needs a Split before it");
                    return (PreTokenizerPatterns.Gpt2, prefix);
                }
            case "Sequence":
                {
                    if (!pre.TryGetProperty("pretokenizers", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() != 2)
                        throw Bad(src, field + ".pretokenizers", "expected [Split, ByteLevel]");
                    var split = list[0];
                    var bl = list[1];
                    if (split.TryGetProperty("type", out var st) && st.GetString() == "ByteLevel" && list.GetArrayLength() == 2)
                        throw Bad(src, field + ".pretokenizers", "expected [Split, ByteLevel]");
                    if (!split.TryGetProperty("type", out st) || st.GetString() != "Split")
                        throw Bad(src, field + ".pretokenizers[0]", "expected a Split pre-tokenizer");
                    if (!split.TryGetProperty("pattern", out var pat) || !pat.TryGetProperty("Regex", out var rx) || rx.GetString() is not { } regex)
                        throw Bad(src, field + ".pretokenizers[0].pattern", "expected {\"Regex\": \"...\"}");
                    if (split.TryGetProperty("behavior", out var beh) && beh.GetString() != "Isolated")
                        throw Bad(src, field + ".pretokenizers[0].behavior", "expected \"Isolated\"");
                    if (split.TryGetProperty("invert", out var inv) && inv.ValueKind == JsonValueKind.True)
                        throw Bad(src, field + ".pretokenizers[0].invert", "expected false");
                    if (!bl.TryGetProperty("type", out var bt) || bt.GetString() != "ByteLevel")
                        throw Bad(src, field + ".pretokenizers[1]", "expected a ByteLevel pre-tokenizer");
                    if (bl.TryGetProperty("use_regex", out var ur2) && ur2.ValueKind == JsonValueKind.True)
                        throw Bad(src, field + ".pretokenizers[1].use_regex", "expected false after a Split");
                    bool prefix = bl.TryGetProperty("add_prefix_space", out var ap2) && ap2.ValueKind == JsonValueKind.True;
                    try { _ = PreTokenizerPatterns.ToRegex(regex); }
                    catch (ArgumentException e) { throw Bad(src, field + ".pretokenizers[0].pattern.Regex", e.Message); }
                    return (regex, prefix);
                }
            default:
                throw Bad(src, field + ".type", $"expected \"ByteLevel\" or \"Sequence\", found \"{type}\"");
        }
    }

    /// <summary>Writes a tokenizer.json that Hugging Face tokenizers loads; temp file renamed into place.</summary>
    public static void Save(BpeTokenizer tok, string path)
    {
        var tmp = path + ".tmp";
        using (var fs = File.Create(tmp))
            Write(tok, fs);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Writes tokenizer.json to a stream.</summary>
    public static void Write(BpeTokenizer tok, Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteString("version", "1.0");
        w.WriteNull("truncation");
        w.WriteNull("padding");
        w.WriteStartArray("added_tokens");
        foreach (var (content, id) in tok.SpecialTokens.OrderBy(kv => kv.Value))
        {
            w.WriteStartObject();
            w.WriteNumber("id", id);
            w.WriteString("content", content);
            w.WriteBoolean("single_word", false);
            w.WriteBoolean("lstrip", false);
            w.WriteBoolean("rstrip", false);
            w.WriteBoolean("normalized", false);
            w.WriteBoolean("special", true);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNull("normalizer");
        w.WriteStartObject("pre_tokenizer");
        w.WriteString("type", "Sequence");
        w.WriteStartArray("pretokenizers");
        w.WriteStartObject();
        w.WriteString("type", "Split");
        w.WriteStartObject("pattern");
        w.WriteString("Regex", PreTokenizerPatterns.ToPortable(tok.Pattern));
        w.WriteEndObject();
        w.WriteString("behavior", "Isolated");
        w.WriteBoolean("invert", false);
        w.WriteEndObject();
        w.WriteStartObject();
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", tok.AddPrefixSpace);
        w.WriteBoolean("trim_offsets", true);
        w.WriteBoolean("use_regex", false);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteNull("post_processor");
        w.WriteStartObject("decoder");
        w.WriteString("type", "ByteLevel");
        w.WriteBoolean("add_prefix_space", true);
        w.WriteBoolean("trim_offsets", true);
        w.WriteBoolean("use_regex", true);
        w.WriteEndObject();
        w.WriteStartObject("model");
        w.WriteString("type", "BPE");
        w.WriteNull("dropout");
        w.WriteNull("unk_token");
        w.WriteNull("continuing_subword_prefix");
        w.WriteNull("end_of_word_suffix");
        w.WriteBoolean("fuse_unk", false);
        w.WriteBoolean("byte_fallback", false);
        w.WriteStartObject("vocab");
        for (int id = 0; id < tok.VocabSize; id++)
            if (tok.TokenBytes(id) is { } b) w.WriteNumber(ToByteLevel(b), id);
        w.WriteEndObject();
        w.WriteStartArray("merges");
        foreach (var (a, b, _) in tok.Merges)
            w.WriteStringValue(ToByteLevel(tok.TokenBytes(a)!) + " " + ToByteLevel(tok.TokenBytes(b)!));
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
