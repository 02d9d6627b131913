// The output contract shared by every `sharplm bench …` verb: a readable table by default, and with
// --json one JSON object per line per measurement with bench, case, threads, value, unit and — when a
// baseline was measured in the same run — baseline, baseline_value and ratio (value ÷ baseline, so > 1
// is better for throughput). Scripts and dashboards rely on these field names.
using System.Globalization;
using System.Text.Json;
using Spectre.Console;

namespace SharpLM.Cli.Bench;

/// <summary>One measurement of a benchmark.</summary>
public sealed record BenchRow(
    string Bench, string Case, int Threads, double Value, string Unit,
    string? Baseline = null, double? BaselineValue = null, string? Note = null)
{
    /// <summary>value ÷ baseline_value when a baseline was measured.</summary>
    public double? Ratio => BaselineValue is > 0 ? Value / BaselineValue.Value : null;
}

/// <summary>Collects rows and prints them as a table, or streams them as JSON lines.</summary>
public sealed class BenchReport(bool json, TextWriter? jsonOut = null)
{
    private readonly List<BenchRow> _rows = [];
    private readonly TextWriter _out = jsonOut ?? Console.Out;

    public bool Json => json;
    public IReadOnlyList<BenchRow> Rows => _rows;

    /// <summary>Records a row; in JSON mode it is written at once so long runs stream.</summary>
    public void Add(BenchRow row)
    {
        _rows.Add(row);
        if (json) { _out.WriteLine(ToJson(row)); _out.Flush(); }
    }

    /// <summary>Prints the table (no-op in JSON mode, where rows were already streamed).</summary>
    public void Flush(string title)
    {
        if (json || _rows.Count == 0) return;
        var table = new Table().Title(title).AddColumns("bench", "case", "threads", "value", "unit", "baseline", "ratio");
        foreach (var r in _rows)
        {
            table.AddRow(
                Markup.Escape(r.Bench), Markup.Escape(r.Case), r.Threads.ToString(CultureInfo.InvariantCulture),
                r.Value.ToString("G5", CultureInfo.InvariantCulture), Markup.Escape(r.Unit),
                r.Baseline is null ? "" : Markup.Escape($"{r.Baseline} = {r.BaselineValue?.ToString("G5", CultureInfo.InvariantCulture)}"),
                r.Ratio is { } ratio ? ratio.ToString("0.000", CultureInfo.InvariantCulture) : "");
        }
        AnsiConsole.Write(table);
    }

    /// <summary>The JSON line of a row, with the contract's snake_case field names.</summary>
    public static string ToJson(BenchRow r)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("bench", r.Bench);
            w.WriteString("case", r.Case);
            w.WriteNumber("threads", r.Threads);
            w.WriteNumber("value", Round(r.Value));
            w.WriteString("unit", r.Unit);
            if (r.Baseline is not null && r.BaselineValue is { } bv)
            {
                w.WriteString("baseline", r.Baseline);
                w.WriteNumber("baseline_value", Round(bv));
                w.WriteNumber("ratio", Round(r.Ratio ?? 0));
            }
            if (r.Note is not null) w.WriteString("note", r.Note);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    private static double Round(double v) => double.IsFinite(v) ? Math.Round(v, 6) : 0;
}

/// <summary>Small timing helpers: medians over repeats, because the machine is shared and noisy.</summary>
public static class BenchTiming
{
    /// <summary>Runs <paramref name="body"/> <paramref name="warmup"/> times, then <paramref name="repeats"/> timed times; returns the median seconds.</summary>
    public static double MedianSeconds(Action body, int repeats, int warmup = 1)
    {
        for (int i = 0; i < warmup; i++) body();
        var times = new double[Math.Max(1, repeats)];
        for (int i = 0; i < times.Length; i++)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            body();
            times[i] = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }

    /// <summary>
    /// Calls <paramref name="body"/> until it has run at least <paramref name="minCalls"/> times and
    /// <paramref name="seconds"/> of wall time, so the timed calls run the runtime's optimised (tier-1) code: a method
    /// is recompiled only after about 30 calls plus a background-compile delay, and a kernel timed on its first few
    /// calls measures the unoptimised tier.
    /// </summary>
    public static void WarmUp(Action body, double seconds = 0.5, int minCalls = 40)
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        for (int calls = 0; calls < minCalls || System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds < seconds; calls++) body();
    }

    /// <summary>Repeats so one timed sample lasts about <paramref name="minSeconds"/>; returns the median seconds per call.</summary>
    public static double MedianSecondsPerCall(Action body, double minSeconds = 0.05, int samples = 7)
    {
        body();
        int inner = 1;
        while (true)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            for (int i = 0; i < inner; i++) body();
            double s = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if (s >= minSeconds || inner >= 1 << 24) break;
            inner = s <= 0 ? inner * 16 : Math.Max(inner * 2, (int)Math.Min(1 << 24, inner * minSeconds / s * 1.2));
        }
        var n = inner;
        return MedianSeconds(() => { for (int i = 0; i < n; i++) body(); }, samples, warmup: 0) / n;
    }
}
