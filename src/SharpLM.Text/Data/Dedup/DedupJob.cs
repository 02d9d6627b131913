// The whole deduplication of one JSONL file, as `sharplm data dedup` runs it: exact and URL dedup stream
// (pass 1, which also counts lines for boilerplate removal), then boilerplate lines are stripped (pass 2);
// MinHash signatures are computed in parallel batches of whatever the last of those passes keeps, clustered
// (MinHashDedup.Builder), and the survivors streamed once more to split kept documents from near-duplicates. Between
// passes the surviving documents sit in temporary JSONL files under <out>/.work, so memory holds only the
// dedup indexes (documented in ExactDedup, UrlDedup, LineDedup, MinHashLsh), never the corpus. JSON is
// parsed and written in ordered parallel batches; the dedup decisions are taken in input order.
// Outputs: <out>/docs.jsonl (kept), <out>/removed/<step>.jsonl (each removed document with metadata
// dedup_reason, duplicate_of, and for MinHash cluster + similarity), <out>/clusters.jsonl (one line per
// near-duplicate cluster: kept id, removed ids), <out>/stats.json (documents and bytes in and out per
// step, with each step's own seconds — parsing and writing excluded). Every file is written under a temporary
// name and renamed when complete.
// Deterministic: the same input and options give byte-identical outputs for any thread count.
// Not here: sharding across ranks, resuming a half-finished run (a rerun starts over).
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace SharpLM.Text.Data.Dedup;

/// <summary>Which dedup steps run and how.</summary>
public sealed record DedupJobOptions
{
    /// <summary>Exact content-hash dedup.</summary>
    public bool Exact { get; init; }
    /// <summary>Hash width of exact dedup (64 or 128).</summary>
    public int ExactBits { get; init; } = 64;
    /// <summary>Collapse whitespace before exact hashing.</summary>
    public bool NormalizeWhitespace { get; init; }
    /// <summary>Normalised-URL dedup.</summary>
    public bool Url { get; init; }
    /// <summary>Cross-document boilerplate line removal.</summary>
    public bool Lines { get; init; }
    /// <summary>Lines or paragraphs.</summary>
    public BoilerplateUnit LineUnit { get; init; } = BoilerplateUnit.Line;
    /// <summary>A line in at least this many documents is boilerplate.</summary>
    public int LineMinDocuments { get; init; } = 3;
    /// <summary>log2 of the count-min sketch width.</summary>
    public int LineSketchLog2 { get; init; } = 23;
    /// <summary>MinHash-LSH near-duplicate removal.</summary>
    public bool MinHash { get; init; }
    /// <summary>MinHash parameters.</summary>
    public MinHashOptions MinHashOptions { get; init; } = new();
    /// <summary>Worker threads for signatures (0 = all cores).</summary>
    public int Threads { get; init; }
    /// <summary>Documents per signature batch.</summary>
    public int BatchSize { get; init; } = 4096;
    /// <summary>Skip and count malformed input lines instead of failing.</summary>
    public bool SkipBadLines { get; init; }
}

/// <summary>Documents and bytes (UTF-8 of the text) into and out of one step.</summary>
public sealed record DedupStepStats(string Step, long DocsIn, long DocsOut, long BytesIn, long BytesOut, double Seconds);

/// <summary>What a dedup run did.</summary>
public sealed record DedupReport(IReadOnlyList<DedupStepStats> Steps, long BadLines, int Clusters, long DocsIn, long DocsOut, long BytesIn, double Seconds);

/// <summary>Runs the dedup steps over one JSONL file.</summary>
public static class DedupJob
{
    /// <summary>Deduplicates <paramref name="input"/> into <paramref name="outDir"/>; see the file header for the layout.</summary>
    public static DedupReport Run(string input, string outDir, DedupJobOptions o, Action<string>? log = null)
    {
        if (!(o.Exact || o.Url || o.Lines || o.MinHash)) throw new ArgumentException("dedup: no step chosen (use --exact, --url, --lines and/or --minhash)");
        o.MinHashOptions.Validate();
        Directory.CreateDirectory(outDir);
        string work = Path.Combine(outDir, ".work");
        Directory.CreateDirectory(work);
        string removedDir = Path.Combine(outDir, "removed");
        var steps = new List<DedupStepStats>();
        long bad = 0;
        int clusters = 0;
        var sinks = new List<JsonlSink>();
        var total = Stopwatch.StartNew();
        try
        {
            // Pass 1: exact + URL (streaming), boilerplate line counts.
            var exact = o.Exact ? new ExactDedup(o.ExactBits, o.NormalizeWhitespace) : null;
            var url = o.Url ? new UrlDedup() : null;
            var lines = o.Lines ? new LineDedup(o.LineMinDocuments, o.LineUnit, o.LineSketchLog2) : null;
            bool more = o.Lines || o.MinHash;
            string stage1 = more ? Path.Combine(work, "stage1.jsonl") : Path.Combine(outDir, "docs.jsonl");
            var rmExact = exact is null ? null : Track(sinks, new JsonlSink(Path.Combine(removedDir, exact.Name + ".jsonl")));
            var rmUrl = url is null ? null : Track(sinks, new JsonlSink(Path.Combine(removedDir, url.Name + ".jsonl")));
            var c1 = new StepCounter(exact?.Name ?? "");
            var c2 = new StepCounter(url?.Name ?? "");
            var sw2 = new Stopwatch();
            int threads = o.Threads > 0 ? o.Threads : Environment.ProcessorCount;
            var par = new ParallelOptions { MaxDegreeOfParallelism = threads };
            var mhb = o.MinHash ? new MinHashDedup.Builder(o.MinHashOptions, o.Threads) : null;
            double sigSeconds = 0;
            using (var outSink = new JsonlSink(stage1))
            {
                var survivors = new List<Document>(o.BatchSize);
                foreach (var batch in DocumentJsonl.ReadBatches(input, o.BatchSize, threads, o.SkipBadLines, m => { bad++; log?.Invoke(m); }))
                {
                    survivors.Clear();
                    foreach (var doc in batch)
                    {
                        long bytes = Utf8Bytes(doc.Text);
                        if (exact is not null)
                        {
                            c1.In(bytes);
                            if (!c1.Decide(exact, doc, rmExact!)) continue;
                            c1.Out(bytes);
                        }
                        if (url is not null)
                        {
                            c2.In(bytes);
                            if (!c2.Decide(url, doc, rmUrl!)) continue;
                            c2.Out(bytes);
                        }
                        survivors.Add(doc);
                    }
                    if (lines is not null)
                    {
                        sw2.Start();
                        var hashes = new ulong[survivors.Count][];
                        Parallel.For(0, survivors.Count, par, i => hashes[i] = lines.DistinctUnitHashes(survivors[i].Text));
                        foreach (var h in hashes) lines.ObserveHashes(h);
                        sw2.Stop();
                    }
                    if (mhb is not null && lines is null) sigSeconds += Sign(mhb, survivors);
                    outSink.WriteBatch(survivors, threads);
                }
                outSink.Complete();
            }
            if (exact is not null) steps.Add(c1.Stats(c1.Seconds));
            if (url is not null) steps.Add(c2.Stats(c2.Seconds));
            log?.Invoke($"pass 1 done: {StepSummary(steps)}");
            if (!more) return Finish();
            string minhashInput = stage1;
            if (lines is not null)
            {
                // Pass 2: strip boilerplate lines; MinHash signatures of what is left, in parallel batches.
                string stage2 = o.MinHash ? Path.Combine(work, "stage2.jsonl") : Path.Combine(outDir, "docs.jsonl");
                var rmLines = Track(sinks, new JsonlSink(Path.Combine(removedDir, lines.Name + ".jsonl")));
                var c3 = new StepCounter(lines.Name);
                double lineSeconds = 0;
                using (var outSink = new JsonlSink(stage2))
                {
                    var kept = new List<Document>(o.BatchSize);
                    foreach (var docs in DocumentJsonl.ReadBatches(stage1, o.BatchSize, threads))
                    {
                        kept.Clear();
                        long t0 = Stopwatch.GetTimestamp();
                        var before = new long[docs.Count];
                        var verdicts = new FilterVerdict[docs.Count];
                        Parallel.For(0, docs.Count, par, i => { before[i] = Utf8Bytes(docs[i].Text); verdicts[i] = lines.Apply(docs[i]); });
                        for (int i = 0; i < docs.Count; i++)
                        {
                            c3.In(before[i]);
                            if (!verdicts[i].Keep)
                            {
                                docs[i].Metadata["dedup_reason"] = verdicts[i].Reason;
                                rmLines.Write(docs[i]);
                                continue;
                            }
                            c3.Out(Utf8Bytes(docs[i].Text));
                            kept.Add(docs[i]);
                        }
                        lineSeconds += Stopwatch.GetElapsedTime(t0).TotalSeconds;
                        if (mhb is not null) sigSeconds += Sign(mhb, kept);
                        outSink.WriteBatch(kept, threads);
                    }
                    outSink.Complete();
                }
                File.Delete(stage1);
                steps.Add(c3.Stats(lineSeconds + sw2.Elapsed.TotalSeconds));
                minhashInput = stage2;
            }
            if (mhb is null) return Finish();

            // Cluster, then a last pass splits kept documents from near-duplicates.
            long tc = Stopwatch.GetTimestamp();
            var mh = mhb.Build();
            sigSeconds += Stopwatch.GetElapsedTime(tc).TotalSeconds;
            var cl = mh.Clusters;
            var rmMin = Track(sinks, new JsonlSink(Path.Combine(removedDir, mh.Name + ".jsonl")));
            var c4 = new StepCounter(mh.Name);
            using (var outSink = new JsonlSink(Path.Combine(outDir, "docs.jsonl")))
            {
                var kept = new List<Document>(o.BatchSize);
                foreach (var docs in DocumentJsonl.ReadBatches(minhashInput, o.BatchSize, threads))
                {
                    kept.Clear();
                    foreach (var doc in docs)
                    {
                        long bytes = Utf8Bytes(doc.Text);
                        c4.In(bytes);
                        if (!c4.Decide(mh, doc, rmMin)) continue;
                        kept.Add(doc);
                        c4.Out(bytes);
                    }
                    outSink.WriteBatch(kept, threads);
                }
                if (mh.Seen != mh.Count) throw new InvalidDataException($"{minhashInput}: expected {mh.Count} documents in the intermediate file, read {mh.Seen}");
                outSink.Complete();
            }
            File.Delete(minhashInput);
            steps.Add(c4.Stats(sigSeconds + c4.Seconds));
            clusters = WriteClusters(Path.Combine(outDir, "clusters.jsonl"), mh.ClusterMembers());
            log?.Invoke($"minhash: {cl.CandidatePairs} candidate pairs, {cl.RejectedPairs} rejected by the threshold, {clusters} clusters");
            return Finish();
        }
        finally
        {
            foreach (var s in sinks) s.Dispose();
            if (Directory.Exists(work) && !Directory.EnumerateFileSystemEntries(work).Any()) Directory.Delete(work);
        }

        DedupReport Finish()
        {
            foreach (var s in sinks) s.Complete();
            long docsIn = steps.Count > 0 ? steps[0].DocsIn : 0, docsOut = steps.Count > 0 ? steps[^1].DocsOut : 0;
            var report = new DedupReport(steps, bad, clusters, docsIn, docsOut, steps.Count > 0 ? steps[0].BytesIn : 0, total.Elapsed.TotalSeconds);
            WriteStats(Path.Combine(outDir, "stats.json"), input, report, o);
            return report;
        }
    }

    private static JsonlSink Track(List<JsonlSink> sinks, JsonlSink s) { sinks.Add(s); return s; }

    private static double Sign(MinHashDedup.Builder b, List<Document> docs)
    {
        long t0 = Stopwatch.GetTimestamp();
        b.Add(docs);
        return Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }

    private static long Utf8Bytes(string s) => Encoding.UTF8.GetByteCount(s);

    private static string StepSummary(List<DedupStepStats> steps) =>
        string.Join(", ", steps.Select(s => $"{s.Step} {s.DocsIn}→{s.DocsOut}"));

    private static int WriteClusters(string path, IEnumerable<(string Kept, IReadOnlyList<string> Removed)> clusters)
    {
        using var sink = new JsonlSink(path);
        using var ms = new MemoryStream();
        foreach (var (kept, removed) in clusters)
        {
            ms.SetLength(0);
            using (var w = DocumentJsonl.CreateWriter(ms))
            {
                w.WriteStartObject();
                w.WriteString("kept", kept);
                w.WriteNumber("size", removed.Count + 1);
                w.WriteStartArray("removed");
                foreach (var id in removed) w.WriteStringValue(id);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            sink.WriteRaw(ms.ToArray());
        }
        sink.Complete();
        return (int)sink.Count;
    }

    private static void WriteStats(string path, string input, DedupReport r, DedupJobOptions o)
    {
        using var ms = new MemoryStream();
        using (var w = DocumentJsonl.CreateWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("input", input);
            w.WriteNumber("documents_in", r.DocsIn);
            w.WriteNumber("documents_out", r.DocsOut);
            w.WriteNumber("bad_lines", r.BadLines);
            w.WriteNumber("bytes_in", r.BytesIn);
            w.WriteNumber("seconds", Math.Round(r.Seconds, 3));
            if (o.MinHash)
            {
                w.WriteStartObject("minhash");
                w.WriteNumber("bands", o.MinHashOptions.Bands);
                w.WriteNumber("rows", o.MinHashOptions.Rows);
                w.WriteNumber("shingle_words", o.MinHashOptions.ShingleWords);
                w.WriteNumber("threshold", o.MinHashOptions.Threshold);
                w.WriteNumber("clusters", r.Clusters);
                w.WriteEndObject();
            }
            w.WriteStartArray("steps");
            foreach (var s in r.Steps)
            {
                w.WriteStartObject();
                w.WriteString("step", s.Step);
                w.WriteNumber("documents_in", s.DocsIn);
                w.WriteNumber("documents_out", s.DocsOut);
                w.WriteNumber("bytes_in", s.BytesIn);
                w.WriteNumber("bytes_out", s.BytesOut);
                w.WriteNumber("seconds", Math.Round(s.Seconds, 4));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        string tmp = $"{path}.tmp-{Environment.ProcessId}";
        File.WriteAllBytes(tmp, ms.ToArray());
        File.Move(tmp, path, overwrite: true);
    }

    private sealed class StepCounter(string name)
    {
        private long _docsIn, _docsOut, _bytesIn, _bytesOut, _ticks;
        public double Seconds => _ticks / (double)Stopwatch.Frequency;
        public bool Decide(IDocumentFilter f, Document doc, JsonlSink removed)
        {
            long t0 = Stopwatch.GetTimestamp();
            var v = f.Apply(doc);
            _ticks += Stopwatch.GetTimestamp() - t0;
            if (v.Keep) return true;
            doc.Metadata["dedup_reason"] = v.Reason;
            removed.Write(doc);
            return false;
        }
        public void In(long bytes) { _docsIn++; _bytesIn += bytes; }
        public void Out(long bytes) { _docsOut++; _bytesOut += bytes; }
        public DedupStepStats Stats(double seconds) => new(name, _docsIn, _docsOut, _bytesIn, _bytesOut, seconds);
    }
}
