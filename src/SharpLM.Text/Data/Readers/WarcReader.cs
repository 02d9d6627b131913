// WARC 1.0/1.1 reader (ISO 28500; the format Common Crawl ships): walks records, keeps `response` records
// whose HTTP payload is HTML, and yields one document per page with the WARC-Target-URI as url and the
// WARC-Record-ID as id. Handles .warc and multi-member .warc.gz, chunked transfer encoding, and the charset
// of the HTTP Content-Type (UTF-8 when absent or unknown). Not handled: payloads with Content-Encoding
// (gzip/br bodies are skipped and counted), revisit/request/metadata records (ignored by design).
using System.Text;

namespace SharpLM.Text.Data.Readers;

/// <summary>Reads HTML pages out of WARC files.</summary>
public static class WarcReader
{
    /// <summary>Documents (raw HTML, content_type text/html) from the response records of one WARC file.</summary>
    public static IEnumerable<Document> Read(string file, ReadOptions? options = null)
    {
        options ??= new ReadOptions();
        using var lr = new ByteLineReader(DocumentReaders.OpenRead(file), 1 << 20);
        long record = 0;
        while (true)
        {
            Document? doc = null;
            string? skip = null;
            bool done = false;
            long offset = lr.Position;
            try
            {
                var headers = ReadWarcHeaders(lr, file, record + 1, offset, out bool eof);
                if (eof) done = true;
                else
                {
                    record++;
                    if (!headers.TryGetValue("content-length", out var lenText) || !long.TryParse(lenText, out long len) || len < 0)
                        throw new InvalidDataException($"{file}: record {record} (offset {offset}): missing or bad Content-Length");
                    byte[] block = lr.ReadBlock(len);
                    if (block.Length != len) throw new InvalidDataException($"{file}: record {record} (offset {offset}): truncated, {block.Length} of {len} bytes");
                    headers.TryGetValue("warc-type", out var type);
                    if (type == "response")
                        doc = FromResponse(block, headers, file, record, offset, out skip);
                }
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                string msg = e.Message.StartsWith(file, StringComparison.Ordinal) ? e.Message : $"{file}: record {record + 1} (offset {offset}): {e.Message}";
                if (options.OnError == BadInputPolicy.Fail) throw new InvalidDataException(msg, e);
                options.Skip(msg);
                yield break; // record framing is lost: the rest of the file cannot be trusted
            }
            if (done) yield break;
            if (skip is not null) options.Skip(skip);
            if (doc is not null) yield return doc;
        }
    }

    private static Dictionary<string, string> ReadWarcHeaders(ByteLineReader lr, string file, long record, long offset, out bool eof)
    {
        var h = new Dictionary<string, string>(StringComparer.Ordinal);
        ReadOnlySpan<byte> line;
        // Skip the blank lines that end the previous record.
        do
        {
            if (!lr.TryReadLine(out line)) { eof = true; return h; }
        } while (line.IsEmpty);
        eof = false;
        if (!line.StartsWith("WARC/"u8))
            throw new InvalidDataException($"{file}: record {record} (offset {offset}): expected a 'WARC/1.x' version line");
        while (lr.TryReadLine(out line) && !line.IsEmpty)
        {
            int colon = line.IndexOf((byte)':');
            if (colon <= 0) continue;
            string k = Encoding.ASCII.GetString(line[..colon]).Trim().ToLowerInvariant();
            h[k] = Encoding.UTF8.GetString(line[(colon + 1)..]).Trim();
        }
        return h;
    }

    private static Document? FromResponse(byte[] block, Dictionary<string, string> warc, string file, long record, long offset, out string? skip)
    {
        skip = null;
        string where = $"{file}: record {record} (offset {offset})";
        if (warc.TryGetValue("content-type", out var ct) && !ct.StartsWith("application/http", StringComparison.OrdinalIgnoreCase)) return null;
        // HTTP status line + headers, then the body.
        int headerEnd = block.AsSpan().IndexOf("\r\n\r\n"u8);
        int bodyStart = headerEnd + 4;
        if (headerEnd < 0) { headerEnd = block.AsSpan().IndexOf("\n\n"u8); bodyStart = headerEnd + 2; }
        if (headerEnd < 0) { skip = $"{where}: HTTP response without a header terminator"; return null; }
        var http = Encoding.Latin1.GetString(block, 0, headerEnd).Split('\n');
        string? contentType = null, transfer = null, encoding = null;
        foreach (var raw in http.Skip(1))
        {
            int c = raw.IndexOf(':');
            if (c <= 0) continue;
            string k = raw[..c].Trim().ToLowerInvariant(), v = raw[(c + 1)..].Trim();
            if (k == "content-type") contentType = v;
            else if (k == "transfer-encoding") transfer = v.ToLowerInvariant();
            else if (k == "content-encoding") encoding = v.ToLowerInvariant();
        }
        if (contentType is null || !(contentType.Contains("html", StringComparison.OrdinalIgnoreCase))) return null;
        if (encoding is not null && encoding != "identity") { skip = $"{where}: payload Content-Encoding '{encoding}' not supported"; return null; }
        ReadOnlySpan<byte> body = block.AsSpan(bodyStart);
        byte[]? dechunked = transfer == "chunked" ? Dechunk(body) : null;
        if (dechunked is not null) body = dechunked;
        string text = Decode(body, contentType);
        warc.TryGetValue("warc-target-uri", out var url);
        warc.TryGetValue("warc-record-id", out var id);
        var doc = new Document { Id = id ?? $"{file}#{record}", Text = text, Url = url, Source = file };
        doc.Metadata["content_type"] = "text/html";
        if (warc.TryGetValue("warc-date", out var date)) doc.Metadata["date"] = date;
        return doc;
    }

    private static byte[]? Dechunk(ReadOnlySpan<byte> body)
    {
        using var ms = new MemoryStream(body.Length);
        int p = 0;
        while (p < body.Length)
        {
            int eol = body[p..].IndexOf("\r\n"u8);
            if (eol < 0) return null;
            var sizeText = Encoding.ASCII.GetString(body.Slice(p, eol)).Split(';')[0].Trim();
            if (!int.TryParse(sizeText, System.Globalization.NumberStyles.HexNumber, null, out int size)) return null;
            p += eol + 2;
            if (size == 0) break;
            if (p + size > body.Length) return null;
            ms.Write(body.Slice(p, size));
            p += size + 2;
        }
        return ms.ToArray();
    }

    private static string Decode(ReadOnlySpan<byte> body, string contentType)
    {
        int cs = contentType.IndexOf("charset=", StringComparison.OrdinalIgnoreCase);
        if (cs >= 0)
        {
            string name = contentType[(cs + 8)..].Trim().Trim('"', '\'').Split(';')[0].Trim();
            try
            {
                var enc = Encoding.GetEncoding(name);
                if (enc.CodePage != Encoding.UTF8.CodePage) return enc.GetString(body);
            }
            catch (ArgumentException) { } // unknown charset: fall back to UTF-8
        }
        return Encoding.UTF8.GetString(body); // invalid bytes become U+FFFD
    }
}
