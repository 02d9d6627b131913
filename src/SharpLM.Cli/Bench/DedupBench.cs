// `sharplm bench dedup`: MB/s per core of the dedup steps on a generated corpus held in memory (so the
// figures are the steps', not the disk's or the JSON parser's): exact hashing (XXH3-64 of each text, plain
// and whitespace-normalised), MinHash signatures (14 × 8 by default), boilerplate line counting + stripping,
// URL normalisation, and the whole in-memory dedup (exact → URL → lines → MinHash-LSH clustering); one and
// two threads where the step is parallel; plus the whole `data dedup` job over a JSONL file on disk.
// Baseline, measured in the same run on the same texts: a plain pass over the bytes — copying every text's
// UTF-16 chars into a buffer — in MB/s per core; ratio = value ÷ baseline. Issue targets for reference:
// MinHash signatures ≥ 20 MB/s per core; rule filters + exact dedup ≥ 25 MB/s per core. Each row's note also gives
// MB per CPU-second of the process, which stays meaningful when other jobs share the cores.
// Not here: extraction and rule filters (their owners' bench verbs).
using System.CommandLine;
using System.Diagnostics;
using System.Text;
using SharpLM.Cli.Commands;
using SharpLM.Text.Data;
using SharpLM.Text.Data.Dedup;

namespace SharpLM.Cli.Bench;

internal static class DedupBench
{
    /// <summary>The `sharplm bench` subcommands this file owns.</summary>
    public static IEnumerable<Command> Create()
    {
        var docs = new Option<int>("--docs") { Description = "Generated documents (about 2.5 KB each).", DefaultValueFactory = _ => 20_000 };
        var json = BenchCommands.JsonOption();
        var maxThreads = new Option<int>("--max-threads") { Description = "1: measure one thread only; 2 (or 0): one and two threads.", DefaultValueFactory = _ => 2 };
        var cmd = new Command("dedup", "MB/s per core of exact hashing, MinHash signatures, boilerplate lines and whole deduplication, against a plain pass over the same bytes.");
        cmd.Options.Add(docs);
        cmd.Options.Add(json);
        cmd.Options.Add(maxThreads);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var report = new BenchReport(pr.GetValue(json));
            int mt = pr.GetValue(maxThreads);
            Run(report, pr.GetValue(docs), mt <= 0 ? 2 : mt);
            report.Flush("sharplm bench dedup (MB/s per core; baseline: copy of the same text)");
            return 0;
        }));
        return [cmd];
    }

    /// <summary>Synthetic corpus: Zipf-distributed pseudo-words in lines, a shared menu and footer on half the
    /// pages, 5% exact copies and 10% near copies (about 2% of words replaced).</summary>
    public static List<Document> Corpus(int n, int seed = 1)
    {
        var rng = new Random(seed);
        string[] syl = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "si", "pe", "da", "gu", "fi", "zo", "be", "xa", "we", "an", "or", "el", "is"];
        var vocab = Enumerable.Range(0, 20000).Select(_ => string.Concat(Enumerable.Range(0, rng.Next(1, 5)).Select(_ => syl[rng.Next(syl.Length)]))).ToArray();
        string Word() => vocab[(int)(vocab.Length * Math.Pow(rng.NextDouble(), 3))]; // skewed towards frequent words
        var docs = new List<Document>(n);
        var sb = new StringBuilder();
        for (int i = 0; i < n; i++)
        {
            if (i > 20 && rng.NextDouble() < 0.05)
            {
                var src = docs[rng.Next(docs.Count)];
                docs.Add(new Document { Id = $"d{i}", Text = src.Text, Url = $"https://mirror{i % 7}.example.org/{i}" });
                continue;
            }
            if (i > 20 && rng.NextDouble() < 0.1)
            {
                var src = docs[rng.Next(docs.Count)].Text.Split(' ');
                for (int k = 0; k < src.Length / 50 + 1; k++) src[rng.Next(src.Length)] = Word();
                docs.Add(new Document { Id = $"d{i}", Text = string.Join(' ', src), Url = $"https://example.com/page/{i}?utm_source=feed" });
                continue;
            }
            sb.Clear();
            bool site = rng.Next(2) == 0;
            if (site) sb.Append("Home | News | Sport | Weather | Contact us\n");
            int lines = rng.Next(8, 30);
            for (int l = 0; l < lines; l++)
            {
                int words = rng.Next(6, 25);
                for (int w = 0; w < words; w++) { if (w > 0) sb.Append(' '); sb.Append(Word()); }
                sb.Append(rng.Next(4) == 0 ? ",\n" : ".\n");
            }
            if (site) sb.Append("Copyright 2025 Example Media Group. All rights reserved.\nAccept cookies");
            docs.Add(new Document { Id = $"d{i}", Text = sb.ToString(), Url = $"https://Example.com:443/page/{i}/" });
        }
        return docs;
    }

    private static void Run(BenchReport report, int n, int maxThreads)
    {
        var docs = Corpus(n);
        var texts = docs.Select(d => d.Text).ToList();
        double mb = texts.Sum(t => (double)Encoding.UTF8.GetByteCount(t)) / 1e6;
        var threadCounts = maxThreads >= 2 ? new[] { 1, 2 } : new[] { 1 };
        const string B = "copy of the text";
        var baseline = new Dictionary<int, double>();
        foreach (int t in threadCounts)
        {
            var bufs = Enumerable.Range(0, t).Select(_ => new char[texts.Max(x => x.Length)]).ToArray();
            double s = BenchTiming.MedianSeconds(() => ForDocs(n, t, (w, i) => texts[i].CopyTo(bufs[w])), repeats: 7, warmup: 2);
            baseline[t] = mb / s / t;
            report.Add(new BenchRow("dedup", "baseline: copy text", t, baseline[t], "MB/s/core"));
        }

        // Rows carry wall-clock MB/s per core (the contract) and, in the note, MB per CPU-second of the process,
        // which stays meaningful when other jobs share the cores.
        void Row(string name, int t, (double Wall, double Cpu) s, string? note = null) =>
            report.Add(new BenchRow("dedup", name, t, mb / s.Wall / t, "MB/s/core", B, baseline[t],
                $"{(s.Cpu > 0 ? mb / s.Cpu : 0):F1} MB per CPU-second" + (note is null ? "" : "; " + note)));
        static (double, double) M(Action body, int repeats, int warmup) => WallAndCpu(body, repeats, warmup);

        foreach (int t in threadCounts)
        {
            var sink = new ulong[n];
            Row("exact hash xxh3-64", t, M(() => ForDocs(n, t, (_, i) => sink[i] = TextHash.Hash64(texts[i])), 7, 2), "target (rule filters + exact) ≥ 25 MB/s/core");
            Row("exact hash, whitespace-normalised", t, M(() => ForDocs(n, t, (_, i) => sink[i] = (ulong)TextHash.Hash(texts[i], 64, true)), 7, 2));
        }
        var opts = new MinHashOptions();
        var hasher = new MinHasher(opts);
        var sigs = new ulong[(long)n * hasher.NumHashes];
        var has = new bool[n];
        foreach (int t in threadCounts)
            Row($"minhash signatures {opts.Bands}x{opts.Rows}", t, M(() => MinHashIndex.ComputeSignatures(hasher, texts, sigs, has, t), 5, 1), "target ≥ 20 MB/s/core");

        foreach (int t in threadCounts)
            Row("boilerplate lines: count + strip", t, M(() =>
            {
                var ld = new LineDedup(3, BoilerplateUnit.Line, 20);
                ld.ObserveAll(docs, t);
                ForDocs(n, t, (_, i) => ld.Strip(texts[i]));
            }, 5, 1));
        double urlSec = BenchTiming.MedianSeconds(() => { foreach (var d in docs) UrlNormalizer.Normalize(d.Url!); }, 7, 2);
        report.Add(new BenchRow("dedup", "url normalise", 1, n / urlSec / 1e6, "M urls/s"));

        foreach (int t in threadCounts)
            Row("whole dedup in memory (exact+url+lines+minhash)", t, M(() => WholeInMemory(docs, t), 3, 1));

        // The CLI job over a file: JSON parsing and writing included, one run (it writes files).
        string dir = Path.Combine(Path.GetTempPath(), $"sharplm-bench-dedup-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            string input = Path.Combine(dir, "docs.jsonl");
            using (var sink = new JsonlSink(input)) { foreach (var d in docs) sink.Write(d); sink.Complete(); }
            foreach (int t in threadCounts)
            {
                var job = WallAndCpu(() => DedupJob.Run(input, Path.Combine(dir, $"out{t}"), new DedupJobOptions { Exact = true, Url = true, Lines = true, MinHash = true, Threads = t, LineSketchLog2 = 20 }), 1, 0);
                Row("sharplm data dedup job (JSONL in/out)", t, job, "one run, includes file I/O");
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>The dedup chain over in-memory documents; returns the number kept.</summary>
    public static int WholeInMemory(List<Document> docs, int threads)
    {
        var exact = new ExactDedup();
        var url = new UrlDedup();
        var lines = new LineDedup(3, BoilerplateUnit.Line, 20);
        var kept = new List<Document>(docs.Count);
        foreach (var d0 in docs)
        {
            var d = new Document { Id = d0.Id, Text = d0.Text, Url = d0.Url };
            if (!exact.Apply(d).Keep || !url.Apply(d).Keep) continue;
            kept.Add(d);
        }
        lines.ObserveAll(kept, threads);
        var verdicts = new FilterVerdict[kept.Count];
        Parallel.For(0, kept.Count, new ParallelOptions { MaxDegreeOfParallelism = threads }, i => verdicts[i] = lines.Apply(kept[i]));
        var texts = new List<string>(kept.Count);
        for (int i = 0; i < kept.Count; i++) if (verdicts[i].Keep) texts.Add(kept[i].Text);
        var index = new MinHashIndex(new MinHashOptions());
        for (int s = 0; s < texts.Count; s += 4096) index.AddBatch(texts.GetRange(s, Math.Min(4096, texts.Count - s)), threads);
        var c = index.Cluster();
        return texts.Count - c.DuplicateCount;
    }

    /// <summary>Median wall seconds and median process CPU seconds of <paramref name="body"/>.</summary>
    private static (double Wall, double Cpu) WallAndCpu(Action body, int repeats, int warmup)
    {
        for (int i = 0; i < warmup; i++) body();
        var wall = new double[repeats];
        var cpu = new double[repeats];
        using var proc = Process.GetCurrentProcess();
        for (int i = 0; i < repeats; i++)
        {
            proc.Refresh();
            var c0 = proc.TotalProcessorTime;
            long t0 = Stopwatch.GetTimestamp();
            body();
            wall[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            proc.Refresh();
            cpu[i] = (proc.TotalProcessorTime - c0).TotalSeconds;
        }
        Array.Sort(wall);
        Array.Sort(cpu);
        return (wall[repeats / 2], cpu[repeats / 2]);
    }

    // Documents split into contiguous ranges, one per worker; body(worker, doc).
    private static void ForDocs(int n, int threads, Action<int, int> body)
    {
        if (threads == 1) { for (int i = 0; i < n; i++) body(0, i); return; }
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, w =>
        {
            int lo = (int)((long)n * w / threads), hi = (int)((long)n * (w + 1) / threads);
            for (int i = lo; i < hi; i++) body(w, i);
        });
    }
}
