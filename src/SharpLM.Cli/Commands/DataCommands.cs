// `sharplm data …`: the data pipeline from raw pages to clean, deduplicated documents.
using System.CommandLine;

namespace SharpLM.Cli.Commands;

internal static class DataCommands
{
    public static Command Create()
    {
        var cmd = new Command("data", "Extract, filter, deduplicate and shard documents.");
        foreach (var sub in DataDedupCommands.Create()) cmd.Subcommands.Add(sub);
        foreach (var sub in DataFilterCommands.Create()) cmd.Subcommands.Add(sub);
        foreach (var sub in DataGenerateCommands.Create()) cmd.Subcommands.Add(sub);
        cmd.Subcommands.Add(DataMinHashCommands.Create());
        return cmd;
    }
}
