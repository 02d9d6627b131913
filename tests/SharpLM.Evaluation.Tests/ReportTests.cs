// The report writer: plots are well-formed SVG with nice ticks, and both reports carry the numbers given.
using System.Xml.Linq;
using SharpLM.Evaluation.Metrics;
using SharpLM.Evaluation.Reports;
using SharpLM.Training.Checkpoints;

namespace SharpLM.Evaluation.Tests;

public class ReportTests
{
    [Theory]
    [InlineData(10, 2)]
    [InlineData(0.37, 0.1)]
    [InlineData(1000, 200)]
    [InlineData(3, 0.5)]
    public void NiceStepsAreOneTwoFiveTimesPowersOfTen(double range, double step) => Assert.Equal(step, SvgPlot.NiceStep(range), 9);

    [Fact]
    public void ReportsCarryTheNumbersAndPlotsParse()
    {
        var r = new RunReport { Title = "test run", Command = "sharplm quickstart --pages 10" };
        r.Stages.Add(new StageTiming("generate", 1.25, false));
        r.Funnel.Add(FilterScoring.Score("quality", "spam", ["s1", "s2", "c1", "c2"], new HashSet<string> { "s1" }, id => id[0] == 's'));
        r.Facts.Add(new FactTable("Tokenizer", [("vocabulary", "512")]));
        r.Eval.Add(new EvalRow("facts acc", "41.0%", "[36.0%, 46.2%]", "chance 25.0%", "412"));
        r.Samples.Add(new SampleText("Mara lives in", " Tolbridge."));
        for (int i = 1; i <= 20; i++) r.Metrics.Add(new MetricsRecord(i, 5.0 / i, 1e-3, 1, 1000, 0.1, i, i % 10 == 0 ? 4.0 / i : null));
        r.LossReference = ("unigram", 4.2);

        var plots = ReportWriter.Plots(r);
        Assert.Equal(2, plots.Count);
        foreach (var (_, svg) in plots)
        {
            var doc = XDocument.Parse(svg);
            Assert.Equal("svg", doc.Root!.Name.LocalName);
        }
        Assert.Contains("polyline", plots[0].Svg);
        Assert.Contains("val loss", plots[0].Svg);
        Assert.Contains("unigram", plots[0].Svg);

        string md = ReportWriter.Markdown(r, plots.Select(p => p.Name).ToList());
        Assert.Contains("| quality | 4 | 1 | 3 | spam | 100.0% | 50.0% |", md);
        Assert.Contains("| facts acc | 41.0% | [36.0%, 46.2%] | chance 25.0% | 412 |", md);
        Assert.Contains("![loss](plots/loss.svg)", md);
        Assert.Contains("sharplm quickstart --pages 10", md);

        string html = ReportWriter.Html(r, plots);
        Assert.Contains("<svg", html);
        Assert.Contains("<td class=\"num\">100.0%</td>", html);
        Assert.Contains("Mara lives in", html);

        string dir = Path.Combine(Path.GetTempPath(), "sharplm-report-" + Guid.NewGuid().ToString("N"));
        try
        {
            ReportWriter.Write(dir, r);
            Assert.True(File.Exists(Path.Combine(dir, ReportWriter.MarkdownName)));
            Assert.True(File.Exists(Path.Combine(dir, ReportWriter.HtmlName)));
            XDocument.Load(Path.Combine(dir, ReportWriter.PlotsDir, ReportWriter.LossPlotName));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
