// JSONL files of documents for the dedup job and other batch readers: whole files (optionally gzip-compressed —
// detected by the 1f 8b magic, not the name) read in batches whose lines are parsed on several threads (order
// kept), and atomic sinks. Each line goes through the pipeline's one codec, DocumentJson (fields, metadata
// types, errors). A bad line is an error naming the file and line, or — with skipBad — is skipped and counted.
// Documents without an id get "<file name>:<line>". Not here: other input formats (DocumentReaders).
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using SharpLM.Text.Data.Readers;

namespace SharpLM.Text.Data.Dedup;

/// <summary>JSONL (optionally .gz) reading and writing of <see cref="Document"/>s.</summary>
public static class DocumentJsonl
{
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
    public static (Document? Doc, string? Error) Parse(ReadOnlySpan<byte> line, string fileName, long lineNo) =>
        DocumentJson.TryParse(line, null, $"{fileName}:{lineNo.ToString(CultureInfo.InvariantCulture)}", out var doc, out var error) ? (doc, null) : (null, error);

    /// <summary>The JSONL line of a document (without the newline).</summary>
    public static byte[] Serialize(Document doc) => DocumentJson.Serialize(doc);

    /// <summary>Writes one document as one line.</summary>
    public static void Write(Utf8JsonWriter w, Stream s, Document doc)
    {
        w.Reset(s);
        DocumentJson.Write(w, doc);
        w.Flush();
        s.WriteByte((byte)'\n');
    }

    /// <summary>A writer for <see cref="Write(Utf8JsonWriter, Stream, Document)"/>.</summary>
    public static Utf8JsonWriter CreateWriter(Stream s) => new(s, DocumentJson.WriterOptions);
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
