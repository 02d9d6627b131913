// The `sharplm` command: one verb per pipeline stage. Each area registers its verbs in its own
// file under Commands/ so the root stays a list.
using System.CommandLine;
using SharpLM.Cli.Commands;

var root = new RootCommand("SharpLM: build a language model end to end in C# — data, tokenizer, engine, benchmarks.");
root.Subcommands.Add(BenchCommands.Create());
root.Subcommands.Add(TokenizerCommands.Create());
root.Subcommands.Add(DataCommands.Create());
root.Subcommands.Add(ShardCommands.Create());
root.Subcommands.Add(QuickstartCommand.Create());
root.Subcommands.Add(TrainCommands.Create());
root.Subcommands.Add(GenerateCommands.Generate());
root.Subcommands.Add(GenerateCommands.Chat());
root.Subcommands.Add(GenerateCommands.Quantize());
root.Subcommands.Add(GgufCommands.Create());
return await root.Parse(args).InvokeAsync();
