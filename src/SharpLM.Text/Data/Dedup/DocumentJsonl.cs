// Reads and writes documents as JSONL ({"id","text","url","source","metadata":{…}}, one object per line,
// optionally gzip-compressed — detected by the 1f 8b magic, not the name). Unknown top-level fields are
// kept in Metadata. A line that is not a JSON object with a string "text" is an error naming the file and
// line, or — with skipBad — is skipped and counted. Documents without an id get "<file name>:<line>".
// Lines are parsed from UTF-8 bytes with Utf8JsonReader, in batches on several threads (order kept).
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
    public static IEnumerable<Document> Read(string path, bool skipBad = false, Action<string>? onBad = null, int threads = 1)
    {
        foreach (var batch in ReadBatches(path, 1024, threads, skipBad, onBad))
            foreach (var d in batch) yield return d;
    }

    /// <summary>Streams the documents of <paramref name="path"/> in batches of at most <paramref name="batchSize"/>, in file
    /// order; lines are parsed on up to <paramref name="threads"/> threads (0 = all cores), the order never changes.</summary>
    public static IEnumerable<List<Document>> ReadBatches(string path, int batchSize, int threads = 1, bool skipBad = false, Action<string>? onBad = null)
    {
        string name = Path.GetFileName(path);
        using var stream = OpenRead(path);
        byte[] buf = new byte[1 << 20];
        int filled = 0;
        long lineNo = 0;
        bool eof = false, first = true;
        var starts = new List<int>();
        var lengths = new List<int>();
        while (true)
        {
            while (!eof && filled < buf.Length)
            {
                int n;
                try { n = stream.Read(buf, filled, buf.Length - filled); }
                catch (Exception e) when (e is InvalidDataException or IOException)
                {
                    throw new InvalidDataException($"{path}: read failed after line {lineNo} (truncated or corrupt gzip?): {e.Message}", e);
                }
                if (n == 0) eof = true;
                filled += n;
            }
            int pos = 0;
            if (first && filled >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF) pos = 3; // UTF-8 BOM
            first = false;
            starts.Clear();
            lengths.Clear();
            while (pos < filled && starts.Count < batchSize)
            {
                int nl = buf.AsSpan(pos, filled - pos).IndexOf((byte)'\n');
                if (nl < 0)
                {
                    if (!eof) break;
                    nl = filled - pos; // last line without a newline
                }
                starts.Add(pos);
                lengths.Add(nl);
                pos = Math.Min(filled, pos + nl + 1);
            }
            if (starts.Count == 0)
            {
                if (eof) yield break;
                // One line longer than the buffer: double it (up to the array limit).
                if (buf.Length >= Array.MaxLength / 2) throw new InvalidDataException($"{path}:{lineNo + 1}: line longer than {buf.Length} bytes");
                Array.Resize(ref buf, buf.Length * 2);
                continue;
            }
            int count = starts.Count;
            var docs = new Document?[count];
            var errors = new string?[count];
            long baseLine = lineNo;
            byte[] data = buf;
            void ParseOne(int i)
            {
                var line = data.AsSpan(starts[i], lengths[i]);
                if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
                if (line.Trim((byte)' ').IsEmpty) return;
                (docs[i], errors[i]) = Parse(line, name, baseLine + i + 1);
            }
            if (threads == 1 || count < 64) for (int i = 0; i < count; i++) ParseOne(i);
            else Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount }, ParseOne);
            var batch = new List<Document>(count);
            for (int i = 0; i < count; i++)
            {
                if (docs[i] is { } d) { batch.Add(d); continue; }
                if (errors[i] is null) continue; // blank line
                string msg = $"{path}:{baseLine + i + 1}: {errors[i]}";
                if (!skipBad) throw new InvalidDataException(msg);
                onBad?.Invoke(msg);
            }
            lineNo += count;
            Buffer.BlockCopy(buf, pos, buf, 0, filled - pos);
            filled -= pos;
            if (batch.Count > 0) yield return batch;
        }
    }

    /// <summary>Parses one JSONL line (UTF-8 bytes); returns the document or why it is not one.</summary>
    public static (Document? Doc, string? Error) Parse(ReadOnlySpan<byte> line, string fileName, long lineNo)
    {
        try
        {
            var r = new Utf8JsonReader(line);
            if (!r.Read() || r.TokenType != JsonTokenType.StartObject) return (null, $"expected a JSON object, got {r.TokenType}");
            string? id = null, text = null, url = null, source = null;
            var meta = new Dictionary<string, object?>();
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                if (r.ValueTextEquals("text"u8))
                {
                    r.Read();
                    if (r.TokenType != JsonTokenType.String) return (null, $"field 'text' must be a string, got {r.TokenType}");
                    text = r.GetString();
                }
                else if (r.ValueTextEquals("id"u8))
                {
                    r.Read();
                    if (r.TokenType == JsonTokenType.String) id = r.GetString();
                    else if (r.TokenType == JsonTokenType.Number) id = Encoding.UTF8.GetString(r.ValueSpan);
                    else if (r.TokenType != JsonTokenType.Null) return (null, $"field 'id' must be a string or number, got {r.TokenType}");
                }
                else if (r.ValueTextEquals("url"u8)) { r.Read(); url = r.TokenType == JsonTokenType.String ? r.GetString() : Skip(ref r); }
                else if (r.ValueTextEquals("source"u8)) { r.Read(); source = r.TokenType == JsonTokenType.String ? r.GetString() : Skip(ref r); }
                else if (r.ValueTextEquals("metadata"u8))
                {
                    r.Read();
                    if (r.TokenType == JsonTokenType.StartObject)
                    {
                        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
                        {
                            string k = r.GetString()!;
                            r.Read();
                            meta[k] = JsonElement.ParseValue(ref r);
                        }
                    }
                    else meta["metadata"] = JsonElement.ParseValue(ref r);
                }
                else
                {
                    string k = r.GetString()!;
                    r.Read();
                    meta[k] = JsonElement.ParseValue(ref r);
                }
            }
            if (r.TokenType != JsonTokenType.EndObject) return (null, "malformed JSON object");
            if (r.Read()) return (null, "trailing content after the JSON object");
            if (text is null) return (null, "missing the string field 'text'");
            return (new Document { Id = id ?? $"{fileName}:{lineNo.ToString(CultureInfo.InvariantCulture)}", Text = text, Url = url, Source = source, Metadata = meta }, null);
        }
        catch (JsonException e) { return (null, $"invalid JSON: {e.Message}"); }
        catch (InvalidOperationException e) { return (null, $"invalid JSON or UTF-8: {e.Message}"); }
        catch (ArgumentException e) { return (null, $"invalid UTF-8: {e.Message}"); }
    }

    private static string? Skip(ref Utf8JsonReader r) { r.Skip(); return null; }

    /// <summary>Parses one JSONL line given as a string.</summary>
    public static (Document? Doc, string? Error) Parse(string line, string fileName, long lineNo) =>
        Parse(Encoding.UTF8.GetBytes(line), fileName, lineNo);

    /// <summary>The JSONL line of a document (without the newline).</summary>
    public static byte[] Serialize(Document doc)
    {
        var buf = new System.Buffers.ArrayBufferWriter<byte>(doc.Text.Length + 256);
        using (var w = new Utf8JsonWriter(buf, WriterOptions)) WriteObject(w, doc);
        return buf.WrittenSpan.ToArray();
    }

    /// <summary>Writes one document as one line.</summary>
    public static void Write(Utf8JsonWriter w, Stream s, Document doc)
    {
        w.Reset(s);
        WriteObject(w, doc);
        w.Flush();
        s.WriteByte((byte)'\n');
    }

    private static void WriteObject(Utf8JsonWriter w, Document doc)
    {
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

    /// <summary>Appends documents in order, serialising them on up to <paramref name="threads"/> threads (0 = all cores).</summary>
    public void WriteBatch(IReadOnlyList<Document> docs, int threads)
    {
        if (threads == 1 || docs.Count < 64) { foreach (var d in docs) Write(d); return; }
        var lines = new byte[docs.Count][];
        Parallel.For(0, docs.Count, new ParallelOptions { MaxDegreeOfParallelism = threads > 0 ? threads : Environment.ProcessorCount }, i => lines[i] = DocumentJsonl.Serialize(docs[i]));
        foreach (var l in lines) WriteRaw(l);
    }

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
