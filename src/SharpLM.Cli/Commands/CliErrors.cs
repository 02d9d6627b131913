// Turns expected failures (bad input files, bad arguments) into one clear line and exit code 1,
// instead of a stack trace. Unexpected exceptions still surface with their trace.
using Spectre.Console;

namespace SharpLM.Cli.Commands;

/// <summary>An error whose message is meant for the user as it stands.</summary>
public sealed class UserFacingException(string message, Exception? inner = null) : Exception(message, inner);

internal static class CliErrors
{
    /// <summary>Runs a verb body; user-facing errors become one red line and exit code 1.</summary>
    public static int Run(Func<int> body)
    {
        try { return body(); }
        catch (Exception e) when (UserFacing(e) is { } u)
        {
            AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(u.Message)}");
            return 1;
        }
    }

    /// <summary>The user-facing error in <paramref name="e"/>, looking inside a parallel loop's AggregateException; null when there is none.</summary>
    internal static Exception? UserFacing(Exception e) => e switch
    {
        UserFacingException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
            or ArgumentException or FormatException => e,
        AggregateException a when a.Flatten().InnerExceptions is [var inner] => UserFacing(inner),
        _ => null,
    };
}
