// `sharplm bench data`: MB/s per core of the data pipeline's own stages on the labelled synthetic crawl held in
// memory: HTML extraction (MB of HTML), language ID, each quality rule, all rules + exact dedup (MB of extracted
// text), MinHash signatures (MB of extracted text), and the whole chain through the pipeline runner (extract → URL/exact dedup → langid → Gopher repetition
// and quality → C4 → FineWeb → bad words → PII, writing gzip JSONL) in MB of HTML; on 1 and 2 threads.
// "Per core" is MB per CPU-second of this process (all its threads, GC and JIT included), medians over repeats:
// on a shared machine (load far above the core count) wall-clock MB/s measures the neighbours, CPU time measures us.
// The wall-clock figure is kept in each row's note. Baseline, measured in the same run and the same way: a plain
// UTF-8 decode of the same HTML bytes (Encoding.UTF8.GetString); ratio = value ÷ baseline. Issue targets: extraction ≥ 5 MB/s per core; rule filters + exact
// dedup ≥ 25 MB/s per core; MinHash signatures ≥ 20 MB/s per core. The anchors' published figures (datatrove/FineWeb's trafilatura-dominated chain under
// 1 MB/s per core; Dolma's C4 replication about 2.3 MB/s per core) are printed as notes: datatrove itself cannot
// be installed here (Python packages are not reachable), so it is not measured side by side. The perplexity step
// (a small SharpLM model scoring documents) is measured in tokens and documents per CPU-second against the FMA peak.
using System.CommandLine;
using System.Text;
using SharpLM.Cli.Commands;
using SharpLM.Models.Config;
using SharpLM.Models.Inference;
using SharpLM.Text.Data;
using SharpLM.Text.Data.Dedup;
using SharpLM.Text.Data.Extraction;
using SharpLM.Text.Data.Pipeline;
using SharpLM.Text.Data.Quality;
using SharpLM.Text.Data.Synthetic;

namespace SharpLM.Cli.Bench;

internal static class DataBench
{
    /// <summary>The `sharplm bench` subcommands this file owns.</summary>
    public static IEnumerable<Command> Create()
    {
        var pages = new Option<int>("--pages") { Description = "Synthetic crawl pages (about 2.6 KB of HTML each).", DefaultValueFactory = _ => 3000 };
        var json = BenchCommands.JsonOption();
        var maxThreads = new Option<int>("--max-threads") { Description = "Largest thread count measured (0 = one per core).", DefaultValueFactory = _ => 0 };
        var only = new Option<string?>("--only") { Description = "Measure only these groups (comma-separated): extract, rules (each rule alone), exact (rules + exact dedup), minhash, chain, perplexity." };
        var cmd = new Command("data", "MB/s per core of HTML extraction, language ID, quality rules, rules + exact dedup and the whole pipeline chain, against a UTF-8 decode of the same bytes.");
        cmd.Options.Add(pages); cmd.Options.Add(json); cmd.Options.Add(maxThreads); cmd.Options.Add(only);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var report = new BenchReport(pr.GetValue(json));
            int mt = pr.GetValue(maxThreads);
            var groups = pr.GetValue(only)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            string[] known = ["extract", "rules", "exact", "minhash", "chain", "perplexity"];
            if (groups?.FirstOrDefault(g => !known.Contains(g)) is { } unknown)
                throw new UserFacingException($"--only: unknown group '{unknown}' (expected a comma-separated list of {string.Join(", ", known)})");
            Run(report, pr.GetValue(pages), mt <= 0 ? Environment.ProcessorCount : mt, g => groups is null || groups.Contains(g));
            report.Flush("sharplm bench data (MB/s per core; baseline: UTF-8 decode of the same HTML, 1 thread)");
            return 0;
        }));
        return [cmd];
    }

    private static void Run(BenchReport report, int n, int maxThreads, Func<string, bool> on)
    {
        var crawl = new CrawlGenerator(new CrawlOptions(n, 1)).Pages().ToList();
        var html = crawl.Select(p => p.Html).ToArray();
        var htmlBytes = html.Select(h => Encoding.UTF8.GetBytes(h)).ToArray();
        double htmlMB = htmlBytes.Sum(b => (long)b.Length) / 1e6;
        var texts = html.Select(h => new HtmlExtractor().Extract(h)).ToArray();
        double textMB = texts.Sum(t => (long)Encoding.UTF8.GetByteCount(t)) / 1e6;

        // Baseline: decode every page's bytes once (one thread).
        long sink = 0;
        var (decodeWall, decodeCpu) = Measure(() => { foreach (var b in htmlBytes) sink += Encoding.UTF8.GetString(b).Length; }, repeats: 7);
        double baseline = htmlMB / decodeCpu;
        const string B = "utf8_decode";
        report.Add(new BenchRow("data", "baseline: UTF-8 decode", 1, baseline, "MB/cpu-s", Note: $"{n} pages, {htmlMB:F1} MB HTML, {textMB:F1} MB text; wall {htmlMB / decodeWall:F1} MB/s"));

        var threadCounts = maxThreads > 1 ? new[] { 1, maxThreads } : [1];
        var catalog = StepCatalog.Default();
        foreach (int t in on("extract") ? threadCounts : [])
        {
            var po = new ParallelOptions { MaxDegreeOfParallelism = t };
            var (w, c) = Measure(() => Parallel.For(0, html.Length, po, () => new HtmlExtractor(), (i, _, x) => { x.Extract(html[i]); return x; }, _ => { }), repeats: 3);
            report.Add(new BenchRow("data", "extract (HTML→text)", t, htmlMB / c, "MB/cpu-s", B, baseline, $"target ≥ 5 MB/s per core; wall {htmlMB / w:F2} MB/s"));
        }

        // Each rule alone, one thread, over the extracted text.
        string[] rules = ["langid", "gopher_repetition", "gopher_quality", "c4", "fineweb", "bad_words", "pii"];
        foreach (var name in on("rules") ? rules : [])
        {
            var f = catalog.Create(name, null).Filter!;
            var (w, c) = Measure(() => ApplyAll(f, texts), repeats: 3);
            report.Add(new BenchRow("data", $"rule {name}", 1, textMB / c, "MB/cpu-s", B, baseline, $"wall {textMB / w:F2} MB/s"));
        }

        // All rule filters + exact dedup (the issue's "rule filters + exact dedup" figure).
        string[] chain = ["gopher_repetition", "gopher_quality", "c4", "fineweb", "bad_words"];
        foreach (int t in on("exact") ? threadCounts : [])
        {
            var filters = chain.Select(name => catalog.Create(name, null).Filter!).ToArray();
            var (w, c) = Measure(() => RulesAndExact(filters, texts, t), repeats: 3);
            report.Add(new BenchRow("data", "rules + exact dedup", t, textMB / c, "MB/cpu-s", B, baseline, $"target ≥ 25 MB/s per core; wall {textMB / w:F2} MB/s"));
        }

        // MinHash signatures (5-word shingles, 14 bands x 8 rows by default) over the extracted texts, the first
        // stage of near-duplicate removal (`sharplm bench dedup` breaks the rest of dedup down).
        foreach (int t in on("minhash") ? threadCounts : [])
        {
            var hasher = new MinHasher(new MinHashOptions());
            var sigs = new ulong[(long)texts.Length * hasher.NumHashes];
            var has = new bool[texts.Length];
            var (w, c) = Measure(() => MinHashIndex.ComputeSignatures(hasher, texts, sigs, has, t), repeats: 3);
            report.Add(new BenchRow("data", "minhash signatures", t, textMB / c, "MB/cpu-s", B, baseline, $"target ≥ 20 MB/s per core; wall {textMB / w:F2} MB/s"));
        }

        // The whole chain through the runner, in-memory input, gzip output to a temp folder.
        var steps = PipelineConfig.FromNames("extract,url_dedup,exact_dedup,langid,gopher_repetition,gopher_quality,c4,fineweb,bad_words,pii");
        var tmp = Directory.CreateTempSubdirectory("sharplm-bench-data-").FullName;
        try
        {
            foreach (int t in on("chain") ? threadCounts : [])
            {
                var (w, c) = Measure(() =>
                {
                    var docs = crawl.Select(p => { var d = new Document { Id = p.Id, Text = p.Html, Url = p.Url }; d.Metadata["content_type"] = "text/html"; return d; });
                    // A fresh folder each time: the runner would otherwise resume the finished run.
                    new PipelineRunner(steps.Build(catalog), new PipelineRunOptions { Threads = t, WriteRemoved = true }).Run(docs, Path.Combine(tmp, Guid.NewGuid().ToString("N")));
                }, repeats: 3);
                report.Add(new BenchRow("data", "whole chain (HTML in, JSONL.gz out)", t, htmlMB / c, "MB/cpu-s", B, baseline,
                    $"published anchors: FineWeb/datatrove < 1, Dolma C4 ≈ 2.3 MB/s per core; wall {htmlMB / w:F2} MB/s"));
            }
        }
        finally { Directory.Delete(tmp, true); }
        if (on("perplexity")) Perplexity(report, texts, threadCounts);
        GC.KeepAlive(sink);
    }

    // The perplexity step: a Llama-style reference model of depth 4 (width 256, context 512, random weights: the
    // cost does not depend on the values) with a 2048-token BPE vocabulary trained on the crawl's text, scoring
    // the first 400 extracted documents through PerplexityFilter.ApplyBatch as the runner calls it. Tokens (and
    // documents) per CPU-second; baseline: the tokens per CPU-second the machine's FMA peak would allow at the
    // model's forward FLOPs per token (2·N + 4·L·T·C at the mean window length), so the ratio is the MFU.
    private static void Perplexity(BenchReport report, string[] texts, int[] threadCounts)
    {
        var docsText = texts.Where(t => t.Length > 0).Take(400).ToArray();
        var tok = SharpLM.Text.Tokenization.BpeTokenizer.Train(docsText, 2048, ["<|endoftext|>"]);
        var cfg = ModelConfig.FromDepth(4, ModelStyle.Llama, tok.VocabSize, contextLength: 512);
        using var model = new InferenceModel(cfg, new RandomSource(1), WeightFormat.F32);
        using var scorer = new ModelPerplexityScorer(model, tok);
        long tokens = 0, windows = 0;
        foreach (var t in docsText) { int n = scorer.Tokens(t).Length - 1; tokens += n; windows += (n + 511) / 512; }
        double meanCtx = (double)tokens / Math.Max(1, windows) / 2; // mean attended length over a window's positions
        double flopsPerToken = cfg.TrainingFlopsPerToken((int)Math.Round(meanCtx)) / 3;
        double peak = MachinePeak.FmaGflopsPerCpuSecond(1) * 1e9 / flopsPerToken;
        var filter = new PerplexityFilter(scorer, new PerplexityFilterOptions());
        var verdicts = new FilterVerdict[docsText.Length];
        int prev = SharpLM.Tensors.Threading.WorkerPool.Threads;
        try
        {
            foreach (int t in threadCounts)
            {
                SharpLM.Tensors.Threading.WorkerPool.Threads = t;
                var (w, c) = Measure(() => filter.ApplyBatch(docsText.Select((x, i) => new Document { Id = "d", Text = x }).ToList(), verdicts, t), repeats: 3);
                string note = $"{cfg.ParameterCount() / 1e6:F1}M-parameter llama, context 512, vocab {tok.VocabSize}; {docsText.Length} docs, {tokens} tokens; wall {tokens / w:F0} tok/s, {docsText.Length / w:F1} docs/s";
                report.Add(new BenchRow("data", "perplexity (tokens)", t, tokens / c, "tok/cpu-s", "fma_peak", peak, note));
                report.Add(new BenchRow("data", "perplexity (documents)", t, docsText.Length / c, "docs/cpu-s", "fma_peak", peak * docsText.Length / tokens, "baseline: documents of this mean length at the FMA peak"));
            }
        }
        finally { SharpLM.Tensors.Threading.WorkerPool.Threads = prev; }
    }

    /// <summary>Median wall seconds and median process CPU seconds of <paramref name="body"/>, after warm-up runs.</summary>
    private static (double Wall, double Cpu) Measure(Action body, int repeats)
    {
        // Warm up for at least two runs, a second and a half and three seconds of this process's CPU time: the JIT promotes
        // methods to optimised code only after they have been called a while and its background compiler has had CPU
        // time (on a loaded machine wall time alone leaves the first case on unoptimised code), and until then the
        // figures are low.
        var warm = System.Diagnostics.Stopwatch.StartNew();
        var cpu0 = Environment.CpuUsage.TotalTime;
        for (int i = 0; i < 50 && (i < 2 || warm.Elapsed.TotalSeconds < 1.5 || (Environment.CpuUsage.TotalTime - cpu0).TotalSeconds < 3.0) && warm.Elapsed.TotalSeconds < 60; i++) body();
        var wall = new double[repeats];
        var cpu = new double[repeats];
        var proc = System.Diagnostics.Process.GetCurrentProcess();
        for (int i = 0; i < repeats; i++)
        {
            proc.Refresh();
            var c0 = proc.TotalProcessorTime;
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            body();
            wall[i] = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;
            proc.Refresh();
            cpu[i] = (proc.TotalProcessorTime - c0).TotalSeconds;
        }
        Array.Sort(wall); Array.Sort(cpu);
        return (wall[repeats / 2], Math.Max(cpu[repeats / 2], 1e-6));
    }

    private static void ApplyAll(IDocumentFilter f, string[] texts)
    {
        foreach (var t in texts) f.Apply(new Document { Id = "x", Text = t });
    }

    // The rule filters on every text in parallel (each document through the whole chain on one thread), then exact
    // dedup of all texts as the pipeline runs it: hashed in parallel, the sharded index filled in parallel.
    private static void RulesAndExact(IDocumentFilter[] filters, string[] texts, int threads)
    {
        var docs = new Document[texts.Length];
        var keep = new bool[texts.Length];
        int chunk = Math.Max(16, texts.Length / (threads * 8));
        Parallel.For(0, (texts.Length + chunk - 1) / chunk, new ParallelOptions { MaxDegreeOfParallelism = threads }, c =>
        {
            for (int i = c * chunk; i < Math.Min(texts.Length, (c + 1) * chunk); i++)
            {
                var d = docs[i] = new Document { Id = "x", Text = texts[i] };
                keep[i] = true;
                foreach (var f in filters) if (!f.Apply(d).Keep) { keep[i] = false; break; }
            }
        });
        new ExactDedup().ApplyBatch(docs, new FilterVerdict[docs.Length], threads);
    }
}
