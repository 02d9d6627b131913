// Renders a RunReport as Markdown (report.md, with plots as .svg files beside it) and as one
// self-contained HTML page (report.html, plots inline as SVG, no script, no external assets).
// Both list the same numbers; neither recomputes anything.
using System.Globalization;
using System.Net;
using System.Text;
using SharpLM.Evaluation.Metrics;

namespace SharpLM.Evaluation.Reports;

/// <summary>Writes report.md and report.html.</summary>
public static class ReportWriter
{
    /// <summary>File names written into the run directory.</summary>
    public const string MarkdownName = "report.md", HtmlName = "report.html", PlotsDir = "plots", LossPlotName = "loss.svg", LrPlotName = "lr.svg";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Writes both reports (and the plot files) into <paramref name="dir"/>, each atomically.</summary>
    public static void Write(string dir, RunReport r)
    {
        Directory.CreateDirectory(Path.Combine(dir, PlotsDir));
        var plots = Plots(r);
        foreach (var (name, svg) in plots) SharpLM.Models.IO.AtomicFile.WriteAllText(Path.Combine(dir, PlotsDir, name), svg);
        SharpLM.Models.IO.AtomicFile.WriteAllText(Path.Combine(dir, MarkdownName), Markdown(r, plots.Select(p => p.Name).ToList()));
        SharpLM.Models.IO.AtomicFile.WriteAllText(Path.Combine(dir, HtmlName), Html(r, plots));
    }

    /// <summary>The plots of a report as (file name, SVG).</summary>
    public static List<(string Name, string Svg)> Plots(RunReport r)
    {
        var list = new List<(string, string)>();
        if (r.Metrics.Count == 0) return list;
        var series = new List<PlotSeries>
        {
            new("train loss", r.Metrics.Select(m => ((double)m.Step, m.Loss)).ToList(), "#1f77b4"),
        };
        var val = r.Metrics.Where(m => m.ValLoss is double).Select(m => ((double)m.Step, m.ValLoss!.Value)).ToList();
        if (val.Count > 0) series.Add(new("val loss", val, "#d62728"));
        if (r.LossReference is var (name, value))
        {
            double a = r.Metrics[0].Step, b = r.Metrics[^1].Step;
            series.Add(new(name, [(a, value), (b, value)], "#7f7f7f"));
        }
        list.Add((LossPlotName, SvgPlot.Lines("Loss (nats per token)", "step", "loss", series)));
        list.Add((LrPlotName, SvgPlot.Lines("Learning rate", "step", "lr", [new("lr", r.Metrics.Select(m => ((double)m.Step, m.Lr)).ToList(), "#2ca02c")], height: 220)));
        return list;
    }

    /// <summary>A ratio as a percentage with one decimal, or "–".</summary>
    public static string Pct(double? v) => v is double d && double.IsFinite(d) ? (100 * d).ToString("0.0", Inv) + "%" : "–";

    private static string Num(long v) => v.ToString("N0", Inv);

    private static string Duration(double s) => s < 60 ? s.ToString("0.0", Inv) + " s" : $"{(int)(s / 60)} min {(s % 60).ToString("00", Inv)} s";

    private static IEnumerable<(string Title, string[] Head, List<string[]> Rows)> Tables(RunReport r)
    {
        var m = r.Machine;
        yield return ("Run", ["", ""], [
            ["command", r.Command],
            ["started", r.StartedUtc.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", Inv)],
            ["wall time", Duration((r.FinishedUtc - r.StartedUtc).TotalSeconds)],
            ["time of all stages", Duration(r.Stages.Sum(s => s.Seconds)) + (r.Stages.Any(s => s.Reused) ? " (some reused from an earlier run)" : "")],
            ["machine", $"{m.Cpu}, {m.Cores} logical cores, {(m.MemoryBytes / (1024.0 * 1024 * 1024)).ToString("0.0", Inv)} GiB"],
            ["software", $"{m.Runtime} on {m.Os}; SIMD: {m.Simd}"],
        ]);
        if (r.Stages.Count > 0)
            yield return ("Stages", ["stage", "time", "status", "note"],
                r.Stages.Select(s => new[] { s.Name, Duration(s.Seconds), s.Reused ? "reused" : "ran", s.Note }).ToList());
        if (r.Funnel.Count > 0)
            yield return ("Data funnel (precision and recall against the generator's labels)", ["step", "in", "removed", "out", "targets", "precision", "recall"],
                r.Funnel.Select(f => new[] { f.Step, Num(f.In), f.Redacts ? Num(f.Removed) + " redacted" : Num(f.Removed), Num(f.Out), f.Target, Pct(f.Precision), Pct(f.Recall) }).ToList());
        foreach (var t in r.Facts)
            yield return (t.Title, ["", ""], t.Rows.Select(kv => new[] { kv.Key, kv.Value }).ToList());
        if (r.Eval.Count > 0)
            yield return ("Evaluation", ["metric", "value", "95% interval", "reference", "n"],
                r.Eval.Select(e => new[] { e.Metric, e.Value, e.Interval, e.Reference, e.N }).ToList());
    }

    /// <summary>The Markdown report; plots are linked from plots/.</summary>
    public static string Markdown(RunReport r, IReadOnlyList<string> plotFiles)
    {
        var sb = new StringBuilder();
        sb.Append("# ").Append(r.Title).Append("\n\n");
        foreach (var (title, head, rows) in Tables(r))
        {
            sb.Append("## ").Append(title).Append("\n\n");
            sb.Append("| ").Append(string.Join(" | ", head.Select(MdCell))).Append(" |\n");
            sb.Append('|').Append(string.Concat(head.Select(_ => "---|"))).Append('\n');
            foreach (var row in rows) sb.Append("| ").Append(string.Join(" | ", row.Select(MdCell))).Append(" |\n");
            sb.Append('\n');
        }
        if (plotFiles.Count > 0)
        {
            sb.Append("## Training curves\n\n");
            foreach (var p in plotFiles) sb.Append("![").Append(Path.GetFileNameWithoutExtension(p)).Append("](").Append(PlotsDir).Append('/').Append(p).Append(")\n\n");
        }
        if (r.Samples.Count > 0)
        {
            sb.Append("## Samples (greedy)\n\n");
            foreach (var s in r.Samples) sb.Append("- **").Append(MdCell(s.Prompt)).Append("**").Append(MdCell(s.Completion)).Append('\n');
            sb.Append('\n');
        }
        if (r.NextSteps.Count > 0)
        {
            sb.Append("## Next\n\n");
            foreach (var line in r.NextSteps) sb.Append("    ").Append(line).Append('\n');
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static string MdCell(string s) => s.Replace("|", "\\|").Replace("\r", "").Replace("\n", " ⏎ ");

    /// <summary>The self-contained HTML report with inline SVG plots.</summary>
    public static string Html(RunReport r, IReadOnlyList<(string Name, string Svg)> plots)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(E(r.Title)).Append("</title>\n<style>\n")
          .Append("body { font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #222; }\n")
          .Append("table { border-collapse: collapse; margin: 0.5em 0 1.5em; } td, th { border: 1px solid #ccc; padding: 4px 10px; text-align: left; }\n")
          .Append("th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }\n")
          .Append("pre, code { background: #f6f6f6; } pre { padding: 0.6em; white-space: pre-wrap; } .sample b { color: #1f4e99; }\n")
          .Append("</style>\n</head>\n<body>\n<h1>").Append(E(r.Title)).Append("</h1>\n");
        foreach (var (title, head, rows) in Tables(r))
        {
            sb.Append("<h2>").Append(E(title)).Append("</h2>\n<table>\n");
            if (head.Any(h => h.Length > 0))
            {
                sb.Append("<tr>");
                foreach (var h in head) sb.Append("<th>").Append(E(h)).Append("</th>");
                sb.Append("</tr>\n");
            }
            foreach (var row in rows)
            {
                sb.Append("<tr>");
                foreach (var c in row)
                {
                    bool num = c.Length > 0 && (char.IsDigit(c[0]) || c == "–") && !c.Contains(' ', StringComparison.Ordinal);
                    sb.Append(num ? "<td class=\"num\">" : "<td>").Append(E(c)).Append("</td>");
                }
                sb.Append("</tr>\n");
            }
            sb.Append("</table>\n");
        }
        if (plots.Count > 0)
        {
            sb.Append("<h2>Training curves</h2>\n");
            foreach (var (_, svg) in plots) sb.Append("<figure>\n").Append(svg).Append("</figure>\n");
        }
        if (r.Samples.Count > 0)
        {
            sb.Append("<h2>Samples (greedy)</h2>\n");
            foreach (var s in r.Samples) sb.Append("<pre class=\"sample\"><b>").Append(E(s.Prompt)).Append("</b>").Append(E(s.Completion)).Append("</pre>\n");
        }
        if (r.NextSteps.Count > 0)
        {
            sb.Append("<h2>Next</h2>\n<pre>");
            sb.Append(E(string.Join("\n", r.NextSteps)));
            sb.Append("</pre>\n");
        }
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }
}
