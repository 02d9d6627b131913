// `sharplm data` verbs for deduplication (exact, URL, lines, MinHash-LSH).
using System.CommandLine;

namespace SharpLM.Cli.Commands;

internal static class DataDedupCommands
{
    /// <summary>The `sharplm data` subcommands this file owns.</summary>
    public static IEnumerable<Command> Create() => [];
}
