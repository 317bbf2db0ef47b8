using ActorTrainer.Core;
using ActorTrainer.Daemon.Cli;
using ActorTrainer.Daemon.Output;
using System.Text.Json.Nodes;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>The error boundary's mapping of exceptions to exit codes and one-line messages, and JSON numbers.</summary>
public sealed class ErrorBoundaryTests
{
    private static (int Code, string Err) Run(Exception e, bool verbose)
    {
        var w = new StringWriter();
        var code = ErrorBoundary.Run(() => throw e, verbose, w);
        return (code, w.ToString());
    }

    [Fact]
    public void Input_errors_exit_2_with_one_line()
    {
        foreach (var e in new Exception[] { new DataFormatException("file 'x': bad magic"), new ResourceLimitException("needs 9 bytes"),
                                            new InvalidDataException("bad"), new FileNotFoundException("missing 'f'") })
        {
            var (code, err) = Run(e, verbose: false);
            Assert.Equal(ExitCodes.BadInput, code);
            Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("error: ", err);
        }
    }

    [Fact]
    public void Unexpected_errors_exit_70_with_the_trace_only_when_verbose()
    {
        var (code, err) = Run(new InvalidOperationException("boom\nsecond line"), verbose: false);
        Assert.Equal(ExitCodes.Software, code);
        Assert.Contains("error: internal error (InvalidOperationException): boom second line", err);
        Assert.DoesNotContain("   at ", err);
        Assert.Equal(2, err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);   // the line and the --verbose hint
        (code, err) = Run(new InvalidOperationException("boom"), verbose: true);
        Assert.Equal(ExitCodes.Software, code);
        Assert.Contains("   at ", err);
    }

    [Fact]
    public void A_cluster_run_without_its_workers_exits_69_with_one_line_and_no_stack_trace()
    {
        var (code, err) = Run(new ActorTrainer.Runtime.Clustering.WorkersUnavailableException(
            "cluster: 0 of cluster.min-workers = 2 gradient workers joined within cluster.wait-for-workers = 60 s"), verbose: false);
        Assert.Equal(ExitCodes.Unavailable, code);
        Assert.Equal("error: cluster: 0 of cluster.min-workers = 2 gradient workers joined within cluster.wait-for-workers = 60 s",
                     err.Trim());
    }

    [Fact]
    public void Io_errors_exit_74()
    {
        Assert.Equal(ExitCodes.IoError, Run(new IOException("No space left on device"), false).Code);
    }

    [Fact]
    public void Non_finite_json_numbers_become_null_and_are_flagged()
    {
        var n = new JsonNumbers();
        var o = new JsonObject { ["a"] = n.Number(double.NaN, "a"), ["b"] = n.Number(1.5, "b"), ["h"] = n.Array([1, double.PositiveInfinity], "h") };
        n.Flag(o);
        var text = o.ToJsonString();
        Assert.Equal("{\"a\":null,\"b\":1.5,\"h\":[1,null],\"non_finite\":[\"a=NaN\",\"h[1]=Infinity\"]}", text);
        Assert.NotNull(JsonNode.Parse(text));
    }
}
