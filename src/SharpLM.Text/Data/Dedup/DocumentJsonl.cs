// Reads and writes documents as JSONL ({"id","text","url","source","metadata":{…}}, one object per line,
// optionally gzip-compressed — detected by the 1f 8b magic, not the name). Unknown top-level fields are
// kept in Metadata. A line that is not a JSON object with a string "text" is an error naming the file and
// line, or — with skipBad — is skipped and counted. Documents without an id get "<file name>:<line>".
// Output is UTF-8 with non-ASCII characters unescaped (readable, and a third smaller for most scripts).
// Not here: other input formats (plain text, HTML, WARC readers of the pipeline).
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace SharpLM.Text.Data.Dedup;

/// <summary>JSONL (optionally .gz) reading and writing of <see cref="Document"/>s.</summary>
public static class DocumentJsonl
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Opens a file for reading, transparently decompressing gzip.</summary>
    public static Stream OpenRead(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: input file not found", path);
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        int got = fs.Read(magic);
        fs.Position = 0;
        if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) return new GZipStream(fs, CompressionMode.Decompress);
        return fs;
    }

    /// <summary>Streams the documents of <paramref name="path"/> in file order. With <paramref name="skipBad"/>, malformed
    /// lines are passed to <paramref name="onBad"/> (with a message naming file and line) instead of throwing.</summary>
    public static IEnumerable<Document> Read(string path, bool skipBad = false, Action<string>? onBad = null)
    {
        string name = Path.GetFileName(path);
        using var reader = new StreamReader(OpenRead(path), new UTF8Encoding(false, throwOnInvalidBytes: true), false, 1 << 16);
        long lineNo = 0;
        while (true)
        {
            string? line;
            try { line = reader.ReadLine(); }
            catch (Exception e) when (e is InvalidDataException or DecoderFallbackException or IOException)
            {
                string msg = e is DecoderFallbackException
                    ? $"{path}:{lineNo + 1}: the bytes are not valid UTF-8"
                    : $"{path}: read failed after line {lineNo} (truncated or corrupt gzip?): {e.Message}";
                if (!skipBad || e is not DecoderFallbackException) throw new InvalidDataException(msg, e);
                onBad?.Invoke(msg);
                yield break;
            }
            if (line is null) yield break;
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            Document? doc;
            string? error;
            (doc, error) = Parse(line, name, lineNo);
            if (doc is null)
            {
                string msg = $"{path}:{lineNo}: {error}";
                if (!skipBad) throw new InvalidDataException(msg);
                onBad?.Invoke(msg);
                continue;
            }
            yield return doc;
        }
    }

    /// <summary>Parses one JSONL line; returns the document or why it is not one.</summary>
    public static (Document? Doc, string? Error) Parse(string line, string fileName, long lineNo)
    {
        JsonDocument json;
        try { json = JsonDocument.Parse(line); }
        catch (JsonException e) { return (null, $"invalid JSON: {e.Message}"); }
        using (json)
        {
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return (null, $"expected a JSON object, got {root.ValueKind}");
            string? id = null, text = null, url = null, source = null;
            var meta = new Dictionary<string, object?>();
            foreach (var p in root.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "text":
                        if (p.Value.ValueKind != JsonValueKind.String) return (null, $"field 'text' must be a string, got {p.Value.ValueKind}");
                        text = p.Value.GetString();
                        break;
                    case "id":
                        if (p.Value.ValueKind == JsonValueKind.String) id = p.Value.GetString();
                        else if (p.Value.ValueKind == JsonValueKind.Number) id = p.Value.GetRawText();
                        else if (p.Value.ValueKind != JsonValueKind.Null) return (null, $"field 'id' must be a string or number, got {p.Value.ValueKind}");
                        break;
                    case "url": url = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null; break;
                    case "source": source = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : null; break;
                    case "metadata" when p.Value.ValueKind == JsonValueKind.Object:
                        foreach (var m in p.Value.EnumerateObject()) meta[m.Name] = m.Value.Clone();
                        break;
                    default: meta[p.Name] = p.Value.Clone(); break;
                }
            }
            if (text is null) return (null, "missing the string field 'text'");
            return (new Document { Id = id ?? $"{fileName}:{lineNo.ToString(CultureInfo.InvariantCulture)}", Text = text, Url = url, Source = source, Metadata = meta }, null);
        }
    }

    /// <summary>Writes one document as one line.</summary>
    public static void Write(Utf8JsonWriter w, Stream s, Document doc)
    {
        w.Reset(s);
        w.WriteStartObject();
        w.WriteString("id", doc.Id);
        w.WriteString("text", doc.Text);
        if (doc.Url is not null) w.WriteString("url", doc.Url);
        if (doc.Source is not null) w.WriteString("source", doc.Source);
        if (doc.Metadata.Count > 0)
        {
            w.WriteStartObject("metadata");
            foreach (var (k, v) in doc.Metadata)
            {
                w.WritePropertyName(k);
                WriteValue(w, v);
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.Flush();
        s.WriteByte((byte)'\n');
    }

    /// <summary>A writer for <see cref="Write(Utf8JsonWriter, Stream, Document)"/>.</summary>
    public static Utf8JsonWriter CreateWriter(Stream s) => new(s, WriterOptions);

    private static void WriteValue(Utf8JsonWriter w, object? v)
    {
        switch (v)
        {
            case null: w.WriteNullValue(); break;
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case int i: w.WriteNumberValue(i); break;
            case long l: w.WriteNumberValue(l); break;
            case float f: w.WriteNumberValue(f); break;
            case double d: w.WriteNumberValue(d); break;
            case JsonElement e: e.WriteTo(w); break;
            case IEnumerable<string> list:
                w.WriteStartArray();
                foreach (var x in list) w.WriteStringValue(x);
                w.WriteEndArray();
                break;
            case IFormattable f: w.WriteStringValue(f.ToString(null, CultureInfo.InvariantCulture)); break;
            default: w.WriteStringValue(v.ToString()); break;
        }
    }
}

/// <summary>A JSONL output file written under a temporary name and renamed into place by <see cref="Complete"/>.</summary>
public sealed class JsonlSink : IDisposable
{
    private readonly string _path, _tmp;
    private readonly FileStream _fs;
    private readonly Utf8JsonWriter _w;
    private bool _done;

    /// <summary>Documents written.</summary>
    public long Count { get; private set; }

    /// <summary>Starts <paramref name="path"/> (the directory is created).</summary>
    public JsonlSink(string path)
    {
        _path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        _tmp = $"{_path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        _fs = new FileStream(_tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        _w = DocumentJsonl.CreateWriter(_fs);
    }

    /// <summary>Appends one document.</summary>
    public void Write(Document doc) { DocumentJsonl.Write(_w, _fs, doc); Count++; }

    /// <summary>Appends one raw JSON object (already serialised, no newline).</summary>
    public void WriteRaw(ReadOnlySpan<byte> json) { _fs.Write(json); _fs.WriteByte((byte)'\n'); Count++; }

    /// <summary>Flushes and renames into place.</summary>
    public void Complete()
    {
        if (_done) return;
        _done = true;
        _w.Dispose();
        _fs.Flush(flushToDisk: true);
        _fs.Dispose();
        File.Move(_tmp, _path, overwrite: true);
    }

    /// <summary>Deletes the temporary file unless completed.</summary>
    public void Dispose()
    {
        if (_done) return;
        _done = true;
        _w.Dispose();
        _fs.Dispose();
        File.Delete(_tmp);
    }
}
