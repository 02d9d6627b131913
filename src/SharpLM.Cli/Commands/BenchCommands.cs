// `sharplm bench …`: every benchmark verb. Each prints a table, or JSON lines with --json
// (see Bench/BenchReport.cs for the contract).
using System.CommandLine;
using SharpLM.Cli.Bench;

namespace SharpLM.Cli.Commands;

internal static class BenchCommands
{
    /// <summary>Shared --json flag.</summary>
    public static Option<bool> JsonOption() => new("--json") { Description = "One JSON object per line per measurement instead of a table." };

    /// <summary>Shared --threads option (0 = all cores).</summary>
    public static Option<int> ThreadsOption() => new("--threads") { Description = "Worker threads (0 = one per core).", DefaultValueFactory = _ => 0 };

    public static Command Create()
    {
        var bench = new Command("bench", "Measure speed against this machine's peak or a peer, measured in the same run.");
        // Each area owns its verbs in its own file under Bench/.
        foreach (var c in new[] { EngineBench.Create(), TokenizerBench.Create(), DataBench.Create(), [KernelsBench.Create()] })
            foreach (var sub in c) bench.Subcommands.Add(sub);
        bench.Subcommands.Add(TrainBench.Create());
        foreach (var sub in DedupBench.Create()) bench.Subcommands.Add(sub);
        bench.Subcommands.Add(GenerateBench.Create());
        return bench;
    }
}
