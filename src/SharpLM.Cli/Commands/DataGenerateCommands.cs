// `sharplm data generate-crawl`: writes the labelled synthetic web crawl (WARC + labels.jsonl) and its
// held-out multiple-choice questions (questions.jsonl). The same generator feeds the quickstart and the tests.
using System.CommandLine;
using SharpLM.Text.Data.Synthetic;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

internal static class DataGenerateCommands
{
    /// <summary>The `sharplm data` subcommands this file owns.</summary>
    public static IEnumerable<Command> Create() => [GenerateCrawl()];

    private static Command GenerateCrawl()
    {
        var cmd = new Command("generate-crawl",
            "Generate a labelled synthetic web crawl about a seeded fictional world: WARC of HTML pages with boilerplate, " +
            "exact/near duplicates, spam, keyword stuffing, thin pages, personal data and other languages; labels.jsonl " +
            "(ground truth per page), questions.jsonl (held-out multiple-choice questions) and world.json.");
        var outOpt = new Option<string>("--out") { Description = "Output directory.", Required = true };
        var pagesOpt = new Option<int>("--pages") { Description = "Number of pages.", DefaultValueFactory = _ => 1000 };
        var seedOpt = new Option<long>("--seed") { Description = "Seed of the world and the crawl.", DefaultValueFactory = _ => 1 };
        var htmlOpt = new Option<bool>("--html") { Description = "Also write one .html file per page under html/." };
        var plainOpt = new Option<bool>("--plain-warc") { Description = "Write crawl.warc uncompressed instead of crawl.warc.gz (gzip per record)." };
        var arithOpt = new Option<int>("--arithmetic") { Description = "Number of arithmetic questions.", DefaultValueFactory = _ => 100 };
        foreach (var o in new Option[] { outOpt, pagesOpt, seedOpt, htmlOpt, plainOpt, arithOpt }) cmd.Options.Add(o);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            int pages = pr.GetValue(pagesOpt);
            if (pages < 1) throw new UserFacingException($"--pages must be at least 1 (got {pages})");
            int arith = pr.GetValue(arithOpt);
            if (arith < 0) throw new UserFacingException($"--arithmetic must be non-negative (got {arith})");
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var s = CrawlFiles.Write(pr.GetValue(outOpt)!, new CrawlOptions(pages, pr.GetValue(seedOpt)),
                gzip: !pr.GetValue(plainOpt), htmlFolder: pr.GetValue(htmlOpt), arithmeticQuestions: arith);
            Print(s, sw.Elapsed);
            return 0;
        }));
        return cmd;
    }

    internal static void Print(CrawlSummary s, TimeSpan elapsed)
    {
        var t = new Table().AddColumn("label").AddColumn(new TableColumn("pages").RightAligned());
        foreach (var (label, n) in s.LabelCounts.OrderBy(kv => (int)kv.Key))
            t.AddRow(label == PageLabels.None ? "clean" : string.Join(",", CrawlFiles.LabelNames(label)), n.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        AnsiConsole.Write(t);
        AnsiConsole.MarkupLine(Markup.Escape(
            $"{s.Pages:N0} pages, {s.HtmlBytes / 1e6:F1} MB HTML, {s.CleanTextBytes / 1e6:F1} MB main text, {s.Questions} questions in {elapsed.TotalSeconds:F1} s"));
        AnsiConsole.MarkupLine(Markup.Escape($"wrote {s.WarcPath}, {s.LabelsPath}, {s.QuestionsPath}"));
    }
}
