// Line plots as standalone SVG (no script, no external fonts) for the run report: loss curves from
// metrics.jsonl. Axes with "nice" tick steps (1, 2, 5 × 10^k, as in Heckbert's Graphics Gems labelling),
// one polyline per series, a legend. Non-finite points are skipped.
using System.Globalization;
using System.Net;
using System.Text;

namespace SharpLM.Evaluation.Reports;

/// <summary>One named series of (x, y) points.</summary>
public sealed record PlotSeries(string Name, IReadOnlyList<(double X, double Y)> Points, string Colour);

/// <summary>Writes line plots as SVG.</summary>
public static class SvgPlot
{
    private static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>A tick step of 1, 2 or 5 × 10^k giving about <paramref name="ticks"/> ticks over <paramref name="range"/>.</summary>
    public static double NiceStep(double range, int ticks = 5)
    {
        if (!(range > 0)) return 1;
        double raw = range / ticks, mag = Math.Pow(10, Math.Floor(Math.Log10(raw))), f = raw / mag;
        return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
    }

    /// <summary>An SVG document plotting <paramref name="series"/>.</summary>
    public static string Lines(string title, string xLabel, string yLabel, IReadOnlyList<PlotSeries> series, int width = 640, int height = 320)
    {
        var pts = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        sb.Append(CultureInfo.InvariantCulture, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{width / 2}\" y=\"16\" text-anchor=\"middle\" font-size=\"13\">{WebUtility.HtmlEncode(title)}</text>\n");
        if (pts.Count == 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{width / 2}\" y=\"{height / 2}\" text-anchor=\"middle\">no data</text>\n</svg>\n");
            return sb.ToString();
        }
        double x0 = pts.Min(p => p.X), x1 = pts.Max(p => p.X), y0 = pts.Min(p => p.Y), y1 = pts.Max(p => p.Y);
        if (x1 <= x0) x1 = x0 + 1;
        if (y1 <= y0) { y1 = y0 + 0.5; y0 -= 0.5; }
        double xs = NiceStep(x1 - x0), ys = NiceStep(y1 - y0);
        x0 = Math.Floor(x0 / xs) * xs; x1 = Math.Ceiling(x1 / xs) * xs;
        y0 = Math.Floor(y0 / ys) * ys; y1 = Math.Ceiling(y1 / ys) * ys;
        const int L = 56, R = 16, T = 28, B = 40;
        double pw = width - L - R, ph = height - T - B;
        double Px(double x) => L + (x - x0) / (x1 - x0) * pw;
        double Py(double y) => T + ph - (y - y0) / (y1 - y0) * ph;

        sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{L}\" y=\"{T}\" width=\"{F(pw)}\" height=\"{F(ph)}\" fill=\"none\" stroke=\"#888\"/>\n");
        for (double x = x0; x <= x1 + xs / 2; x += xs)
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(Px(x))}\" y1=\"{T}\" x2=\"{F(Px(x))}\" y2=\"{F(T + ph)}\" stroke=\"#eee\"/><text x=\"{F(Px(x))}\" y=\"{F(T + ph + 14)}\" text-anchor=\"middle\">{F(x)}</text>\n");
        for (double y = y0; y <= y1 + ys / 2; y += ys)
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{L}\" y1=\"{F(Py(y))}\" x2=\"{F(L + pw)}\" y2=\"{F(Py(y))}\" stroke=\"#eee\"/><text x=\"{L - 4}\" y=\"{F(Py(y) + 4)}\" text-anchor=\"end\">{F(y)}</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(L + pw / 2)}\" y=\"{height - 8}\" text-anchor=\"middle\">{WebUtility.HtmlEncode(xLabel)}</text>\n");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"14\" y=\"{F(T + ph / 2)}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {F(T + ph / 2)})\">{WebUtility.HtmlEncode(yLabel)}</text>\n");
        int legend = 0;
        foreach (var s in series)
        {
            var good = s.Points.Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
            if (good.Count == 0) continue;
            if (good.Count == 1)
                sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{F(Px(good[0].X))}\" cy=\"{F(Py(good[0].Y))}\" r=\"3\" fill=\"{s.Colour}\"/>\n");
            else
                sb.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{s.Colour}\" stroke-width=\"1.5\" points=\"{string.Join(" ", good.Select(p => F(Px(p.X)) + "," + F(Py(p.Y))))}\"/>\n");
            double ly = T + 12 + 14 * legend++;
            sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(L + pw - 120)}\" y1=\"{F(ly - 4)}\" x2=\"{F(L + pw - 100)}\" y2=\"{F(ly - 4)}\" stroke=\"{s.Colour}\" stroke-width=\"2\"/><text x=\"{F(L + pw - 96)}\" y=\"{F(ly)}\">{WebUtility.HtmlEncode(s.Name)}</text>\n");
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }
}
