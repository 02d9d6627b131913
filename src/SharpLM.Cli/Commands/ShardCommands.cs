// `sharplm shards …`: look inside token shards (.bin + .idx) and build one from a text file of token ids.
using System.CommandLine;
using System.Globalization;
using SharpLM.Training.Data;

namespace SharpLM.Cli.Commands;

internal static class ShardCommands
{
    public static Command Create()
    {
        var cmd = new Command("shards", "Inspect and write token shards (.bin token stream + .idx document index).");
        cmd.Subcommands.Add(Inspect());
        cmd.Subcommands.Add(Write());
        return cmd;
    }

    private static Command Inspect()
    {
        var file = new Argument<string>("file") { Description = "The shard's .bin file (its .idx must sit beside it)." };
        var first = new Option<int>("--first") { Description = "How many leading tokens to print.", DefaultValueFactory = _ => 16 };
        var verify = new Option<bool>("--verify") { Description = "Scan every token: range and checksum." };
        var cmd = new Command("inspect", "Print a shard's counts, token width, document lengths and first tokens.");
        cmd.Arguments.Add(file);
        cmd.Options.Add(first);
        cmd.Options.Add(verify);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var s = ShardTools.Inspect(pr.GetValue(file)!, pr.GetValue(first), pr.GetValue(verify));
            var ci = CultureInfo.InvariantCulture;
            Console.WriteLine($"file          {s.Path}");
            Console.WriteLine($"index         {s.IndexPath}");
            Console.WriteLine($"dtype         {(s.Width == 2 ? "uint16" : "uint32")} ({s.Width} bytes/token)");
            Console.WriteLine($"vocab size    {s.VocabSize.ToString("N0", ci)}");
            Console.WriteLine($"tokens        {s.Tokens.ToString("N0", ci)}");
            Console.WriteLine($"documents     {s.Documents.ToString("N0", ci)}");
            Console.WriteLine($"doc length    min {s.MinDocLength.ToString("N0", ci)} / mean {s.MeanDocLength.ToString("N1", ci)} / max {s.MaxDocLength.ToString("N0", ci)}");
            Console.WriteLine($"checksum      {s.Checksum:x16}{(s.Verified ? " (verified)" : "")}");
            Console.WriteLine($"first tokens  {string.Join(' ', s.FirstTokens)}");
            return 0;
        }));
        return cmd;
    }

    private static Command Write()
    {
        var input = new Option<string>("--input") { Description = "Text file: one document per line, whitespace-separated token ids.", Required = true };
        var output = new Option<string>("--output") { Description = "The .bin to write (the .idx goes beside it).", Required = true };
        var vocab = new Option<int>("--vocab-size") { Description = "Vocabulary size; uint16 tokens when ≤ 65536.", Required = true };
        var cmd = new Command("write", "Write a token shard from a text file of token ids.");
        cmd.Options.Add(input);
        cmd.Options.Add(output);
        cmd.Options.Add(vocab);
        cmd.SetAction(pr => CliErrors.Run(() =>
        {
            var (tokens, docs) = ShardTools.ImportText(pr.GetValue(input)!, pr.GetValue(output)!, pr.GetValue(vocab));
            Console.WriteLine($"wrote {pr.GetValue(output)}: {tokens.ToString("N0", CultureInfo.InvariantCulture)} tokens in {docs.ToString("N0", CultureInfo.InvariantCulture)} documents");
            return 0;
        }));
        return cmd;
    }
}
