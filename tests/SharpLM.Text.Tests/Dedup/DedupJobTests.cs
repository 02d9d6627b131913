// The whole dedup job over a small hand-made JSONL corpus: which documents survive each step, what the
// removed/<step>.jsonl, clusters.jsonl and stats.json files say, determinism across thread counts, gzip
// input and the bad-line policy.
using System.IO.Compression;
using System.Text.Json;
using SharpLM.Text.Data;
using SharpLM.Text.Data.Dedup;

namespace SharpLM.Text.Tests.Dedup;

public sealed class DedupJobTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"sharplm-dedup-{Guid.NewGuid():N}");

    public DedupJobTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Line(string id, string text, string? url = null) =>
        JsonSerializer.Serialize(url is null ? new Dictionary<string, string> { ["id"] = id, ["text"] = text } : new Dictionary<string, string> { ["id"] = id, ["text"] = text, ["url"] = url });

    private string WriteCorpus(out string[] expectedKept)
    {
        var rng = new Random(21);
        string Para(int n) => string.Join(' ', NearDupGen.Words(rng, n));
        string menu = "Home | Blog | Shop | Contact", footer = "© 2025 Example Ltd. Terms and privacy.";
        var a = Para(120);
        var b = Para(120);
        var c = Para(120);
        var cNear = string.Join(' ', NearDupGen.Mutate(new Random(4), c.Split(' '), 0.01));
        var lines = new[]
        {
            Line("a", $"{menu}\n{a}\n{footer}", "https://site.com/a"),
            Line("b", $"{menu}\n{b}\n{footer}", "https://site.com/b"),
            Line("a-copy", $"{menu}\n{a}\n{footer}", "https://mirror.com/a"),             // exact duplicate of a
            Line("b-url", "a different text entirely", "HTTPS://SITE.com:443/b/?utm_campaign=x#top"), // URL duplicate of b
            Line("c", $"{menu}\n{c}\n{footer}", "https://site.com/c"),
            Line("only-boiler", $"{menu}\n{footer}", "https://site.com/empty"),          // nothing left after boilerplate
            Line("c-near", cNear, "https://other.com/c"),                                // near duplicate of c
            Line("d", Para(80), null),
        };
        expectedKept = ["a", "b", "c", "d"];
        string path = Path.Combine(_dir, "docs.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    private static List<JsonElement> ReadJsonl(string path) =>
        File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    [Fact]
    public void EveryStepRemovesWhatItShouldAndSaysWhy()
    {
        string input = WriteCorpus(out var expected);
        string outDir = Path.Combine(_dir, "out");
        var r = DedupJob.Run(input, outDir, new DedupJobOptions { Exact = true, Url = true, Lines = true, MinHash = true, LineMinDocuments = 3 });

        var kept = ReadJsonl(Path.Combine(outDir, "docs.jsonl"));
        Assert.Equal(expected, kept.Select(k => k.GetProperty("id").GetString()).ToArray());
        Assert.DoesNotContain("Home | Blog", kept[0].GetProperty("text").GetString());
        Assert.Equal(2, kept[0].GetProperty("metadata").GetProperty("boilerplate_lines_removed").GetInt32());

        var exact = ReadJsonl(Path.Combine(outDir, "removed", "exact_dedup.jsonl"));
        Assert.Equal("a-copy", Assert.Single(exact).GetProperty("id").GetString());
        Assert.Equal("a", exact[0].GetProperty("metadata").GetProperty("duplicate_of").GetString());
        Assert.Equal("exact_duplicate", exact[0].GetProperty("metadata").GetProperty("dedup_reason").GetString());

        var url = ReadJsonl(Path.Combine(outDir, "removed", "url_dedup.jsonl"));
        Assert.Equal("b-url", Assert.Single(url).GetProperty("id").GetString());

        var lines = ReadJsonl(Path.Combine(outDir, "removed", "line_dedup.jsonl"));
        Assert.Equal("only-boiler", Assert.Single(lines).GetProperty("id").GetString());

        var near = ReadJsonl(Path.Combine(outDir, "removed", "minhash_dedup.jsonl"));
        var nd = Assert.Single(near);
        Assert.Equal("c-near", nd.GetProperty("id").GetString());
        Assert.Equal("c", nd.GetProperty("metadata").GetProperty("cluster").GetString());
        Assert.True(nd.GetProperty("metadata").GetProperty("similarity").GetDouble() >= 0.7);

        var clusters = ReadJsonl(Path.Combine(outDir, "clusters.jsonl"));
        var cl = Assert.Single(clusters);
        Assert.Equal("c", cl.GetProperty("kept").GetString());
        Assert.Equal(["c-near"], cl.GetProperty("removed").EnumerateArray().Select(e => e.GetString()!).ToArray());

        var stats = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "stats.json"))).RootElement;
        Assert.Equal(8, stats.GetProperty("documents_in").GetInt32());
        Assert.Equal(4, stats.GetProperty("documents_out").GetInt32());
        var steps = stats.GetProperty("steps").EnumerateArray().Select(s => (s.GetProperty("step").GetString(), s.GetProperty("documents_in").GetInt32(), s.GetProperty("documents_out").GetInt32())).ToArray();
        Assert.Equal([("exact_dedup", 8, 7), ("url_dedup", 7, 6), ("line_dedup", 6, 5), ("minhash_dedup", 5, 4)], steps);
        Assert.Equal(4, r.DocsOut);
        Assert.False(Directory.Exists(Path.Combine(outDir, ".work")));
        Assert.Empty(Directory.GetFiles(outDir, "*.tmp-*", SearchOption.AllDirectories));
    }

    [Fact]
    public void StepsRunAloneOrInPartialChains()
    {
        string input = WriteCorpus(out _);
        string Ids(string dir) => string.Join(",", DocumentJsonl.Read(Path.Combine(dir, "docs.jsonl")).Select(d => d.Id));
        // MinHash without lines signs pass 1's survivors; the boilerplate menu/footer keep a/a-copy/c-near similar.
        DedupJob.Run(input, Path.Combine(_dir, "m"), new DedupJobOptions { Exact = true, MinHash = true });
        Assert.Equal("a,b,b-url,c,only-boiler,d", Ids(Path.Combine(_dir, "m")));
        Assert.False(File.Exists(Path.Combine(_dir, "m", "removed", "line_dedup.jsonl")));
        DedupJob.Run(input, Path.Combine(_dir, "l"), new DedupJobOptions { Lines = true });
        Assert.Equal("a,b,a-copy,b-url,c,c-near,d", Ids(Path.Combine(_dir, "l")));
        DedupJob.Run(input, Path.Combine(_dir, "u"), new DedupJobOptions { Url = true });
        Assert.Equal("a,b,a-copy,c,only-boiler,c-near,d", Ids(Path.Combine(_dir, "u")));
        Assert.False(Directory.Exists(Path.Combine(_dir, "m", ".work")));
    }

    [Fact]
    public void OutputIsIdenticalAcrossThreadCountsAndGzipInput()
    {
        string input = WriteCorpus(out _);
        string gz = Path.Combine(_dir, "docs.jsonl.gz");
        using (var fs = File.Create(gz))
        using (var z = new GZipStream(fs, CompressionLevel.Fastest))
            z.Write(File.ReadAllBytes(input));
        var o = new DedupJobOptions { Exact = true, Url = true, Lines = true, MinHash = true };
        DedupJob.Run(input, Path.Combine(_dir, "t1"), o with { Threads = 1, BatchSize = 3 });
        DedupJob.Run(gz, Path.Combine(_dir, "t2"), o with { Threads = 2 });
        foreach (var f in new[] { "docs.jsonl", "clusters.jsonl", "removed/minhash_dedup.jsonl", "removed/exact_dedup.jsonl" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "t1", f)), File.ReadAllBytes(Path.Combine(_dir, "t2", f)));
    }

    [Fact]
    public void BadLinesFailWithFileAndLineOrAreSkipped()
    {
        string path = Path.Combine(_dir, "bad.jsonl");
        File.WriteAllLines(path, [Line("x", "fine"), "{\"id\": \"y\", \"text\": 5}", "not json", Line("z", "also fine")]);
        var e = Assert.Throws<InvalidDataException>(() => DedupJob.Run(path, Path.Combine(_dir, "o1"), new DedupJobOptions { Exact = true }));
        Assert.Contains("bad.jsonl:2", e.Message);
        Assert.Contains("'text' must be a string", e.Message);
        var r = DedupJob.Run(path, Path.Combine(_dir, "o2"), new DedupJobOptions { Exact = true, SkipBadLines = true });
        Assert.Equal(2, r.BadLines);
        Assert.Equal(2, r.DocsOut);
    }

    [Fact]
    public void JsonlRoundTripKeepsFieldsAndDerivesMissingIds()
    {
        string path = Path.Combine(_dir, "in.jsonl");
        File.WriteAllLines(path, ["{\"text\":\"héllo \\\"q\\\"\",\"url\":\"u\",\"lang\":\"fr\",\"metadata\":{\"score\":0.5}}", "{\"id\":7,\"text\":\"x\"}"]);
        var docs = DocumentJsonl.Read(path).ToList();
        Assert.Equal("in.jsonl:1", docs[0].Id);
        Assert.Equal("7", docs[1].Id);
        Assert.Equal("héllo \"q\"", docs[0].Text);
        string outPath = Path.Combine(_dir, "out.jsonl");
        using (var s = new JsonlSink(outPath)) { foreach (var d in docs) s.Write(d); s.Complete(); }
        var back = DocumentJsonl.Read(outPath).ToList();
        Assert.Equal(docs.Select(d => (d.Id, d.Text, d.Url)), back.Select(d => (d.Id, d.Text, d.Url)));
        Assert.Equal("fr", back[0].Metadata["lang"]); // one codec (DocumentJson): metadata scalars come back typed
        Assert.Equal(0.5, back[0].Metadata["score"]);
        Assert.Contains("héllo", File.ReadAllText(outPath)); // non-ASCII unescaped
    }
    [Fact]
    public void ReaderHandlesLongLinesCrlfBomAndMissingFinalNewline()
    {
        string big = new('x', 3_000_000); // longer than the 1 MiB read buffer
        string path = Path.Combine(_dir, "edge.jsonl");
        var bytes = new List<byte>([0xEF, 0xBB, 0xBF]);
        bytes.AddRange(System.Text.Encoding.UTF8.GetBytes($"{Line("a", "first")}\r\n\r\n{Line("b", big)}\n{Line("c", "last")}"));
        File.WriteAllBytes(path, [.. bytes]);
        foreach (int threads in new[] { 1, 2 })
        {
            var docs = DocumentJsonl.ReadBatches(path, 2, threads).SelectMany(b => b).ToList();
            Assert.Equal(["a", "b", "c"], docs.Select(d => d.Id).ToArray());
            Assert.Equal(big, docs[1].Text);
        }
    }

    [Fact]
    public void InvalidUtf8AndTruncatedGzipAreReportedWithTheirPlace()
    {
        string path = Path.Combine(_dir, "utf8.jsonl");
        var bytes = new List<byte>(System.Text.Encoding.UTF8.GetBytes(Line("a", "ok") + "\n{\"id\":\"b\",\"text\":\"bad "));
        bytes.AddRange([0xC3, 0x28]); // invalid 2-byte sequence
        bytes.AddRange(System.Text.Encoding.UTF8.GetBytes("\"}\n" + Line("c", "ok") + "\n"));
        File.WriteAllBytes(path, [.. bytes]);
        var e = Assert.Throws<InvalidDataException>(() => DocumentJsonl.Read(path).ToList());
        Assert.Contains("utf8.jsonl:2", e.Message);
        var bad = new List<string>();
        Assert.Equal(["a", "c"], DocumentJsonl.Read(path, skipBad: true, onBad: bad.Add).Select(d => d.Id).ToArray());
        Assert.Single(bad);

        string gz = Path.Combine(_dir, "cut.jsonl.gz");
        using (var ms = new MemoryStream())
        {
            using (var z = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
                for (int i = 0; i < 2000; i++) z.Write(System.Text.Encoding.UTF8.GetBytes(Line($"d{i}", $"document number {i} {Guid.NewGuid()}") + "\n"));
            File.WriteAllBytes(gz, ms.ToArray()[..(int)(ms.Length / 2)]);
        }
        var ge = Assert.ThrowsAny<Exception>(() => DocumentJsonl.Read(gz).ToList());
        Assert.Contains("cut.jsonl.gz", ge.Message);
    }
}
