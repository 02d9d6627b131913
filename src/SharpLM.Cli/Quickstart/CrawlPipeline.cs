// The quickstart's data stage: the crawl's WARC through the data pipeline of `sharplm data run`
// (PipelineConfig.Default: main-text extraction, language ID, Gopher repetition and quality rules, C4 and
// FineWeb rules, bad words, PII redaction), then exact and MinHash near-duplicate removal over what it kept
// (DedupJob, as `sharplm data dedup --exact --minhash`). Documents are keyed by URL, which the crawl's
// labels also carry, so every step's removals can be scored against the labels.
using SharpLM.Text.Data.Dedup;
using SharpLM.Text.Data.Pii;
using SharpLM.Text.Data.Pipeline;
using SharpLM.Text.Data.Readers;

namespace SharpLM.Cli.Quickstart;

/// <summary>One step's outcome: the documents it received and those it removed (or, for redaction, changed).</summary>
internal sealed record StepOutcome(string Step, List<string> Entering, HashSet<string> Acted, bool Redaction = false);

/// <summary>Raw crawl → clean, deduplicated documents.</summary>
internal static class CrawlPipeline
{
    /// <summary>
    /// Runs every step over <paramref name="warcPath"/>, writing the kept documents to <paramref name="outDir"/>/documents.jsonl
    /// (the pipeline's own outputs under pipeline/, dedup's under dedup/); returns each step's outcome in order.
    /// </summary>
    public static List<StepOutcome> Run(string warcPath, string outDir, Action<string>? log = null)
    {
        Directory.CreateDirectory(outDir);
        var input = WarcReader.Read(warcPath).ToList();
        foreach (var d in input)
            if (d.Url is null) throw new InvalidDataException($"{warcPath}: record {d.Id} has no WARC-Target-URI");
        log?.Invoke($"read {input.Count:N0} pages");

        var items = PipelineConfig.Default.Build(StepCatalog.Default());
        string pipeDir = Path.Combine(outDir, "pipeline");
        var runner = new PipelineRunner(items, new PipelineRunOptions { CompressOutput = false });
        runner.Run(input, pipeDir);
        string pipeOut = Path.Combine(pipeDir, runner.OutputFileName);

        var outcomes = new List<StepOutcome>();
        var entering = input.Select(d => d.Url!).ToList();
        var placeholders = new[] { new PiiOptions().EmailPlaceholder, new PiiOptions().PhonePlaceholder };
        foreach (var item in items)
        {
            if (item.Filter is PiiRedactor)
            {
                // Redaction keeps documents; the ones it acted on carry a placeholder.
                var redacted = DocumentJsonl.Read(pipeOut).Where(d => placeholders.Any(p => d.Text.Contains(p, StringComparison.Ordinal)))
                    .Select(d => d.Url!).ToHashSet(StringComparer.Ordinal);
                outcomes.Add(new StepOutcome(item.Name, entering, redacted, Redaction: true));
                log?.Invoke($"{item.Name}: redacted {redacted.Count:N0} of {entering.Count:N0}");
                continue;
            }
            var removed = RemovedUrls(Path.Combine(pipeDir, "removed"), item.Name);
            outcomes.Add(new StepOutcome(item.Name, entering, removed));
            log?.Invoke($"{item.Name}: removed {removed.Count:N0} of {entering.Count:N0}");
            entering = entering.Where(u => !removed.Contains(u)).ToList();
        }

        // Dedup keys on the document id: make it the URL so removals map back to labels.
        string keyed = Path.Combine(outDir, "filtered.jsonl");
        using (var sink = new JsonlSink(keyed))
        {
            foreach (var d in DocumentJsonl.Read(pipeOut))
                sink.Write(new SharpLM.Text.Data.Document { Id = d.Url!, Url = d.Url, Text = d.Text, Source = d.Source });
            sink.Complete();
        }
        string dedupDir = Path.Combine(outDir, "dedup");
        var report = DedupJob.Run(keyed, dedupDir, new DedupJobOptions { Exact = true, NormalizeWhitespace = true, MinHash = true });
        foreach (var st in report.Steps)
        {
            var removed = RemovedUrls(Path.Combine(dedupDir, "removed"), st.Step);
            outcomes.Add(new StepOutcome(st.Step, entering, removed));
            log?.Invoke($"{st.Step}: removed {removed.Count:N0} of {entering.Count:N0}");
            entering = entering.Where(u => !removed.Contains(u)).ToList();
        }
        File.Move(Path.Combine(dedupDir, "docs.jsonl"), Path.Combine(outDir, QuickstartStages.DocumentsFile), overwrite: true);
        File.Delete(keyed);
        return outcomes;
    }

    private static HashSet<string> RemovedUrls(string removedDir, string step)
    {
        foreach (var name in new[] { step + ".jsonl.gz", step + ".jsonl" })
        {
            string path = Path.Combine(removedDir, name);
            if (File.Exists(path)) return DocumentJsonl.Read(path).Select(d => d.Url ?? d.Id).ToHashSet(StringComparer.Ordinal);
        }
        return new HashSet<string>(StringComparer.Ordinal);
    }
}
