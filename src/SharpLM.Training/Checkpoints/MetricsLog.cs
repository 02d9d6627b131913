// metrics.jsonl: one JSON object per optimizer step, appended and flushed as training goes
// ({"step","loss","lr","grad_norm","tokens_per_s","mfu","elapsed"} plus "val_loss" and "val_bpb" when measured;
// non-finite values as null). On resume the log is cut back to the checkpoint's step — later lines and a
// torn last line from a crash are dropped (rewritten atomically) — so the log never holds two histories.
// Not here: plots and reports (the report stage reads this file).
using System.Buffers;
using System.Text.Json;
using SharpLM.Models.IO;

namespace SharpLM.Training.Checkpoints;

/// <summary>One line of metrics.jsonl.</summary>
public readonly record struct MetricsRecord(long Step, double Loss, double Lr, double GradNorm, double TokensPerSecond, double Mfu, double ElapsedSeconds, double? ValLoss = null)
{
    /// <summary>Validation bits per byte, when measured.</summary>
    public double? ValBpb { get; init; }
}

/// <summary>Appends metric records to a JSONL file.</summary>
public sealed class MetricsLog : IDisposable
{
    private readonly FileStream _fs;
    private readonly ArrayBufferWriter<byte> _buf = new(256);
    private readonly Utf8JsonWriter _w;

    /// <summary>The file.</summary>
    public string Path { get; }

    private MetricsLog(string path)
    {
        Path = path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        _fs = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        _w = new Utf8JsonWriter(_buf);
    }

    /// <summary>Opens <paramref name="path"/> for appending; with <paramref name="resumeStep"/>, first drops lines after that step and any torn line.</summary>
    public static MetricsLog Open(string path, long? resumeStep = null)
    {
        if (resumeStep is long s && File.Exists(path))
        {
            var kept = new List<string>();
            foreach (var line in File.ReadAllText(path).Split('\n'))
            {
                if (line.Length == 0) continue;
                if (TryParse(line, out var r) && r.Step <= s) kept.Add(line);
            }
            AtomicFile.WriteAllText(path, kept.Count == 0 ? "" : string.Join('\n', kept) + "\n");
        }
        return new MetricsLog(path);
    }

    /// <summary>Appends one record as a line and flushes it to the OS.</summary>
    public void Append(in MetricsRecord r)
    {
        _buf.ResetWrittenCount();
        _w.Reset(_buf);
        _w.WriteStartObject();
        _w.WriteNumber("step", r.Step);
        Num("loss", r.Loss);
        if (r.ValLoss is double v) Num("val_loss", v);
        if (r.ValBpb is double bpb) Num("val_bpb", bpb);
        Num("lr", r.Lr);
        Num("grad_norm", r.GradNorm);
        Num("tokens_per_s", r.TokensPerSecond);
        Num("mfu", r.Mfu);
        Num("elapsed", r.ElapsedSeconds);
        _w.WriteEndObject();
        _w.Flush();
        _fs.Write(_buf.WrittenSpan);
        _fs.WriteByte((byte)'\n');
        _fs.Flush();
    }

    private void Num(string name, double v)
    {
        if (double.IsFinite(v)) _w.WriteNumber(name, v);
        else _w.WriteNull(name);
    }

    /// <summary>Reads every record of a metrics file; throws naming the file and line for a malformed line.</summary>
    public static List<MetricsRecord> Read(string path)
    {
        var list = new List<MetricsRecord>();
        int n = 0;
        foreach (var line in File.ReadLines(path))
        {
            n++;
            if (line.Length == 0) continue;
            if (!TryParse(line, out var r)) throw new InvalidDataException($"{path}:{n}: not a metrics record (expected a JSON object with an integer 'step')");
            list.Add(r);
        }
        return list;
    }

    private static bool TryParse(string line, out MetricsRecord r)
    {
        r = default;
        try
        {
            using var doc = JsonDocument.Parse(line);
            var o = doc.RootElement;
            if (o.ValueKind != JsonValueKind.Object || !o.TryGetProperty("step", out var st) || !st.TryGetInt64(out long step)) return false;
            r = new MetricsRecord(step, D(o, "loss"), D(o, "lr"), D(o, "grad_norm"), D(o, "tokens_per_s"), D(o, "mfu"), D(o, "elapsed"),
                                  o.TryGetProperty("val_loss", out _) ? D(o, "val_loss") : null)
            { ValBpb = o.TryGetProperty("val_bpb", out _) ? D(o, "val_bpb") : null };
            return true;
        }
        catch (JsonException) { return false; }
    }

    private static double D(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;

    /// <inheritdoc />
    public void Dispose()
    {
        _w.Dispose();
        _fs.Dispose();
    }
}
