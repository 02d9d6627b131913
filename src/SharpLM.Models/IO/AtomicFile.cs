// Atomic file and directory replacement: write beside the target under a temporary name, flush to disk,
// then rename over the target, so a reader (or a crash) never sees a half-written file. Rename within one
// directory is atomic on POSIX file systems and on NTFS (MoveFileEx with replace).
// Not here: fsync of the parent directory (no portable .NET API), cross-volume moves.
namespace SharpLM.Models.IO;

/// <summary>Write-to-temp-then-rename helpers.</summary>
public static class AtomicFile
{
    /// <summary>Calls <paramref name="write"/> on a temp file beside <paramref name="path"/>, then renames it into place.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        string full = System.IO.Path.GetFullPath(path);
        string? dir = System.IO.Path.GetDirectoryName(full);
        if (dir != null) Directory.CreateDirectory(dir);
        string tmp = TempName(full);
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    /// <summary>Writes UTF-8 text (no BOM) atomically.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, s => s.Write(new System.Text.UTF8Encoding(false).GetBytes(text)));

    /// <summary>A unique temporary name beside <paramref name="fullPath"/> (same directory, so rename stays atomic).</summary>
    public static string TempName(string fullPath) =>
        $"{fullPath}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";

    private static void TryDelete(string p)
    {
        try { if (File.Exists(p)) File.Delete(p); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
