// `sharplm quickstart`: the most end-to-end run the project can do on this machine — generate a labelled
// crawl, clean it, train a tokenizer, pretrain a small model within the time budget, evaluate it and
// write report.md / report.html. The stages live in Quickstart/ (QuickstartRunner, QuickstartStages).
using System.CommandLine;
using SharpLM.Cli.Quickstart;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

internal static class QuickstartCommand
{
    public static Command Create()
    {
        var cmd = new Command("quickstart",
            "Run the pipeline end to end on generated data: synthetic crawl → data pipeline (with precision/recall against the " +
            "crawl's labels) → tokenizer → token shards → pretraining sized to the time budget → evaluation (loss, bits per byte, " +
            "unigram baseline, held-out multiple-choice questions with 95% intervals, greedy samples) → report.md and report.html. " +
            "Finished stages are reused on a rerun.");
        var outOpt = new Option<string>("--out") { Description = "Run directory.", DefaultValueFactory = _ => "runs/quickstart" };
        var minutesOpt = new Option<double>("--minutes") { Description = "Wall-time budget of the whole run in minutes; pretraining gets what the other stages leave.", DefaultValueFactory = _ => 10 };
        var forceOpt = new Option<bool>("--force") { Description = "Redo every stage even if its artifacts exist." };
        var pagesOpt = new Option<int>("--pages") { Description = "Pages of the synthetic crawl.", DefaultValueFactory = _ => 12000 };
        var seedOpt = new Option<long>("--seed") { Description = "Seed of the synthetic world, the crawl and training.", DefaultValueFactory = _ => 1 };
        foreach (var opt in new Option[] { outOpt, minutesOpt, forceOpt, pagesOpt, seedOpt }) cmd.Options.Add(opt);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            double minutes = pr.GetValue(minutesOpt);
            int pages = pr.GetValue(pagesOpt);
            if (minutes <= 0) throw new UserFacingException($"--minutes must be positive (got {minutes})");
            if (pages < 50) throw new UserFacingException($"--pages must be at least 50 (got {pages})");
            var o = new QuickstartOptions
            {
                OutDir = pr.GetValue(outOpt)!,
                Minutes = minutes,
                Force = pr.GetValue(forceOpt),
                Pages = pages,
                Seed = pr.GetValue(seedOpt),
                Command = "sharplm " + string.Join(" ", Environment.GetCommandLineArgs().Skip(1)),
            };
            Run(o);
            return 0;
        }));
        return cmd;
    }

    internal static void Run(QuickstartOptions o)
    {
        var runner = new QuickstartRunner(o, m => AnsiConsole.MarkupLine(Markup.Escape(m)));
        var stages = runner.Run();
        var t = new Table().AddColumn("stage").AddColumn(new TableColumn("seconds").RightAligned()).AddColumn("status");
        foreach (var s in stages) t.AddRow(s.Name, s.Seconds.ToString("F1", System.Globalization.CultureInfo.InvariantCulture), s.Reused ? "reused" : "ran");
        AnsiConsole.Write(t);
        AnsiConsole.MarkupLine(Markup.Escape($"report: {Path.Combine(o.OutDir, "report.md")} and {Path.Combine(o.OutDir, "report.html")}"));
        AnsiConsole.MarkupLine(Markup.Escape($"chat with the model: {QuickstartReport.ChatCommand(o)}"));
    }
}
