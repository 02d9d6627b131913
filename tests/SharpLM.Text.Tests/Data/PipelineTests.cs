// The pipeline runner: same output for 1 and 2 threads, removed/<step> files and the funnel counts worked out
// by hand, multi-pass stages over an intermediate file, resuming after a crash, and the config parser.
using SharpLM.Text.Data;
using SharpLM.Text.Data.Pipeline;
using SharpLM.Text.Data.Readers;

namespace SharpLM.Text.Tests.Data;

public class PipelineTests
{
    private sealed class DropIfContains(string name, string needle) : IParallelSafeFilter
    {
        public string Name => name;
        public FilterVerdict Apply(Document d) => d.Text.Contains(needle) ? FilterVerdict.Drop($"{name}:has_{needle}") : FilterVerdict.Kept;
    }

    private sealed class Upper : IParallelSafeFilter
    {
        public string Name => "upper";
        public FilterVerdict Apply(Document d) { d.Text = d.Text.ToUpperInvariant() + "!"; return FilterVerdict.Kept; }
    }

    // Sequential and stateful: keeps the first document with each text.
    private sealed class FirstOnly : IDocumentFilter
    {
        private readonly HashSet<string> _seen = [];
        public string Name => "first_only";
        public FilterVerdict Apply(Document d) => _seen.Add(d.Text) ? FilterVerdict.Kept : FilterVerdict.Drop("first_only:seen");
    }

    // Multi-pass: counts texts over the whole input first, then drops texts seen more than once.
    private sealed class DropRepeated : IPipelineStage
    {
        public int Passes;
        public string Name => "drop_repeated";
        public IDocumentFilter Prepare(Func<IEnumerable<Document>> input, string workDir)
        {
            Passes++;
            var counts = new Dictionary<string, int>();
            foreach (var d in input()) counts[d.Text] = counts.GetValueOrDefault(d.Text) + 1;
            return new Apply(counts);
        }
        private sealed class Apply(Dictionary<string, int> c) : IDocumentFilter
        {
            public string Name => "drop_repeated";
            FilterVerdict IDocumentFilter.Apply(Document d) => c[d.Text] > 1 ? FilterVerdict.Drop("drop_repeated:repeated") : FilterVerdict.Kept;
        }
    }

    private static List<Document> Docs() =>
    [
        new() { Id = "0", Text = "apple" }, new() { Id = "1", Text = "bad apple" }, new() { Id = "2", Text = "cherry" },
        new() { Id = "3", Text = "apple" }, new() { Id = "4", Text = "date" }, new() { Id = "5", Text = "cherry" }, new() { Id = "6", Text = "elder" },
    ];

    [Theory]
    [InlineData(1, 256)]
    [InlineData(2, 2)]
    public void Funnel_Removed_AndOrder(int threads, int batch)
    {
        using var dir = new TempDir();
        var items = new List<PipelineItem> { PipelineItem.Of(new DropIfContains("no_bad", "bad")), PipelineItem.Of(new Upper()), PipelineItem.Of(new FirstOnly()) };
        var stats = new PipelineRunner(items, new() { Threads = threads, BatchSize = batch }).Run(Docs(), dir.Path);
        var kept = DocumentReaders.ReadFile(dir.File("documents.jsonl.gz")).ToList();
        Assert.Equal(["APPLE!", "CHERRY!", "DATE!", "ELDER!"], kept.Select(d => d.Text));
        Assert.Equal(["0", "2", "4", "6"], kept.Select(d => d.Id));
        // no_bad: 7 in (5+9+6+5+4+6+5 = 40 bytes), 6 out (31 bytes); upper adds "!" to each: 37; first_only drops
        // the 2nd apple and cherry: APPLE! CHERRY! DATE! ELDER! = 6+7+5+6 = 24 bytes.
        Assert.Equal((7L, 6L, 40L, 31L), (stats.Steps[0].DocsIn, stats.Steps[0].DocsOut, stats.Steps[0].BytesIn, stats.Steps[0].BytesOut));
        Assert.Equal((6L, 6L, 31L, 37L), (stats.Steps[1].DocsIn, stats.Steps[1].DocsOut, stats.Steps[1].BytesIn, stats.Steps[1].BytesOut));
        Assert.Equal((6L, 4L, 37L, 24L), (stats.Steps[2].DocsIn, stats.Steps[2].DocsOut, stats.Steps[2].BytesIn, stats.Steps[2].BytesOut));
        Assert.Equal(2, stats.Steps[2].Removed["first_only:seen"]);
        Assert.Equal((7L, 40L, 4L, 24L), (stats.DocsIn, stats.BytesIn, stats.DocsOut, stats.BytesOut));
        var removed = DocumentReaders.ReadFile(dir.File("removed/no_bad.jsonl.gz")).Single();
        Assert.Equal(("1", "no_bad:has_bad"), (removed.Id, removed.Metadata["removed_by"]));
        Assert.Equal(["3", "5"], DocumentReaders.ReadFile(dir.File("removed/first_only.jsonl.gz")).Select(d => d.Id));
        Assert.Equal(stats.DocsOut, PipelineStats.Load(dir.File("stats.json")).DocsOut);
    }

    [Fact]
    public void MultiPassStage_SeesWholeInput_AndResumeSkipsFinishedSegments()
    {
        using var dir = new TempDir();
        var stage = new DropRepeated();
        var items = new List<PipelineItem> { PipelineItem.Of(new DropIfContains("no_bad", "bad")), PipelineItem.Of(stage), PipelineItem.Of(new Upper()) };
        var opts = new PipelineRunOptions { Threads = 2, BatchSize = 3, Fingerprint = "x" };
        var stats = new PipelineRunner(items, opts).Run(Docs(), dir.Path);
        Assert.Equal(["DATE!", "ELDER!"], DocumentReaders.ReadFile(dir.File("documents.jsonl.gz")).Select(d => d.Text));
        Assert.Equal(["no_bad", "drop_repeated", "upper"], stats.Steps.Select(s => s.Name));
        Assert.Equal((6L, 2L), (stats.Steps[1].DocsIn, stats.Steps[1].DocsOut));
        Assert.Equal(1, stage.Passes);

        // Relaunch after the output of the last segment was lost: segment 0 is reused (its input is not read again).
        File.Delete(dir.File("documents.jsonl.gz"));
        var again = new PipelineRunner(items, opts).Run(ThrowingInput(), dir.Path);
        Assert.Equal(["DATE!", "ELDER!"], DocumentReaders.ReadFile(dir.File("documents.jsonl.gz")).Select(d => d.Text));
        Assert.Equal(7, again.DocsIn);
        Assert.Equal(2, stage.Passes);
        // A different fingerprint (input or config changed) reruns from the start.
        Assert.Throws<InvalidOperationException>(() => new PipelineRunner(items, opts with { Fingerprint = "y" }).Run(ThrowingInput(), dir.Path));
    }

    private static IEnumerable<Document> ThrowingInput()
    {
        throw new InvalidOperationException("input must not be read");
#pragma warning disable CS0162
        yield break;
#pragma warning restore CS0162
    }

    [Fact]
    public void Config_YamlSubset_BuildsSteps()
    {
        using var dir = new TempDir();
        var f = dir.File("pipeline.yaml");
        File.WriteAllText(f, """
            # a comment
            threads: 2
            on_error: skip
            steps:
              - extract
              - langid: {languages: [en, de], threshold: 0.5}
              - gopher_quality:
                  min_words: 10
                  stop_words: [the, and]
              - gopher_repetition:
                  top_n_grams: {2: 0.3}
              - pii
            """);
        var cfg = PipelineConfig.Load(f);
        Assert.Equal(2, cfg.Threads);
        Assert.Equal("skip", cfg.OnError);
        Assert.Equal(["extract", "langid", "gopher_quality", "gopher_repetition", "pii"], cfg.Steps.Select(s => s.Name));
        var items = cfg.Build(StepCatalog.Default());
        Assert.Equal(5, items.Count);
        var gq = (SharpLM.Text.Data.Quality.GopherQualityFilter)items[2].Filter!;
        Assert.Equal("word_count", gq.Check("the and nine"));
        Assert.Null(gq.Check("the and apple pear plum fig kiwi lime lemon melon"));

        File.WriteAllText(f, "steps:\n  - gopher_quality: {min_wrods: 3}\n");
        var e = Assert.Throws<InvalidDataException>(() => PipelineConfig.Load(f).Build(StepCatalog.Default()));
        Assert.Contains("unknown option 'min_wrods'", e.Message);
        Assert.Throws<InvalidDataException>(() => PipelineConfig.FromNames("nope").Build(StepCatalog.Default()));
    }

    [Fact]
    public void ExampleConfig_LoadsWithEveryStep()
    {
        var cfg = PipelineConfig.Load(Path.Combine(AppContext.BaseDirectory, "Fixtures/Data/pipeline.example.yaml"));
        var items = cfg.Build(StepCatalog.Default());
        Assert.Equal(["extract", "url_dedup", "exact_dedup", "langid", "line_dedup", "minhash_dedup", "gopher_repetition", "gopher_quality", "c4", "fineweb", "bad_words", "pii"],
            items.Select(i => i.Name));
        Assert.NotNull(items[4].Stage);
        Assert.NotNull(items[5].Stage);
    }

    [Fact]
    public void MiniYaml_Shapes()
    {
        var v = (Dictionary<string, object?>)MiniYaml.Parse("a: 1\nb:\n  - x\n  - {k: 'v w', l: [1, 2]}\nc: \"q # not comment\" # comment\nd:\n")!;
        Assert.Equal("1", v["a"]);
        var b = (List<object?>)v["b"]!;
        Assert.Equal("x", b[0]);
        var m = (Dictionary<string, object?>)b[1]!;
        Assert.Equal("v w", m["k"]);
        Assert.Equal(["1", "2"], ((List<object?>)m["l"]!).Cast<string>());
        Assert.Equal("q # not comment", v["c"]);
        Assert.Null(v["d"]);
        Assert.Throws<InvalidDataException>(() => MiniYaml.Parse("a: [1, 2"));
    }

    // The input is read ahead on another thread: an input error must still surface from Run (nothing committed), and
    // an error in a step must stop the reader and close its source before Run returns.
    private sealed class Tracked(int throwAt)
    {
        public bool Closed;
        public int Read;
        public IEnumerable<Document> Docs()
        {
            try
            {
                for (int i = 0; i < 100_000; i++)
                {
                    if (i == throwAt) throw new InvalidDataException($"input.jsonl:{i + 1}: broken line");
                    Read++;
                    yield return new Document { Id = $"{i}", Text = i == 700 ? "boom" : $"text {i}" };
                }
            }
            finally { Closed = true; }
        }
    }

    private sealed class Boom : IParallelSafeFilter
    {
        public string Name => "boom";
        public FilterVerdict Apply(Document d) => d.Text == "boom" ? throw new InvalidOperationException("step failed") : FilterVerdict.Kept;
    }

    [Fact]
    public void ReadAheadSurfacesInputErrorsAndStopsTheReaderWhenAStepFails()
    {
        using var dir = new TempDir();
        var src = new Tracked(throwAt: 500);
        var e = Assert.Throws<InvalidDataException>(() => new PipelineRunner([PipelineItem.Of(new Upper())], new() { Threads = 2, BatchSize = 64 }).Run(src.Docs(), dir.Path));
        Assert.Equal("input.jsonl:501: broken line", e.Message);
        Assert.False(File.Exists(dir.File("documents.jsonl.gz")));

        var src2 = new Tracked(throwAt: -1);
        var boom = Assert.Throws<InvalidOperationException>(() => new PipelineRunner([PipelineItem.Of(new Boom())], new() { Threads = 2, BatchSize = 64 }).Run(src2.Docs(), Path.Combine(dir.Path, "b")));
        Assert.Equal("step failed", boom.Message); // the step's own exception, not an AggregateException around it
        Assert.True(src2.Closed);
        Assert.True(src2.Read < 2000, $"the reader went on to document {src2.Read}");
    }
}
