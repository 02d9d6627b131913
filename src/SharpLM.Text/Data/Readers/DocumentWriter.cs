// JSONL(.gz) document writer that only ever exposes complete files: it writes to a temporary name beside
// the target and renames into place on Commit, so a crash leaves either the old file or none.
using System.IO.Compression;
using System.Text.Json;

namespace SharpLM.Text.Data.Readers;

/// <summary>Writes documents as JSONL (gzip when the path ends in .gz), atomically.</summary>
public sealed class DocumentWriter : IDisposable
{
    private readonly string _path, _tmp;
    private readonly FileStream _file;
    private readonly Stream _stream;
    private readonly Utf8JsonWriter _json;
    private bool _committed;

    /// <summary>Documents written so far.</summary>
    public long Count { get; private set; }

    /// <summary>Opens a writer for <paramref name="path"/> (created on <see cref="Commit"/>).</summary>
    public DocumentWriter(string path)
    {
        _path = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        _tmp = AtomicFiles.TempName(_path);
        _file = new FileStream(_tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
        _stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(_file, CompressionLevel.Fastest, leaveOpen: true) : _file;
        _json = new Utf8JsonWriter(_stream, DocumentJson.WriterOptions);
    }

    /// <summary>Appends one document line.</summary>
    public void Write(Document d)
    {
        DocumentJson.Write(_json, d);
        _json.Flush();
        _json.Reset();
        _stream.WriteByte((byte)'\n');
        Count++;
    }

    /// <summary>Flushes and renames the file into place.</summary>
    public void Commit()
    {
        _json.Flush();
        if (!ReferenceEquals(_stream, _file)) _stream.Dispose();
        _file.Flush(flushToDisk: true);
        _file.Dispose();
        File.Move(_tmp, _path, overwrite: true);
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed) return;
        _json.Dispose();
        _stream.Dispose();
        _file.Dispose();
        try { File.Delete(_tmp); } catch (IOException) { }
    }
}

/// <summary>Write-to-temp-then-rename helpers for the data pipeline.</summary>
public static class AtomicFiles
{
    /// <summary>A unique temporary name beside <paramref name="fullPath"/>.</summary>
    public static string TempName(string fullPath) => $"{fullPath}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";

    /// <summary>Writes UTF-8 text atomically.</summary>
    public static void WriteAllText(string path, string text)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string tmp = TempName(full);
        File.WriteAllText(tmp, text, new System.Text.UTF8Encoding(false));
        File.Move(tmp, full, overwrite: true);
    }
}
