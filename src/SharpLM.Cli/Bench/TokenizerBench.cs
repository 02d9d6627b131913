// Benchmark verbs: tokenizer.
using System.CommandLine;

namespace SharpLM.Cli.Bench;

internal static class TokenizerBench
{
    /// <summary>The `sharplm bench` subcommands this file owns.</summary>
    public static IEnumerable<Command> Create() => [];
}
