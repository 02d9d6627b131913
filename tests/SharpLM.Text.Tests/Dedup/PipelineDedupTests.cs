// The dedup steps inside the data-pipeline runner (`sharplm data run`): configured by name from the step
// catalog, they keep exactly the documents `sharplm data dedup` keeps on the same input, for any thread count,
// and removed near-duplicates carry their cluster.
using System.IO.Compression;
using System.Text.Json;
using SharpLM.Text.Data;
using SharpLM.Text.Data.Dedup;
using SharpLM.Text.Data.Pipeline;

namespace SharpLM.Text.Tests.Dedup;

public sealed class PipelineDedupTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"sharplm-pdedup-{Guid.NewGuid():N}");

    public PipelineDedupTests() => Directory.CreateDirectory(_dir);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private List<Document> Corpus()
    {
        var rng = new Random(31);
        var docs = new List<Document>();
        for (int i = 0; i < 300; i++)
        {
            int kind = rng.Next(10);
            if (kind == 0 && docs.Count > 0) { var s = docs[rng.Next(docs.Count)]; docs.Add(new Document { Id = $"e{i}", Text = s.Text, Url = $"https://m.org/{i}" }); continue; }
            if (kind == 1 && docs.Count > 0) { var s = docs[rng.Next(docs.Count)]; docs.Add(new Document { Id = $"u{i}", Text = $"other {i}", Url = s.Url + "?utm_source=x" }); continue; }
            if (kind == 2 && docs.Count > 0)
            {
                var s = docs[rng.Next(docs.Count)];
                docs.Add(new Document { Id = $"n{i}", Text = string.Join(' ', NearDupGen.Mutate(rng, s.Text.Split(' '), 0.01)), Url = $"https://n.org/{i}" });
                continue;
            }
            string body = string.Join(' ', NearDupGen.Words(rng, 60 + rng.Next(100)));
            docs.Add(new Document { Id = $"d{i}", Text = rng.Next(3) == 0 ? $"Menu | Home | About\n{body}\nFooter text here" : body, Url = $"https://site.com/{i}" });
        }
        return docs;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void RunnerKeepsWhatTheDedupJobKeeps(int threads)
    {
        var docs = Corpus();
        string input = Path.Combine(_dir, "in.jsonl");
        using (var sink = new JsonlSink(input)) { foreach (var d in docs) sink.Write(d); sink.Complete(); }

        DedupJob.Run(input, Path.Combine(_dir, "job"), new DedupJobOptions { Exact = true, Url = true, Lines = true, MinHash = true, Threads = threads });
        var jobKept = DocumentJsonl.Read(Path.Combine(_dir, "job", "docs.jsonl")).Select(d => d.Id).ToList();

        var items = PipelineConfig.FromNames("exact_dedup,url_dedup,line_dedup,minhash_dedup").Build(StepCatalog.Default());
        string outDir = Path.Combine(_dir, $"run{threads}");
        new PipelineRunner(items, new PipelineRunOptions { Threads = threads, BatchSize = 37, CompressOutput = false }).Run(DocumentJsonl.Read(input), outDir);
        var runKept = DocumentJsonl.Read(Path.Combine(outDir, "documents.jsonl")).Select(d => d.Id).ToList();

        Assert.Equal(jobKept, runKept);
        Assert.True(jobKept.Count < docs.Count - 40, $"{docs.Count} → {jobKept.Count}");

        using var gz = new GZipStream(File.OpenRead(Path.Combine(outDir, "removed", "minhash_dedup.jsonl.gz")), CompressionMode.Decompress);
        var first = JsonDocument.Parse(new StreamReader(gz).ReadLine()!).RootElement;
        string id = first.GetProperty("id").GetString()!;
        Assert.StartsWith("n", id);
        Assert.False(string.IsNullOrEmpty(first.GetProperty("metadata").GetProperty("cluster").GetString()));
    }
}
