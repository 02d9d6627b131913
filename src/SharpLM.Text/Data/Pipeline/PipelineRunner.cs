// Runs a pipeline over a stream of documents and writes, under the output folder:
//   documents.jsonl[.gz]      the kept documents, in input order
//   removed/<step>.jsonl.gz   every removed document with metadata.removed_by = "<step>:<reason>"
//   stats.json                the funnel (PipelineStats)
//   work/                     intermediate files of multi-pass stages and completion markers
// Streaming filters run in batches; a run of consecutive parallel-safe filters processes the documents of a
// batch on all threads (each document passes through the whole run on one thread), then results are collected in
// input order, so output is identical for any thread count. A batch filter (IBatchFilter: the perplexity
// model) gets each batch's surviving documents in one call and parallelises inside. A multi-pass stage cuts the pipeline into
// segments; each finished segment leaves its output and a marker in work/, so a relaunch after a crash resumes
// at the first unfinished segment. Every file is written under a temporary name and renamed when complete.
// Reading and writing overlap the filtering: the input is read ahead on its own thread (two batches buffered) and
// each batch's kept and removed documents are written on another while the next batch is filtered.
// Memory: about four batches of documents (two read ahead, one filtered, one being written) plus whatever the
// steps keep (dedup indexes).
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using SharpLM.Text.Data.Readers;

namespace SharpLM.Text.Data.Pipeline;

/// <summary>Run settings.</summary>
public sealed record PipelineRunOptions
{
    /// <summary>Worker threads for parallel-safe steps (0 = one per core).</summary>
    public int Threads { get; init; }
    /// <summary>Documents per batch.</summary>
    public int BatchSize { get; init; } = 256;
    /// <summary>Gzip the kept documents.</summary>
    public bool CompressOutput { get; init; } = true;
    /// <summary>Write removed documents (otherwise only counts).</summary>
    public bool WriteRemoved { get; init; } = true;
    /// <summary>A string identifying the input and configuration; a resumed run reuses finished segments only when it matches.</summary>
    public string Fingerprint { get; init; } = "";
    /// <summary>Counts the tokens of a text (thread-safe); when set, stats.json has tokens in and out of every step,
    /// counted after each group of steps in parallel over the batch's documents.</summary>
    public Func<string, long>? TokenCounter { get; init; }
    /// <summary>Called after each batch with (documents read so far, bytes read so far).</summary>
    public Action<long, long>? Progress { get; init; }
}

/// <summary>Executes pipeline items over documents.</summary>
public sealed class PipelineRunner(IReadOnlyList<PipelineItem> items, PipelineRunOptions? options = null)
{
    private readonly PipelineRunOptions _o = options ?? new PipelineRunOptions();

    /// <summary>Name of the kept-documents file in the output folder.</summary>
    public string OutputFileName => _o.CompressOutput ? "documents.jsonl.gz" : "documents.jsonl";

    private int Threads => _o.Threads > 0 ? _o.Threads : Environment.ProcessorCount;

    /// <summary>Runs the pipeline; <paramref name="input"/> is enumerated once (unless a segment is resumed).</summary>
    public PipelineStats Run(IEnumerable<Document> input, string outDir, ReadOptions? readOptions = null)
    {
        var sw = Stopwatch.StartNew();
        Directory.CreateDirectory(outDir);
        string work = Path.Combine(outDir, "work");
        Directory.CreateDirectory(work);
        var stats = new PipelineStats { Threads = Threads };
        string fp = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(_o.Fingerprint + "|" + string.Join(",", items.Select(i => i.Name)))))[..16];

        // Segments: [filters…], then for each multi-pass stage: [stage, filters…].
        var segments = new List<List<PipelineItem>> { new() };
        foreach (var it in items)
        {
            if (it.Stage is not null) segments.Add([it]);
            else segments[^1].Add(it);
        }

        string? prevFile = null;
        for (int s = 0; s < segments.Count; s++)
        {
            bool last = s == segments.Count - 1;
            string outFile = last ? Path.Combine(outDir, OutputFileName) : Path.Combine(work, $"segment_{s}.jsonl.gz");
            string marker = Path.Combine(work, $"segment_{s}.{fp}.done.json");
            if (File.Exists(marker) && File.Exists(outFile))
            {
                var done = PipelineStats.Load(marker);
                Merge(stats, done, s == 0);
                prevFile = outFile;
                continue;
            }
            var seg = segments[s];
            var filters = new List<IDocumentFilter>();
            var stageWatch = Stopwatch.StartNew();
            if (seg.Count > 0 && seg[0].Stage is { } stage)
            {
                string stageDir = Path.Combine(work, $"{stage.Name}_{s}.{fp}");
                Directory.CreateDirectory(stageDir);
                string src = prevFile!;
                filters.Add(stage.Prepare(() => DocumentReaders.ReadJsonl(src), stageDir));
                seg = seg.Skip(1).ToList();
            }
            double prepareSeconds = stageWatch.Elapsed.TotalSeconds;
            filters.AddRange(seg.Select(i => i.Filter!));
            IEnumerable<Document> docs = s == 0 ? input : DocumentReaders.ReadJsonl(prevFile!);
            var segStats = RunSegment(filters, docs, outFile, outDir, s == 0);
            if (segStats.Steps.Count > 0) segStats.Steps[0].Seconds += prepareSeconds;
            if (s == 0 && readOptions is not null)
            {
                segStats.SkippedInputs = readOptions.Skipped;
                segStats.SkippedSamples = [.. readOptions.SkipSamples];
            }
            AtomicFiles.WriteAllText(marker, segStats.ToJson());
            Merge(stats, segStats, s == 0);
            prevFile = outFile;
        }
        stats.Seconds = sw.Elapsed.TotalSeconds;
        AtomicFiles.WriteAllText(Path.Combine(outDir, "stats.json"), stats.ToJson());
        return stats;
    }

    private static void Merge(PipelineStats into, PipelineStats seg, bool first)
    {
        if (first)
        {
            into.DocsIn = seg.DocsIn; into.BytesIn = seg.BytesIn; into.TokensIn = seg.TokensIn;
            into.SkippedInputs = seg.SkippedInputs; into.SkippedSamples = seg.SkippedSamples;
        }
        into.DocsOut = seg.DocsOut; into.BytesOut = seg.BytesOut; into.TokensOut = seg.TokensOut;
        into.Steps.AddRange(seg.Steps);
    }

    private sealed class Slot
    {
        public Document Doc = null!;
        public long[] Bytes = [];     // bytes before step k of the current group, and after the last
        public string?[] Texts = [];  // the text before step k of the current group, and after the last
        public long[] Tokens = [];    // its token count (when counting)
        public string? CachedText;    // the last text counted, and its count
        public long CachedTokens;
        public int DroppedAt = -1;    // index within the group
        public string? Reason;
    }

    private PipelineStats RunSegment(List<IDocumentFilter> filters, IEnumerable<Document> docs, string outFile, string outDir, bool countInput)
    {
        var stats = new PipelineStats();
        var steps = filters.Select(f => new StepStats { Name = f.Name }).ToList();
        stats.Steps = steps;
        var removed = new DocumentWriter?[filters.Count];
        using var writer = new DocumentWriter(outFile);
        // Groups of consecutive parallel-safe filters, and single sequential ones.
        var groups = new List<(int Start, int End, bool Parallel)>();
        for (int i = 0; i < filters.Count;)
        {
            int j = i;
            if (IsParallel(filters[i]) && Threads > 1) { while (j < filters.Count && IsParallel(filters[j])) j++; groups.Add((i, j, true)); }
            else { j = i + 1; groups.Add((i, j, false)); }
            i = j;
        }
        var po = new ParallelOptions { MaxDegreeOfParallelism = Threads };
        var batch = new List<Slot>(_o.BatchSize);
        var toRemove = new List<(int Step, Document Doc)>();
        var stepTicks = new long[filters.Count];
        long readDocs = 0, readBytes = 0, readTokens = 0, outTokens = 0;
        var counter = _o.TokenCounter;
        if (counter is not null) foreach (var st in steps) { st.TokensIn = 0; st.TokensOut = 0; }
        // Write-behind: a batch's kept and removed documents are serialised and compressed on another thread while
        // the next batch is filtered (one batch in flight, so files keep input order).
        Task pendingWrite = Task.CompletedTask;
        try
        {
            using var e = ReadAhead(docs, 2 * _o.BatchSize).GetEnumerator();
            bool more = true;
            while (more)
            {
                batch.Clear();
                while (batch.Count < _o.BatchSize && (more = e.MoveNext()))
                    batch.Add(new Slot { Doc = e.Current });
                if (batch.Count == 0) break;
                var alive = batch;
                long inBytes = 0;
                foreach (var sl in alive) inBytes += Encoding.UTF8.GetByteCount(sl.Doc.Text);
                readDocs += batch.Count; readBytes += inBytes;
                for (int g = 0; g < groups.Count; g++)
                {
                    var (start, end, parallel) = groups[g];
                    int n = end - start;
                    long t0 = Stopwatch.GetTimestamp();
                    if (parallel)
                    {
                        var slots = alive;
                        ParallelFor(slots.Count, po, k => RunGroup(filters, start, end, slots[k]));
                    }
                    else if (filters[start] is IBatchFilter bf) RunBatch(bf, alive, Threads);
                    else foreach (var sl in alive) RunGroup(filters, start, end, sl);
                    long dt = Stopwatch.GetTimestamp() - t0;
                    // Attribute group time to its steps evenly (per-step timing inside a parallel group would
                    // need per-thread clocks; the bench measures steps one by one).
                    for (int k = start; k < end; k++) stepTicks[k] += dt / n;
                    if (counter is not null)
                    {
                        var slots = alive;
                        if (Threads > 1) ParallelFor(slots.Count, po, k => CountTokens(slots[k], n, counter));
                        else foreach (var sl in slots) CountTokens(sl, n, counter);
                        if (g == 0) foreach (var sl in slots) readTokens += sl.Tokens[0];
                    }
                    var next = new List<Slot>(alive.Count);
                    foreach (var sl in alive)
                    {
                        int last = sl.DroppedAt >= 0 ? sl.DroppedAt : n - 1;
                        for (int k = 0; k <= last; k++)
                        {
                            var st = steps[start + k];
                            st.DocsIn++;
                            st.BytesIn += sl.Bytes[k];
                            if (counter is not null) st.TokensIn += sl.Tokens[k];
                            if (k == sl.DroppedAt) continue;
                            st.DocsOut++;
                            st.BytesOut += sl.Bytes[k + 1];
                            if (counter is not null) st.TokensOut += sl.Tokens[k + 1];
                        }
                        if (sl.DroppedAt >= 0)
                        {
                            int idx = start + sl.DroppedAt;
                            string reason = sl.Reason ?? filters[idx].Name;
                            steps[idx].Removed[reason] = steps[idx].Removed.GetValueOrDefault(reason) + 1;
                            if (_o.WriteRemoved)
                            {
                                sl.Doc.Metadata["removed_by"] = reason;
                                toRemove.Add((idx, sl.Doc));
                            }
                        }
                        else next.Add(sl);
                        sl.DroppedAt = -1; sl.Reason = null;
                    }
                    alive = next;
                }
                var toKeep = new List<Document>(alive.Count);
                foreach (var sl in alive)
                {
                    toKeep.Add(sl.Doc);
                    stats.DocsOut++;
                    stats.BytesOut += filters.Count == 0 ? Encoding.UTF8.GetByteCount(sl.Doc.Text) : sl.Bytes[groups[^1].End - groups[^1].Start];
                    if (counter is not null)
                    {
                        long t = filters.Count == 0 ? counter(sl.Doc.Text) : sl.Tokens[groups[^1].End - groups[^1].Start];
                        outTokens += t;
                        if (filters.Count == 0) readTokens += t;
                    }
                }
                pendingWrite.GetAwaiter().GetResult();
                var removedNow = toRemove;
                pendingWrite = Task.Run(() =>
                {
                    foreach (var (idx, d) in removedNow)
                        (removed[idx] ??= new DocumentWriter(Path.Combine(outDir, "removed", $"{Sanitize(filters[idx].Name)}.jsonl.gz"))).Write(d);
                    foreach (var d in toKeep) writer.Write(d);
                });
                toRemove = [];
                _o.Progress?.Invoke(readDocs, readBytes);
            }
            pendingWrite.GetAwaiter().GetResult();
            writer.Commit();
            foreach (var r in removed) r?.Commit();
        }
        finally
        {
            try { pendingWrite.Wait(); } catch (AggregateException) { } // already surfaced, or superseded by the error in flight
            foreach (var r in removed) r?.Dispose();
        }
        if (countInput) { stats.DocsIn = readDocs; stats.BytesIn = readBytes; }
        if (counter is not null) { stats.TokensOut = outTokens; if (countInput) stats.TokensIn = readTokens; }
        for (int k = 0; k < steps.Count; k++) steps[k].Seconds = (double)stepTicks[k] / Stopwatch.Frequency;
        return stats;
    }

    private static void RunGroup(List<IDocumentFilter> filters, int start, int end, Slot sl)
    {
        int n = end - start;
        if (sl.Bytes.Length < n + 1) { sl.Bytes = new long[Math.Max(n + 1, 2)]; sl.Texts = new string?[sl.Bytes.Length]; sl.Tokens = new long[sl.Bytes.Length]; }
        long bytes = Encoding.UTF8.GetByteCount(sl.Doc.Text);
        for (int k = 0; k < n; k++)
        {
            sl.Bytes[k] = bytes;
            sl.Texts[k] = sl.Doc.Text;
            string before = sl.Doc.Text;
            var v = filters[start + k].Apply(sl.Doc);
            if (!v.Keep) { sl.DroppedAt = k; sl.Reason = v.Reason; return; }
            if (!ReferenceEquals(before, sl.Doc.Text)) bytes = Encoding.UTF8.GetByteCount(sl.Doc.Text);
        }
        sl.Bytes[n] = bytes;
        sl.Texts[n] = sl.Doc.Text;
    }

    // Read-ahead: documents are read (decompressed, parsed) on another thread into a bounded buffer while the
    // current batch is filtered. Order is kept; an input error is rethrown at the point of the stream where it
    // happened; leaving early cancels the reader.
    private static IEnumerable<Document> ReadAhead(IEnumerable<Document> docs, int capacity)
    {
        using var q = new System.Collections.Concurrent.BlockingCollection<Document>(capacity);
        using var stop = new CancellationTokenSource();
        var ct = stop.Token;
        Exception? error = null;
        var reader = new Thread(() =>
        {
            try { foreach (var d in docs) q.Add(d, ct); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { }
            catch (Exception ex) { error = ex; }
            finally { q.CompleteAdding(); }
        })
        { IsBackground = true, Name = "pipeline reader" };
        reader.Start();
        try
        {
            foreach (var d in q.GetConsumingEnumerable()) yield return d;
            reader.Join();
            if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
        }
        finally
        {
            stop.Cancel(); // leaving early (an error in a step): stop the reader and wait, so its files are closed
            reader.Join();
        }
    }

    // Parallel.For that rethrows a step's own exception (type, message, stack trace) instead of the
    // AggregateException around it, so a step's bad-input error reaches the caller as that error.
    private static void ParallelFor(int count, ParallelOptions po, Action<int> body)
    {
        try { Parallel.For(0, count, po, body); }
        catch (AggregateException e) when (e.Flatten().InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.Flatten().InnerExceptions[0]).Throw();
        }
    }

    private static bool IsParallel(IDocumentFilter f) => f is IParallelSafeFilter && f is not IBatchFilter;

    // A batch filter sees the whole batch's surviving documents at once (it parallelises inside).
    private static void RunBatch(IBatchFilter f, List<Slot> slots, int threads)
    {
        var docs = new Document[slots.Count];
        for (int k = 0; k < slots.Count; k++)
        {
            var sl = slots[k];
            if (sl.Bytes.Length < 2) { sl.Bytes = new long[2]; sl.Texts = new string?[2]; sl.Tokens = new long[2]; }
            sl.Bytes[0] = Encoding.UTF8.GetByteCount(sl.Doc.Text);
            sl.Texts[0] = sl.Doc.Text;
            docs[k] = sl.Doc;
        }
        var verdicts = new FilterVerdict[docs.Length];
        f.ApplyBatch(docs, verdicts, threads);
        for (int k = 0; k < slots.Count; k++)
        {
            var sl = slots[k];
            if (!verdicts[k].Keep) { sl.DroppedAt = 0; sl.Reason = verdicts[k].Reason; continue; }
            sl.Bytes[1] = ReferenceEquals(sl.Texts[0], sl.Doc.Text) ? sl.Bytes[0] : Encoding.UTF8.GetByteCount(sl.Doc.Text);
            sl.Texts[1] = sl.Doc.Text;
        }
    }

    // Tokens of each distinct text the group saw (texts are compared by reference: a step that does not change a
    // document keeps its string), reusing the count of the previous group's last text.
    private static void CountTokens(Slot sl, int n, Func<string, long> counter)
    {
        int last = sl.DroppedAt >= 0 ? sl.DroppedAt : n;
        for (int k = 0; k <= last; k++)
        {
            string text = sl.Texts[k]!;
            if (!ReferenceEquals(text, sl.CachedText)) { sl.CachedText = text; sl.CachedTokens = counter(text); }
            sl.Tokens[k] = sl.CachedTokens;
        }
    }

    private static string Sanitize(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (char c in name) sb.Append(char.IsLetterOrDigit(c) || c is '_' or '-' or '.' ? c : '_');
        return sb.ToString();
    }
}
