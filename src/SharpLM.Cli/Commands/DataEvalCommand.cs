// `sharplm data eval-crawl`: measures extraction, language ID, PII and the filters against a labelled synthetic crawl.
using System.CommandLine;

namespace SharpLM.Cli.Commands;

internal static class DataEvalCommand
{
    public static Command Create()
    {
        var cmd = new Command("eval-crawl", "Measure extraction F1, language ID accuracy, PII recall and per-filter precision/recall on a labelled synthetic crawl.");
        cmd.SetAction(_ => CliErrors.Run(() => throw new UserFacingException("eval-crawl needs the synthetic crawl generator (SharpLM.Text.Data.Synthetic)")));
        return cmd;
    }
}
