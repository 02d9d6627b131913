// `sharplm tokenizer …`: train, encode, decode and inspect byte-level BPE tokenizers.
using System.CommandLine;

namespace SharpLM.Cli.Commands;

internal static class TokenizerCommands
{
    public static Command Create()
    {
        var cmd = new Command("tokenizer", "Train, encode, decode and inspect byte-level BPE tokenizers.");
        return cmd;
    }
}
