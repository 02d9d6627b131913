// Readers for every input the pipeline accepts, chosen by file name: JSONL (.jsonl, .json, optionally .gz),
// plain text (.txt: one document per file), HTML (.html/.htm: one document per file, extracted later by the
// extract step) and WARC (.warc, .warc.gz: response records whose payload is HTML). A folder is read
// recursively in ordinal path order, so every run sees the same documents in the same order.
// Bad input (invalid JSON, non-UTF-8, truncated gzip, over-long lines) either fails with file:line or is
// skipped and counted, as chosen by ReadOptions.OnError.
using System.IO.Compression;
using System.Text;

namespace SharpLM.Text.Data.Readers;

/// <summary>What to do with a bad line or record.</summary>
public enum BadInputPolicy
{
    /// <summary>Stop with an error naming the file and line/record.</summary>
    Fail,
    /// <summary>Skip it, count it and go on.</summary>
    Skip,
}

/// <summary>Reader options and the count of skipped inputs.</summary>
public sealed class ReadOptions
{
    /// <summary>Fail or skip on bad input.</summary>
    public BadInputPolicy OnError { get; init; } = BadInputPolicy.Fail;
    /// <summary>Longest JSONL line accepted (bytes).</summary>
    public int MaxLineBytes { get; init; } = 64 << 20;
    /// <summary>Number of lines/records/files skipped so far.</summary>
    public long Skipped;
    /// <summary>The first few skip reasons, for the run's report.</summary>
    public List<string> SkipSamples { get; } = [];

    internal void Skip(string why)
    {
        Interlocked.Increment(ref Skipped);
        lock (SkipSamples) if (SkipSamples.Count < 20) SkipSamples.Add(why);
    }
}

/// <summary>Opens files and folders as streams of documents.</summary>
public static class DocumentReaders
{
    /// <summary>Every readable input file under <paramref name="path"/> (itself if it is a file), in ordinal order.</summary>
    public static List<string> ListInputs(string path)
    {
        if (File.Exists(path)) return [path];
        if (!Directory.Exists(path)) throw new FileNotFoundException($"{path}: no such file or folder");
        var files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Where(IsSupported).ToList();
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>True for the file names this module can read.</summary>
    public static bool IsSupported(string file)
    {
        string f = file.ToLowerInvariant();
        if (f.EndsWith(".gz", StringComparison.Ordinal)) f = f[..^3];
        return f.EndsWith(".jsonl", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal) || f.EndsWith(".ndjson", StringComparison.Ordinal)
            || f.EndsWith(".txt", StringComparison.Ordinal) || f.EndsWith(".html", StringComparison.Ordinal) || f.EndsWith(".htm", StringComparison.Ordinal)
            || f.EndsWith(".warc", StringComparison.Ordinal);
    }

    /// <summary>All documents of one or more paths (files or folders).</summary>
    public static IEnumerable<Document> Read(IEnumerable<string> paths, ReadOptions? options = null)
    {
        options ??= new ReadOptions();
        foreach (var p in paths)
            foreach (var file in ListInputs(p))
                foreach (var d in ReadFile(file, options)) yield return d;
    }

    /// <summary>The documents of one file, by its extension.</summary>
    public static IEnumerable<Document> ReadFile(string file, ReadOptions? options = null)
    {
        options ??= new ReadOptions();
        string f = file.ToLowerInvariant();
        bool gz = f.EndsWith(".gz", StringComparison.Ordinal);
        if (gz) f = f[..^3];
        if (f.EndsWith(".warc", StringComparison.Ordinal)) return WarcReader.Read(file, options);
        if (f.EndsWith(".txt", StringComparison.Ordinal)) return WholeFile(file, gz, html: false, options);
        if (f.EndsWith(".html", StringComparison.Ordinal) || f.EndsWith(".htm", StringComparison.Ordinal)) return WholeFile(file, gz, html: true, options);
        return ReadJsonl(file, options);
    }

    /// <summary>Opens a file, decompressing .gz.</summary>
    public static Stream OpenRead(string file)
    {
        var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new CheckedGzipStream(fs, file) : fs;
    }

    /// <summary>JSONL documents; errors name file:line.</summary>
    public static IEnumerable<Document> ReadJsonl(string file, ReadOptions? options = null)
    {
        options ??= new ReadOptions();
        using var lr = new ByteLineReader(OpenRead(file), options.MaxLineBytes);
        long lineNo = 0;
        while (true)
        {
            string where = $"{file}:{lineNo + 1}";
            Document? doc = null;
            string? lineError = null;
            try
            {
                if (!lr.TryReadLine(out var line)) break;
                lineNo++;
                if (line.Trim(" \t\r"u8).IsEmpty) continue;
                doc = DocumentJson.Parse(line, where, file);
            }
            catch (LineTooLongException e) { lineNo++; lineError = $"{where}: {e.Message}"; }
            catch (InvalidDataException e) when (e.Message.StartsWith(where, StringComparison.Ordinal)) { lineError = e.Message; }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                // The stream itself is broken (truncated or corrupt gzip, read error): nothing after it can be read.
                string msg = $"{where}: {e.Message}";
                if (options.OnError == BadInputPolicy.Fail) throw new InvalidDataException(msg, e);
                options.Skip(msg);
                yield break;
            }
            if (lineError is not null)
            {
                if (options.OnError == BadInputPolicy.Fail) throw new InvalidDataException(lineError);
                options.Skip(lineError);
                continue;
            }
            yield return doc!;
        }
    }

    /// <summary>
    /// The JSONL documents whose lines start in the byte range [<paramref name="start"/>, <paramref name="end"/>)
    /// of an uncompressed file, so one large file can be shared among tasks: consecutive ranges cover every line
    /// exactly once. Ids default to file@offset.
    /// </summary>
    public static IEnumerable<Document> ReadJsonlRange(string file, long start, long end, ReadOptions? options = null)
    {
        options ??= new ReadOptions();
        if (file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) throw new ArgumentException($"{file}: byte ranges need an uncompressed file");
        var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        long origin = Math.Max(0, start - 1);
        fs.Seek(origin, SeekOrigin.Begin);
        using var lr = new ByteLineReader(fs, options.MaxLineBytes);
        if (start > 0)
        {
            // The line holding byte start-1 belongs to the previous range (it started there); skip through its end.
            try { lr.TryReadLine(out _); } catch (LineTooLongException) { }
        }
        while (true)
        {
            long at = origin + lr.Position;
            if (at >= end) yield break;
            string where = $"{file}@{at}";
            Document? doc = null;
            string? error = null;
            try
            {
                if (!lr.TryReadLine(out var line)) yield break;
                if (line.Trim(" \t\r"u8).IsEmpty) continue;
                doc = DocumentJson.Parse(line, where, file);
            }
            catch (LineTooLongException e) { error = $"{where}: {e.Message}"; }
            catch (InvalidDataException e) { error = e.Message; }
            if (error is not null)
            {
                if (options.OnError == BadInputPolicy.Fail) throw new InvalidDataException(error);
                options.Skip(error);
                continue;
            }
            yield return doc!;
        }
    }

    /// <summary>One unit of work: a whole file, or a byte range of an uncompressed JSONL file.</summary>
    public readonly record struct InputUnit(string File, long Start, long End)
    {
        /// <summary>True when the unit is a part of its file.</summary>
        public bool IsRange => End >= 0;
    }

    /// <summary>Work units of <paramref name="paths"/>: uncompressed JSONL files above <paramref name="splitBytes"/> are cut into ranges of about that size.</summary>
    public static List<InputUnit> ListUnits(IEnumerable<string> paths, long splitBytes)
    {
        var units = new List<InputUnit>();
        foreach (var f in paths.SelectMany(ListInputs))
        {
            string lower = f.ToLowerInvariant();
            long len = new FileInfo(f).Length;
            if (splitBytes > 0 && len > splitBytes && (lower.EndsWith(".jsonl", StringComparison.Ordinal) || lower.EndsWith(".ndjson", StringComparison.Ordinal)))
                for (long s = 0; s < len; s += splitBytes) units.Add(new InputUnit(f, s, Math.Min(len, s + splitBytes)));
            else units.Add(new InputUnit(f, 0, -1));
        }
        return units;
    }

    /// <summary>The documents of work units, in order.</summary>
    public static IEnumerable<Document> Read(IEnumerable<InputUnit> units, ReadOptions? options = null)
    {
        options ??= new ReadOptions();
        foreach (var u in units)
            foreach (var d in u.IsRange ? ReadJsonlRange(u.File, u.Start, u.End, options) : ReadFile(u.File, options))
                yield return d;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    private static IEnumerable<Document> WholeFile(string file, bool gz, bool html, ReadOptions options)
    {
        string text;
        try
        {
            using var s = OpenRead(file);
            using var ms = new MemoryStream();
            s.CopyTo(ms);
            text = StrictUtf8.GetString(ms.GetBuffer(), 0, (int)ms.Length);
        }
        catch (Exception e) when (e is InvalidDataException or DecoderFallbackException or IOException)
        {
            string msg = $"{file}: {(e is DecoderFallbackException ? "not valid UTF-8" : e.Message)}";
            if (options.OnError == BadInputPolicy.Fail) throw new InvalidDataException(msg, e);
            options.Skip(msg);
            yield break;
        }
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        var doc = new Document { Id = file, Text = text, Source = file };
        if (html) doc.Metadata["content_type"] = "text/html";
        _ = gz;
        yield return doc;
    }
}
