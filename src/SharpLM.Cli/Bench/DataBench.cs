// Benchmark verbs: data.
using System.CommandLine;

namespace SharpLM.Cli.Bench;

internal static class DataBench
{
    /// <summary>The `sharplm bench` subcommands this file owns.</summary>
    public static IEnumerable<Command> Create() => [];
}
