// Readers and writer: JSONL (plain and gzip) round trip, errors that name file:line, the skip policy, truncated
// gzip, and a hand-written WARC file (plain and multi-member gzip) with a chunked HTML response.
using System.IO.Compression;
using System.Text;
using SharpLM.Text.Data;
using SharpLM.Text.Data.Readers;

namespace SharpLM.Text.Tests.Data;

public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("sharplm-data-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}

public class ReaderTests
{
    [Theory]
    [InlineData("docs.jsonl")]
    [InlineData("docs.jsonl.gz")]
    public void Jsonl_RoundTrip(string name)
    {
        using var dir = new TempDir();
        var d = new Document { Id = "a1", Text = "Grüße\n\"quoted\" ✓", Url = "https://x.org/p", Source = "s" };
        d.Metadata["score"] = 0.5; d.Metadata["n"] = 3L; d.Metadata["flag"] = true; d.Metadata["lang"] = "de";
        using (var w = new DocumentWriter(dir.File(name))) { w.Write(d); w.Write(new Document { Id = "b", Text = "" }); w.Commit(); }
        var back = DocumentReaders.ReadFile(dir.File(name)).ToList();
        Assert.Equal(2, back.Count);
        Assert.Equal("a1", back[0].Id);
        Assert.Equal(d.Text, back[0].Text);
        Assert.Equal("https://x.org/p", back[0].Url);
        Assert.Equal(0.5, back[0].Metadata["score"]);
        Assert.Equal(3L, back[0].Metadata["n"]);
        Assert.Equal(true, back[0].Metadata["flag"]);
        Assert.Equal("de", back[0].Metadata["lang"]);
        Assert.Equal("", back[1].Text);
    }

    [Fact]
    public void Jsonl_BadLine_NamesFileAndLine_OrIsSkipped()
    {
        using var dir = new TempDir();
        var f = dir.File("bad.jsonl");
        System.IO.File.WriteAllText(f, "{\"id\":\"1\",\"text\":\"ok\"}\n{\"id\":\"2\",\"text\":\n{\"id\":\"3\"}\n{\"text\":\"fine\",\"lang\":\"en\"}\n");
        var e = Assert.Throws<InvalidDataException>(() => DocumentReaders.ReadFile(f).ToList());
        Assert.StartsWith($"{f}:2:", e.Message);
        var opts = new ReadOptions { OnError = BadInputPolicy.Skip };
        var docs = DocumentReaders.ReadFile(f, opts).ToList();
        Assert.Equal(["ok", "fine"], docs.Select(d => d.Text));
        Assert.Equal($"{f}:4", docs[1].Id); // no id: file:line
        Assert.Equal("en", docs[1].Metadata["lang"]); // unknown top-level fields kept
        Assert.Equal(2, opts.Skipped);
        Assert.Contains(opts.SkipSamples, s => s.Contains(":3:") && s.Contains("missing string field \"text\""));
    }

    [Fact]
    public void Jsonl_InvalidUtf8_AndOverlongLine()
    {
        using var dir = new TempDir();
        var f = dir.File("bytes.jsonl");
        var bytes = new List<byte>();
        bytes.AddRange("{\"text\":\"a"u8.ToArray()); bytes.Add(0xFF); bytes.AddRange("\"}\n"u8.ToArray());
        bytes.AddRange(Encoding.UTF8.GetBytes("{\"text\":\"" + new string('x', 5000) + "\"}\n"));
        bytes.AddRange("{\"text\":\"last\"}\n"u8.ToArray());
        System.IO.File.WriteAllBytes(f, [.. bytes]);
        var e = Assert.Throws<InvalidDataException>(() => DocumentReaders.ReadFile(f).ToList());
        Assert.StartsWith($"{f}:1:", e.Message);
        var opts = new ReadOptions { OnError = BadInputPolicy.Skip, MaxLineBytes = 1000 };
        Assert.Equal(["last"], DocumentReaders.ReadFile(f, opts).Select(d => d.Text));
        Assert.Equal(2, opts.Skipped);
        Assert.Contains(opts.SkipSamples, s => s.Contains(":2:") && s.Contains("longer than 1000 bytes"));
    }

    [Fact]
    public void TruncatedGzip_FailsWithFileName_OrKeepsWhatWasRead()
    {
        using var dir = new TempDir();
        var f = dir.File("cut.jsonl.gz");
        using (var w = new DocumentWriter(f))
        {
            for (int i = 0; i < 2000; i++) w.Write(new Document { Id = $"{i}", Text = $"document number {i} " + new string((char)('a' + i % 26), 50) });
            w.Commit();
        }
        var all = System.IO.File.ReadAllBytes(f);
        System.IO.File.WriteAllBytes(f, all[..(all.Length / 2)]);
        var e = Assert.ThrowsAny<InvalidDataException>(() => DocumentReaders.ReadFile(f).ToList());
        Assert.Contains(f, e.Message);
        var opts = new ReadOptions { OnError = BadInputPolicy.Skip };
        int n = DocumentReaders.ReadFile(f, opts).Count();
        Assert.InRange(n, 1, 1999);
        Assert.Equal(1, opts.Skipped);
    }

    internal static byte[] WarcRecord(string type, string uri, string id, byte[] block)
    {
        var head = $"WARC/1.0\r\nWARC-Type: {type}\r\nWARC-Target-URI: {uri}\r\nWARC-Record-ID: {id}\r\nWARC-Date: 2024-01-01T00:00:00Z\r\n"
            + $"Content-Type: application/http; msgtype={type}\r\nContent-Length: {block.Length}\r\n\r\n";
        return [.. Encoding.ASCII.GetBytes(head), .. block, .. "\r\n\r\n"u8.ToArray()];
    }

    internal static byte[] HttpResponse(string contentType, string body, bool chunked = false)
    {
        var b = Encoding.UTF8.GetBytes(body);
        if (!chunked)
            return [.. Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: {contentType}\r\nContent-Length: {b.Length}\r\n\r\n"), .. b];
        int half = b.Length / 2;
        return [.. Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: {contentType}\r\nTransfer-Encoding: chunked\r\n\r\n"),
            .. Encoding.ASCII.GetBytes($"{half:x}\r\n"), .. b[..half], .. "\r\n"u8.ToArray(),
            .. Encoding.ASCII.GetBytes($"{b.Length - half:x}\r\n"), .. b[half..], .. "\r\n0\r\n\r\n"u8.ToArray()];
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Warc_ResponseRecordsWithHtml(bool gz)
    {
        using var dir = new TempDir();
        var records = new[]
        {
            WarcRecord("warcinfo", "", "<urn:uuid:0>", "software: test\r\n"u8.ToArray()),
            WarcRecord("request", "http://a.org/", "<urn:uuid:1>", "GET / HTTP/1.1\r\nHost: a.org\r\n\r\n"u8.ToArray()),
            WarcRecord("response", "http://a.org/", "<urn:uuid:2>", HttpResponse("text/html; charset=utf-8", "<html><body><p>Héllo page one.</p></body></html>")),
            WarcRecord("response", "http://a.org/img.png", "<urn:uuid:3>", HttpResponse("image/png", "PNG")),
            WarcRecord("response", "http://b.org/", "<urn:uuid:4>", HttpResponse("text/html", "<p>Second page, chunked.</p>", chunked: true)),
        };
        var f = dir.File(gz ? "crawl.warc.gz" : "crawl.warc");
        using (var fs = System.IO.File.Create(f))
            foreach (var r in records)
            {
                if (!gz) { fs.Write(r); continue; }
                using var z = new GZipStream(fs, CompressionLevel.Fastest, leaveOpen: true); // one gzip member per record
                z.Write(r);
            }
        var docs = DocumentReaders.ReadFile(f).ToList();
        Assert.Equal(2, docs.Count);
        Assert.Equal("http://a.org/", docs[0].Url);
        Assert.Equal("<urn:uuid:2>", docs[0].Id);
        Assert.Contains("Héllo page one.", docs[0].Text);
        Assert.Equal("text/html", docs[0].Metadata["content_type"]);
        Assert.Equal("<p>Second page, chunked.</p>", docs[1].Text);
    }

    [Fact]
    public void Warc_BadVersionLine_NamesRecord()
    {
        using var dir = new TempDir();
        var f = dir.File("bad.warc");
        System.IO.File.WriteAllBytes(f, [.. WarcRecord("response", "http://a.org/", "<1>", HttpResponse("text/html", "<p>x</p>")), .. "GARBAGE\r\n"u8.ToArray()]);
        var e = Assert.Throws<InvalidDataException>(() => DocumentReaders.ReadFile(f).ToList());
        Assert.Contains($"{f}: record 2", e.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(37)]
    [InlineData(100000)]
    public void ByteRanges_CoverEveryLineOnce(long split)
    {
        using var dir = new TempDir();
        var f = dir.File("big.jsonl");
        // Lines of varying length, one blank line in the middle.
        var lines = Enumerable.Range(0, 60).Select(i => i == 30 ? "" : $"{{\"id\":\"{i}\",\"text\":\"{new string('x', i % 9)}\"}}");
        System.IO.File.WriteAllText(f, string.Join("\n", lines) + "\n");
        var units = DocumentReaders.ListUnits([f], split);
        long len = new FileInfo(f).Length;
        Assert.Equal(split >= len ? 1 : (int)((len + split - 1) / split), units.Count);
        var ids = DocumentReaders.Read(units).Select(d => d.Id).ToList();
        Assert.Equal(Enumerable.Range(0, 60).Where(i => i != 30).Select(i => $"{i}"), ids);
    }

    [Fact]
    public void Folders_ReadInOrdinalOrder_TextAndHtml()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("sub"));
        System.IO.File.WriteAllText(dir.File("b.txt"), "bee");
        System.IO.File.WriteAllText(dir.File("a.html"), "<p>ay</p>");
        System.IO.File.WriteAllText(dir.File("sub/c.txt"), "sea");
        System.IO.File.WriteAllText(dir.File("ignored.bin"), "x");
        var docs = DocumentReaders.Read([dir.Path]).ToList();
        Assert.Equal(["<p>ay</p>", "bee", "sea"], docs.Select(d => d.Text));
        Assert.Equal("text/html", docs[0].Metadata["content_type"]);
        Assert.False(docs[1].Metadata.ContainsKey("content_type"));
    }
}
