// Benchmark verbs: peak, gemm, kernels.
using System.CommandLine;

namespace SharpLM.Cli.Bench;

internal static class EngineBench
{
    /// <summary>The `sharplm bench` subcommands this file owns.</summary>
    public static IEnumerable<Command> Create() => [];
}
