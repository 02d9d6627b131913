// On-disk form of the synthetic crawl: the pages as a WARC 1.0 file of HTTP response records
// (ISO 28500; gzip per record as Common Crawl does, or plain), optionally one .html file per page,
// labels.jsonl (one line of ground truth per page, no HTML), questions.jsonl (lm-evaluation-harness
// style: question, choices, gold) and world.json. Every file is written under a temporary name and
// renamed into place. Readers for labels and questions are here too, for the report and evaluation.
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace SharpLM.Text.Data.Synthetic;

/// <summary>One line of labels.jsonl.</summary>
public sealed record PageLabelRecord(
    string Id, string Url, string WarcRecordId, string Language, PageLabels Labels, string? DuplicateOf, string Kind,
    IReadOnlyList<string> Pii, string CleanText);

/// <summary>What <see cref="CrawlFiles.Write"/> wrote.</summary>
public sealed record CrawlSummary(int Pages, long HtmlBytes, long CleanTextBytes, IReadOnlyDictionary<PageLabels, int> LabelCounts,
    int Questions, string WarcPath, string LabelsPath, string QuestionsPath);

/// <summary>Writes and reads the crawl's files.</summary>
public static class CrawlFiles
{
    /// <summary>File names inside the output directory.</summary>
    public const string WarcName = "crawl.warc.gz", PlainWarcName = "crawl.warc", LabelsName = "labels.jsonl",
        QuestionsName = "questions.jsonl", WorldName = "world.json", HtmlDir = "html";

    private static readonly UTF8Encoding Utf8 = new(false);

    /// <summary>The deterministic WARC-Record-ID of a page.</summary>
    public static string RecordId(string pageId, long seed)
    {
        var h = SHA256.HashData(Utf8.GetBytes($"{seed}/{pageId}"));
        var g = new Guid(h.AsSpan(0, 16));
        return $"<urn:uuid:{g}>";
    }

    /// <summary>Generates and writes the crawl to <paramref name="dir"/>; returns counts.</summary>
    public static CrawlSummary Write(string dir, CrawlOptions options, bool gzip = true, bool htmlFolder = false, int arithmeticQuestions = 100)
    {
        Directory.CreateDirectory(dir);
        var gen = new CrawlGenerator(options);
        string warcPath = Path.Combine(dir, gzip ? WarcName : PlainWarcName);
        string labelsPath = Path.Combine(dir, LabelsName);
        string questionsPath = Path.Combine(dir, QuestionsName);
        if (htmlFolder) Directory.CreateDirectory(Path.Combine(dir, HtmlDir));
        var counts = new Dictionary<PageLabels, int>();
        long htmlBytes = 0, textBytes = 0;
        int pages = 0;

        string warcTmp = Tmp(warcPath), labelsTmp = Tmp(labelsPath);
        try
        {
            using (var warc = new FileStream(warcTmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var labels = new StreamWriter(labelsTmp, false, Utf8, 1 << 16))
            {
                WriteRecord(warc, gzip, WarcInfo(options), null);
                foreach (var page in gen.Pages())
                {
                    pages++;
                    byte[] html = Utf8.GetBytes(page.Html);
                    htmlBytes += html.Length;
                    textBytes += Utf8.GetByteCount(page.CleanText);
                    foreach (var flag in Enum.GetValues<PageLabels>())
                        if (flag != PageLabels.None && page.Labels.HasFlag(flag)) counts[flag] = counts.GetValueOrDefault(flag) + 1;
                    if (page.Labels == PageLabels.None) counts[PageLabels.None] = counts.GetValueOrDefault(PageLabels.None) + 1;
                    string rid = RecordId(page.Id, options.Seed);
                    WriteRecord(warc, gzip, ResponseHeader(page, rid, html.Length), html);
                    labels.Write(LabelJson(page, rid));
                    labels.Write('\n');
                    if (htmlFolder) File.WriteAllBytes(Path.Combine(dir, HtmlDir, page.Id + ".html"), html);
                }
                warc.Flush(flushToDisk: true);
            }
            File.Move(warcTmp, warcPath, overwrite: true);
            File.Move(labelsTmp, labelsPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(warcTmp)) File.Delete(warcTmp);
            if (File.Exists(labelsTmp)) File.Delete(labelsTmp);
        }

        var questions = QuestionSet.Create(gen.World, options.Seed, arithmeticQuestions);
        WriteText(questionsPath, string.Concat(questions.Select(q => QuestionJson(q) + "\n")));
        WriteText(Path.Combine(dir, WorldName), WorldJson(gen.World, options));
        return new CrawlSummary(pages, htmlBytes, textBytes, counts, questions.Count, warcPath, labelsPath, questionsPath);
    }

    private static string Tmp(string path) => $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";

    private static void WriteText(string path, string text)
    {
        string tmp = Tmp(path);
        try
        {
            File.WriteAllText(tmp, text, Utf8);
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    private static string WarcInfo(CrawlOptions o)
    {
        string body = $"software: SharpLM synthetic crawl\r\nformat: WARC File Format 1.0\r\nseed: {o.Seed}\r\npages: {o.Pages}\r\n";
        int len = Utf8.GetByteCount(body);
        return "WARC/1.0\r\nWARC-Type: warcinfo\r\nWARC-Date: 2024-03-01T00:00:00Z\r\n" +
               $"WARC-Record-ID: {RecordId("warcinfo", o.Seed)}\r\nContent-Type: application/warc-fields\r\nContent-Length: {len}\r\n\r\n" + body;
    }

    private static string ResponseHeader(CrawlPage page, string recordId, int htmlLength)
    {
        string http = $"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {htmlLength}\r\n\r\n";
        int len = Utf8.GetByteCount(http) + htmlLength;
        return "WARC/1.0\r\nWARC-Type: response\r\n" +
               $"WARC-Record-ID: {recordId}\r\nWARC-Date: {page.Date.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}\r\n" +
               $"WARC-Target-URI: {page.Url}\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: {len}\r\n\r\n" + http;
    }

    // One record: header text (ending in the HTTP header when there is a payload), payload bytes, then CRLF CRLF.
    private static void WriteRecord(Stream warc, bool gzip, string head, byte[]? payload)
    {
        Stream s = gzip ? new GZipStream(warc, CompressionLevel.Fastest, leaveOpen: true) : warc;
        try
        {
            s.Write(Utf8.GetBytes(head));
            if (payload != null) s.Write(payload);
            s.Write("\r\n\r\n"u8);
        }
        finally
        {
            if (gzip) s.Dispose();
        }
    }

    private static string LabelJson(CrawlPage p, string recordId)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("id", p.Id);
            w.WriteString("url", p.Url);
            w.WriteString("warc_record_id", recordId);
            w.WriteString("language", p.Language);
            w.WriteNumber("flags", (int)p.Labels);
            w.WriteStartArray("labels");
            foreach (var name in LabelNames(p.Labels)) w.WriteStringValue(name);
            w.WriteEndArray();
            if (p.DuplicateOf is null) w.WriteNull("duplicate_of"); else w.WriteString("duplicate_of", p.DuplicateOf);
            w.WriteString("kind", p.Kind);
            w.WriteStartArray("pii");
            foreach (var s in p.Pii) w.WriteStringValue(s);
            w.WriteEndArray();
            w.WriteString("clean_text", p.CleanText);
            w.WriteEndObject();
        }
        return Utf8.GetString(ms.ToArray());
    }

    /// <summary>snake_case names of the set flags (e.g. exact_duplicate, pii).</summary>
    public static IEnumerable<string> LabelNames(PageLabels labels)
    {
        foreach (var flag in Enum.GetValues<PageLabels>())
            if (flag != PageLabels.None && labels.HasFlag(flag)) yield return SnakeCase(flag.ToString());
    }

    private static string SnakeCase(string s)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsUpper(s[i]) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(s[i]));
        }
        return sb.ToString();
    }

    private static string QuestionJson(McQuestion q)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("id", q.Id);
            w.WriteString("task", q.Task);
            w.WriteString("kind", q.Kind);
            w.WriteString("question", q.Question);
            w.WriteStartArray("choices");
            foreach (var c in q.Choices) w.WriteStringValue(c);
            w.WriteEndArray();
            w.WriteNumber("gold", q.Gold);
            w.WriteString("subject", q.Subject);
            w.WriteEndObject();
        }
        return Utf8.GetString(ms.ToArray());
    }

    private static string WorldJson(World world, CrawlOptions o)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("seed", o.Seed);
            w.WriteStartArray("countries");
            foreach (var c in world.Countries) { w.WriteStartObject(); w.WriteString("name", c.Name); w.WriteString("capital", c.Capital); w.WriteEndObject(); }
            w.WriteEndArray();
            w.WriteStartArray("towns");
            foreach (var t in world.Towns) { w.WriteStartObject(); w.WriteString("name", t.Name); w.WriteString("country", t.Country); w.WriteString("landmark", t.Landmark); w.WriteEndObject(); }
            w.WriteEndArray();
            w.WriteStartArray("people");
            foreach (var p in world.People)
            {
                w.WriteStartObject();
                w.WriteString("name", p.FullName); w.WriteString("town", p.Town); w.WriteString("job", p.Job); w.WriteString("colour", p.Colour);
                w.WriteString("pet", p.PetName); w.WriteNumber("count", p.Count); w.WriteString("counted", p.CountedThing);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("pets");
            foreach (var p in world.Pets) { w.WriteStartObject(); w.WriteString("name", p.Name); w.WriteString("species", p.Species); w.WriteString("colour", p.Colour); w.WriteString("owner", p.Owner); w.WriteEndObject(); }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Utf8.GetString(ms.ToArray());
    }

    /// <summary>Reads labels.jsonl; errors name the line and field.</summary>
    public static List<PageLabelRecord> ReadLabels(string path)
    {
        var list = new List<PageLabelRecord>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (line.Length == 0) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var r = doc.RootElement;
                list.Add(new PageLabelRecord(
                    Req(r, "id").GetString()!, Req(r, "url").GetString()!, Req(r, "warc_record_id").GetString()!, Req(r, "language").GetString()!,
                    (PageLabels)Req(r, "flags").GetInt32(),
                    Req(r, "duplicate_of").ValueKind == JsonValueKind.Null ? null : r.GetProperty("duplicate_of").GetString(),
                    Req(r, "kind").GetString()!, Req(r, "pii").EnumerateArray().Select(e => e.GetString()!).ToList(), Req(r, "clean_text").GetString()!));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new InvalidDataException($"{path}:{lineNo}: not a page label record ({e.Message})", e);
            }
        }
        return list;
    }

    /// <summary>Reads questions.jsonl; errors name the line and field.</summary>
    public static List<McQuestion> ReadQuestions(string path)
    {
        var list = new List<McQuestion>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (line.Length == 0) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var r = doc.RootElement;
                var choices = Req(r, "choices").EnumerateArray().Select(e => e.GetString()!).ToList();
                int gold = Req(r, "gold").GetInt32();
                if (gold < 0 || gold >= choices.Count) throw new InvalidOperationException($"gold {gold} is outside the {choices.Count} choices");
                list.Add(new McQuestion(Req(r, "id").GetString()!, Req(r, "task").GetString()!,
                    r.TryGetProperty("kind", out var k) ? k.GetString()! : "", Req(r, "question").GetString()!, choices, gold,
                    r.TryGetProperty("subject", out var s) ? s.GetString()! : ""));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new InvalidDataException($"{path}:{lineNo}: not a multiple-choice question ({e.Message})", e);
            }
        }
        return list;
    }

    private static JsonElement Req(JsonElement r, string name) =>
        r.TryGetProperty(name, out var v) ? v : throw new KeyNotFoundException($"missing field \"{name}\"");
}
