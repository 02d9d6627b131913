// The quickstart's data pipeline from the raw crawl to clean documents: read the WARC's HTML responses,
// extract the main text (AngleSharp DOM: the <main>/<article>/#content/.entry element, else <body>, one
// paragraph per block element), keep English (share of English function words, as stop-word language
// detectors do), apply Gopher quality and repetition rules (Rae et al. 2021, appendix A: word count, mean
// word length, symbol and alphabetic ratios, stop words, duplicate lines, top n-gram share), redact
// e-mail addresses and phone numbers, then exact and MinHash near-duplicate removal with the Dedup
// library (DedupJob). Each step's removed document ids are kept for the funnel.
// Deliberately small: it is the quickstart's own self-contained path over the synthetic crawl; the
// general pipeline (`sharplm data run`) has more readers, rules and options.
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using SharpLM.Text.Data.Dedup;
using Document = SharpLM.Text.Data.Document;

namespace SharpLM.Cli.Quickstart;

/// <summary>One step's outcome: the documents it received and the ids it removed (or, for redaction, changed).</summary>
internal sealed record StepOutcome(string Step, List<string> Entering, HashSet<string> Acted, bool Redaction = false);

/// <summary>Raw crawl → clean, deduplicated documents.</summary>
internal static partial class CrawlPipeline
{
    /// <summary>Reads the HTTP response records of a WARC (optionally gzip-compressed, one member per record) as (url, html).</summary>
    public static IEnumerable<(string Url, string Html)> ReadWarc(string path)
    {
        using var fs = File.OpenRead(path);
        Stream s = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(fs, CompressionMode.Decompress) : fs;
        using var br = new BufferedStream(s, 1 << 16);
        long record = 0;
        while (true)
        {
            string? version = ReadLine(br);
            while (version is { Length: 0 }) version = ReadLine(br);
            if (version is null) yield break;
            record++;
            if (!version.StartsWith("WARC/", StringComparison.Ordinal)) throw new InvalidDataException($"{path}: record {record}: expected a WARC version line, got '{version}'");
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (string? line = ReadLine(br); !string.IsNullOrEmpty(line); line = ReadLine(br))
            {
                int colon = line.IndexOf(':');
                if (colon > 0) headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
            if (!headers.TryGetValue("Content-Length", out var lenText) || !int.TryParse(lenText, out int len) || len < 0)
                throw new InvalidDataException($"{path}: record {record}: missing or bad Content-Length");
            var block = new byte[len];
            br.ReadExactly(block);
            if (headers.GetValueOrDefault("WARC-Type") != "response") continue;
            int body = block.AsSpan().IndexOf("\r\n\r\n"u8);
            if (body < 0) throw new InvalidDataException($"{path}: record {record}: HTTP response without a header/body separator");
            yield return (headers.GetValueOrDefault("WARC-Target-URI") ?? $"record-{record}", Encoding.UTF8.GetString(block, body + 4, len - body - 4));
        }
    }

    private static string? ReadLine(Stream s)
    {
        var sb = new StringBuilder();
        int b;
        while ((b = s.ReadByte()) >= 0)
        {
            if (b == '\n') return sb.ToString().TrimEnd('\r');
            sb.Append((char)b);
        }
        return sb.Length == 0 ? null : sb.ToString();
    }

    // ---- extraction -----------------------------------------------------------------------------

    private static readonly string[] ContentSelectors = ["main article", "article", "main", "#content", ".entry", ".post", "body"];
    private static readonly HashSet<string> Blocks = new(StringComparer.OrdinalIgnoreCase) { "P", "H1", "H2", "H3", "H4", "LI", "PRE", "BLOCKQUOTE", "TD" };

    /// <summary>The main text of an HTML page: block elements of the content element, one per paragraph.</summary>
    public static string Extract(HtmlParser parser, string html)
    {
        using var doc = parser.ParseDocument(html);
        IElement? root = null;
        foreach (var sel in ContentSelectors)
            if ((root = doc.QuerySelector(sel)) != null) break;
        if (root is null) return "";
        foreach (var junk in root.QuerySelectorAll("nav, aside, footer, header, script, style, form, .share, .cookie-banner, .sidebar, .widgets").ToList()) junk.Remove();
        var paras = new List<string>();
        foreach (var el in root.QuerySelectorAll("*"))
            if (Blocks.Contains(el.TagName) && !el.Children.Any(c => Blocks.Contains(c.TagName)))
            {
                string t = Spaces().Replace(el.TextContent, " ").Trim();
                if (t.Length > 0) paras.Add(t);
            }
        return string.Join("\n\n", paras);
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    // ---- language -------------------------------------------------------------------------------

    private static readonly HashSet<string> EnglishFunctionWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "the", "a", "an", "and", "is", "are", "was", "in", "of", "to", "he", "she", "his", "her", "it", "with", "for", "at", "on",
        "has", "have", "you", "i", "my", "that", "this", "they", "be", "by", "from", "as", "or", "not", "but", "we", "all",
    };

    /// <summary>Share of words that are English function words (0 for no words).</summary>
    public static double EnglishScore(string text)
    {
        int n = 0, hits = 0;
        foreach (Match m in Words().Matches(text))
        {
            n++;
            if (EnglishFunctionWords.Contains(m.Value)) hits++;
        }
        return n == 0 ? 0 : (double)hits / n;
    }

    [GeneratedRegex(@"[\p{L}']+")]
    private static partial Regex Words();

    // ---- Gopher rules ---------------------------------------------------------------------------

    private static readonly string[] GopherStopWords = ["the", "be", "to", "of", "and", "that", "have", "with"];

    /// <summary>Gopher quality rules; returns the failed rule or null.</summary>
    public static string? GopherQuality(string text)
    {
        var words = text.Split((char[])[' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (words.Length < 50) return "word_count";
        if (words.Length > 100_000) return "word_count";
        double meanLen = words.Average(w => w.Length);
        if (meanLen < 3 || meanLen > 10) return "mean_word_length";
        int symbols = Regex.Matches(text, @"#|\.\.\.|…").Count;
        if ((double)symbols / words.Length > 0.1) return "symbol_ratio";
        if (words.Count(w => w.Any(char.IsLetter)) < 0.8 * words.Length) return "alphabetic_ratio";
        var lower = new HashSet<string>(words.Select(w => w.Trim('.', ',', '!', '?', ':', ';').ToLowerInvariant()));
        if (GopherStopWords.Count(lower.Contains) < 2) return "stop_words";
        // Not in Gopher's list but in every spam heuristic since: shouting and exclamation runs.
        int letters = text.Count(char.IsLetter), upper = text.Count(char.IsUpper);
        if (letters > 0 && (double)upper / letters > 0.3) return "uppercase_ratio";
        return null;
    }

    /// <summary>Gopher repetition rules (duplicate lines and paragraphs, top 2/3/4-gram share); returns the failed rule or null.</summary>
    public static string? GopherRepetition(string text)
    {
        var paras = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        if (paras.Length > 1)
        {
            int dup = paras.Length - paras.Distinct().Count();
            if ((double)dup / paras.Length > 0.3) return "duplicate_paragraphs";
            long dupChars = paras.GroupBy(p => p).Where(g => g.Count() > 1).Sum(g => (long)g.Key.Length * (g.Count() - 1));
            if ((double)dupChars / text.Length > 0.2) return "duplicate_paragraph_chars";
        }
        var words = Words().Matches(text.ToLowerInvariant()).Select(m => m.Value).ToArray();
        long totalChars = words.Sum(w => (long)w.Length);
        foreach (var (n, limit) in new[] { (2, 0.20), (3, 0.18), (4, 0.16) })
        {
            if (words.Length < n) break;
            var counts = new Dictionary<string, int>();
            for (int i = 0; i + n <= words.Length; i++)
            {
                string g = string.Join(' ', words, i, n);
                counts[g] = counts.GetValueOrDefault(g) + 1;
            }
            var top = counts.MaxBy(kv => kv.Value);
            if (top.Value > 1 && (double)top.Value * top.Key.Replace(" ", "").Length / totalChars > limit) return $"top_{n}gram";
        }
        return null;
    }

    // ---- PII ------------------------------------------------------------------------------------

    [GeneratedRegex(@"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")]
    private static partial Regex Email();

    [GeneratedRegex(@"(\+\d{1,3}[ .-]?)?(\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]\d{4}\b")]
    private static partial Regex Phone();

    /// <summary>Replaces e-mail addresses and phone numbers with placeholders; returns the text and how many were replaced.</summary>
    public static (string Text, int Count) RedactPii(string text)
    {
        int n = 0;
        text = Email().Replace(text, _ => { n++; return "<EMAIL>"; });
        text = Phone().Replace(text, _ => { n++; return "<PHONE>"; });
        return (text, n);
    }

    // ---- the run --------------------------------------------------------------------------------

    /// <summary>
    /// Runs every step over <paramref name="warcPath"/>, writing the kept documents to <paramref name="outDir"/>/documents.jsonl
    /// and dedup outputs beside it; returns the per-step outcomes in order. Document ids are the page URLs.
    /// </summary>
    public static List<StepOutcome> Run(string warcPath, string outDir, Action<string>? log = null)
    {
        Directory.CreateDirectory(outDir);
        var parser = new HtmlParser();
        var docs = new List<Document>();
        foreach (var (url, html) in ReadWarc(warcPath))
            docs.Add(new Document { Id = url, Url = url, Text = html, Source = Path.GetFileName(warcPath) });
        log?.Invoke($"read {docs.Count:N0} pages");
        var outcomes = new List<StepOutcome>();

        List<Document> Step(string name, List<Document> input, Func<Document, bool> keep)
        {
            var removed = new HashSet<string>(StringComparer.Ordinal);
            var kept = new List<Document>();
            foreach (var d in input)
                if (keep(d)) kept.Add(d);
                else removed.Add(d.Id);
            outcomes.Add(new StepOutcome(name, input.Select(d => d.Id).ToList(), removed));
            log?.Invoke($"{name}: removed {removed.Count:N0} of {input.Count:N0}");
            return kept;
        }

        // Extraction is per page and independent: run it on every core.
        var texts = new string[docs.Count];
        Parallel.For(0, docs.Count, () => new HtmlParser(), (i, _, p) => { texts[i] = Extract(p, docs[i].Text); return p; }, _ => { });
        for (int i = 0; i < docs.Count; i++) docs[i].Text = texts[i];
        docs = Step("extract", docs, d => d.Text.Length > 0);
        docs = Step("langid", docs, d => EnglishScore(d.Text) >= 0.15);
        docs = Step("gopher_quality", docs, d => GopherQuality(d.Text) is null);
        docs = Step("gopher_repetition", docs, d => GopherRepetition(d.Text) is null);

        var redacted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in docs)
        {
            var (t, n) = RedactPii(d.Text);
            if (n > 0) { d.Text = t; redacted.Add(d.Id); }
        }
        outcomes.Add(new StepOutcome("pii", docs.Select(d => d.Id).ToList(), redacted, Redaction: true));

        string filtered = Path.Combine(outDir, "filtered.jsonl");
        using (var sink = new JsonlSink(filtered))
        {
            foreach (var d in docs) sink.Write(d);
            sink.Complete();
        }
        var dedupDir = Path.Combine(outDir, "dedup");
        var report = DedupJob.Run(filtered, dedupDir, new DedupJobOptions { Exact = true, NormalizeWhitespace = true, MinHash = true });
        var entering = docs.Select(d => d.Id).ToList();
        foreach (var st in report.Steps)
        {
            string removedFile = Path.Combine(dedupDir, "removed", st.Step + ".jsonl");
            var removed = File.Exists(removedFile) ? DocumentJsonl.Read(removedFile).Select(d => d.Id).ToHashSet(StringComparer.Ordinal) : [];
            outcomes.Add(new StepOutcome(st.Step, entering, removed));
            entering = entering.Where(id => !removed.Contains(id)).ToList();
            log?.Invoke($"{st.Step}: removed {removed.Count:N0}");
        }
        File.Move(Path.Combine(dedupDir, "docs.jsonl"), Path.Combine(outDir, "documents.jsonl"), overwrite: true);
        File.Delete(filtered);
        return outcomes;
    }
}
