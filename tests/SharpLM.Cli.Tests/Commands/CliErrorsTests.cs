// CliErrors: expected failures become one line and exit code 1 — also when the failure happened inside a
// parallel loop and arrives wrapped in an AggregateException — while unexpected ones keep their trace.
using SharpLM.Cli.Commands;

namespace SharpLM.Cli.Tests.Commands;

public sealed class CliErrorsTests
{
    [Fact]
    public void UserFacingErrorsAreFoundInsideAggregateExceptions()
    {
        var bad = new InvalidDataException("docs.jsonl:7: expected a JSON object");
        Assert.Same(bad, CliErrors.UserFacing(bad));
        Assert.Same(bad, CliErrors.UserFacing(new AggregateException(bad)));
        Assert.Same(bad, CliErrors.UserFacing(new AggregateException(new AggregateException(bad)))); // nested loops
        Assert.Null(CliErrors.UserFacing(new AggregateException(bad, new InvalidDataException("another")))); // two failures: keep the trace
        Assert.Null(CliErrors.UserFacing(new InvalidOperationException("a bug")));
        Assert.Null(CliErrors.UserFacing(new AggregateException(new NullReferenceException())));
    }

    [Fact]
    public void RunReturnsOneForAWrappedBadInputAndRethrowsABug()
    {
        Assert.Equal(1, CliErrors.Run(() => throw new AggregateException(new FileNotFoundException("no such file: x.bin"))));
        Assert.Equal(0, CliErrors.Run(() => 0));
        Assert.Throws<InvalidOperationException>(() => CliErrors.Run(() => throw new InvalidOperationException("a bug")));
    }
}
