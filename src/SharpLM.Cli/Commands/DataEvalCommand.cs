// `sharplm data eval-crawl`: measures extraction, language ID, PII and each filter against a labelled synthetic
// crawl generated in memory (the same generator as `sharplm data generate-crawl`).
using System.CommandLine;
using System.Globalization;
using SharpLM.Text.Data.Evaluation;
using SharpLM.Text.Data.Pipeline;
using SharpLM.Text.Data.Synthetic;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

internal static class DataEvalCommand
{
    public static Command Create()
    {
        var cmd = new Command("eval-crawl", "Measure extraction word F1, language ID accuracy, PII recall and per-filter precision/recall on a labelled synthetic crawl.");
        var pages = new Option<int>("--pages") { Description = "Pages to generate.", DefaultValueFactory = _ => 2000 };
        var seed = new Option<long>("--seed") { Description = "Seed of the synthetic world and crawl.", DefaultValueFactory = _ => 1 };
        var filters = new Option<string>("--filters") { Description = "Comma-separated filters to score one by one and as a chain.", DefaultValueFactory = _ => "langid,gopher_repetition,gopher_quality,c4,fineweb,bad_words" };
        cmd.Options.Add(pages); cmd.Options.Add(seed); cmd.Options.Add(filters);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            int n = pr.GetValue(pages);
            if (n < 1) throw new UserFacingException($"--pages must be at least 1 (got {n})");
            var gen = new CrawlGenerator(new CrawlOptions(n, pr.GetValue(seed)));
            var list = gen.Pages().ToList();
            var names = pr.GetValue(filters)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var r = CrawlEvaluation.Run(list, StepCatalog.Default(), names);
            Print(r);
            return 0;
        }));
        return cmd;
    }

    private static string F(double v) => v.ToString("0.0000", CultureInfo.InvariantCulture);

    internal static void Print(CrawlEvalResult r)
    {
        var t = new Table().Title($"synthetic crawl: {r.Pages} pages").AddColumns("measure", "value", "target");
        t.AddRow("extraction word F1 (micro)", F(r.ExtractionMicroF1), "≥ 0.9");
        t.AddRow("extraction word F1 (mean per page)", F(r.ExtractionMeanF1), "");
        t.AddRow("language ID accuracy (pages)", F(r.LangIdPageAccuracy), "");
        t.AddRow($"language ID accuracy ({r.LangIdParagraphs} paragraphs of 100+ chars)", F(r.LangIdParagraphAccuracy), "≥ 0.97");
        t.AddRow($"PII recall ({r.PiiStrings} strings)", F(r.PiiRecall), "≥ 0.99");
        t.AddRow("pages with PII placeholders but no PII", r.PiiFalsePositivePages.ToString(CultureInfo.InvariantCulture), "");
        AnsiConsole.Write(t);
        var ft = new Table().Title("filters vs labels").AddColumns("filter", "target labels", "removed", "true pos.", "targets", "precision", "recall", "precision (any label)");
        foreach (var s in r.Filters)
            ft.AddRow(Markup.Escape(s.Filter), Markup.Escape(s.Target), s.Removed.ToString(CultureInfo.InvariantCulture), s.TruePositives.ToString(CultureInfo.InvariantCulture),
                s.Targets.ToString(CultureInfo.InvariantCulture), F(s.Precision), F(s.Recall), F(s.PrecisionAnyLabel));
        AnsiConsole.Write(ft);
    }
}
