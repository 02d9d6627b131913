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
        var stepsOpt = new Option<long?>("--steps")
        {
            Description = "Train exactly this many optimizer steps (no time cap) instead of filling the budget; for comparing variants at equal steps on a busy machine.",
        };
        var modelOpt = new Option<string?>("--model")
        {
            Description = "Fixed model size as LAYERSxWIDTH (e.g. 4x192) instead of the largest the budget allows.",
        };
        foreach (var opt in new Option[] { outOpt, minutesOpt, forceOpt, pagesOpt, seedOpt, stepsOpt, modelOpt }) cmd.Options.Add(opt);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            double minutes = pr.GetValue(minutesOpt);
            int pages = pr.GetValue(pagesOpt);
            if (minutes <= 0) throw new UserFacingException($"--minutes must be positive (got {minutes})");
            if (pages < 50) throw new UserFacingException($"--pages must be at least 50 (got {pages})");
            long? steps = pr.GetValue(stepsOpt);
            if (steps is <= 0) throw new UserFacingException($"--steps must be positive (got {steps})");
            var o = new QuickstartOptions
            {
                OutDir = pr.GetValue(outOpt)!,
                Minutes = minutes,
                Force = pr.GetValue(forceOpt),
                Pages = pages,
                Seed = pr.GetValue(seedOpt),
                Steps = steps,
                Model = ParseModel(pr.GetValue(modelOpt)),
                Command = "sharplm " + string.Join(" ", Environment.GetCommandLineArgs().Skip(1)),
            };
            Run(o);
            return 0;
        }));
        return cmd;
    }

    /// <summary>Parses "LAYERSxWIDTH" (e.g. "4x192"); null stays null.</summary>
    internal static (int Layers, int Width)? ParseModel(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var parts = text.Split('x', 'X');
        if (parts.Length != 2 || !int.TryParse(parts[0], out int layers) || !int.TryParse(parts[1], out int width) || layers < 1 || width < 32 || width % 32 != 0)
            throw new UserFacingException($"--model: expected LAYERSxWIDTH with at least one layer and a width that is a multiple of 32, like 4x192 (got '{text}')");
        return (layers, width);
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
