using System.Diagnostics;
using System.Net;
using System.Text;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A client verb stopped by a signal while it waits for the service ends as every command outside training
/// does: exit 143 (SIGTERM) / 130 (SIGINT), one short line, no "error:" and no stack trace (before: the cancelled
/// request fell through to the error boundary as an internal error, exit 70). And a 5xx for the job's train.log is a
/// server error like any other 5xx: exit 70, naming the status and the URL (before: `logs ID` said it could not reach
/// the service, exit 74). A stub stands in for `serve`, so the waits are certain: a request held without an answer, an
/// event stream that never ends.</summary>
public sealed class ServiceClientSignalTests
{
    private const string Id = "j20990101-000000-abcdef";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    /// <summary>A client process with its stdout and stderr captured apart.</summary>
    private sealed class Client : IDisposable
    {
        private readonly StringBuilder _out = new(), _err = new();

        public Client(string[] args)
        {
            Process = Cli.Start(args);
            Process.OutputDataReceived += (_, e) => { if (e.Data is { } l) lock (_out) _out.AppendLine(l); };
            Process.ErrorDataReceived += (_, e) => { if (e.Data is { } l) lock (_err) _err.AppendLine(l); };
            Process.BeginOutputReadLine();
            Process.BeginErrorReadLine();
            Process.StandardInput.Close();
        }

        public Process Process { get; }
        public string Stdout { get { lock (_out) return _out.ToString(); } }
        public string Stderr { get { lock (_err) return _err.ToString(); } }
        public string Describe() => $"--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";

        /// <summary>True once stdout holds <paramref name="text"/>, false when the process ended or the limit passed.</summary>
        public bool WaitForStdout(string text, TimeSpan limit)
        {
            var until = DateTime.UtcNow + limit;
            while (!Stdout.Contains(text, StringComparison.Ordinal) && !Process.HasExited && DateTime.UtcNow < until) Thread.Sleep(20);
            return Stdout.Contains(text, StringComparison.Ordinal);
        }

        public void Dispose()
        {
            if (!Process.HasExited) Process.Kill(entireProcessTree: true);
            Process.WaitForExit();
            Process.Dispose();
        }
    }

    /// <summary>Sends the signal (TERM or INT) to a client that is waiting; returns its exit code once it has ended.
    /// Where this test host ignores SIGINT (a background job of a non-interactive shell: the child inherits the
    /// ignore), SIGINT must leave the client waiting, and SIGTERM then ends it.</summary>
    private static int Stop(Client c, string signal)
    {
        if (signal == "INT" && SignalTests.SigintIgnoredHere())
        {
            Cli.Signal(c.Process, "INT");
            Assert.False(c.Process.WaitForExit(TimeSpan.FromSeconds(1.5)), "an inherited ignored SIGINT should stay ignored\n" + c.Describe());
            signal = "TERM";
        }
        Cli.Signal(c.Process, signal);
        Assert.True(c.Process.WaitForExit(Limit), $"SIG{signal} did not end the client within {Limit.TotalSeconds} s\n" + c.Describe());
        c.Process.WaitForExit();                                        // its last lines read
        return c.Process.ExitCode;
    }

    private static int ExpectedCode(string signal) => signal == "INT" && !SignalTests.SigintIgnoredHere() ? 130 : 143;

    /// <summary>One short line naming the signal: no "error:", no internal error, no stack trace.</summary>
    private static void AssertQuiet(Client c, string signal)
    {
        var lines = c.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length <= 1, "expected at most one line on stderr\n" + c.Describe());
        var name = ExpectedCode(signal) == 130 ? "SIGINT" : "SIGTERM";
        Assert.True(lines.Length == 1 && lines[0].Contains(name, StringComparison.Ordinal), $"stderr should name {name}\n" + c.Describe());
        foreach (var bad in new[] { "error", "Exception", " at " })
            Assert.False(c.Stderr.Contains(bad, StringComparison.Ordinal), $"stderr has '{bad}'\n" + c.Describe());
    }

    [UnixTheory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public void Signal_while_logs_follows_a_running_job_exits_143_or_130_after_printing_what_came(string signal)
    {
        using var stub = new StubService(async (ctx, stop) =>
        {
            if (ctx.Request.Url!.AbsolutePath == $"/jobs/{Id}/events")
            {
                ctx.Response.ContentType = "text/event-stream";
                ctx.Response.SendChunked = true;
                await ctx.Response.OutputStream.WriteAsync("event: log\ndata: epoch 1/5 step 7 loss 0.1234\n\n"u8.ToArray(), stop);
                await ctx.Response.OutputStream.FlushAsync(stop);
                await StubService.Hold(stop);                            // the job runs on: the stream never ends
            }
            else await StubService.Json(ctx, 200, $$"""{"id": "{{Id}}", "state": "running"}""");
        });
        using var c = new Client(["logs", Id, "-f", "--server", stub.Url]);
        Assert.True(c.WaitForStdout("epoch 1/5 step 7 loss 0.1234", TimeSpan.FromSeconds(60)), "logs -f should print the streamed line\n" + c.Describe());
        var exit = Stop(c, signal);
        Assert.True(exit == ExpectedCode(signal), $"exit {exit}, expected {ExpectedCode(signal)}\n" + c.Describe());
        Assert.Contains("epoch 1/5 step 7 loss 0.1234", c.Stdout);
        AssertQuiet(c, signal);
    }

    [UnixTheory]
    [InlineData("status", "TERM")]
    [InlineData("status", "INT")]
    [InlineData("cancel", "TERM")]
    public void Signal_while_a_client_verb_waits_for_the_service_exits_143_or_130(string verb, string signal)
    {
        using var stub = new StubService((_, stop) => StubService.Hold(stop));   // takes the request, never answers
        using var c = new Client([verb, Id, "--server", stub.Url]);
        var request = verb == "status" ? $"GET /jobs/{Id}" : $"POST /jobs/{Id}/cancel";
        Assert.True(stub.WaitForRequest(request, TimeSpan.FromSeconds(60)), $"the stub should get {request}\n" + c.Describe());
        var exit = Stop(c, signal);
        Assert.True(exit == ExpectedCode(signal), $"exit {exit}, expected {ExpectedCode(signal)}\n" + c.Describe());
        AssertQuiet(c, signal);
    }

    [Fact]
    public void A_500_for_the_job_log_its_events_or_a_file_exits_70_naming_the_status_and_the_url()
    {
        using var stub = new StubService(async (ctx, _) =>
        {
            var path = ctx.Request.Url!.AbsolutePath;
            if (path == $"/jobs/{Id}") await StubService.Json(ctx, 200, $$"""{"id": "{{Id}}", "state": "running"}""");
            else if (path == $"/jobs/{Id}/files") await StubService.Json(ctx, 200, """["train.log"]""");
            else ctx.Response.StatusCode = (int)HttpStatusCode.InternalServerError;   // train.log: an empty 500
        });
        using var t = new TempDir();
        foreach (var (args, url) in new[] { (new[] { "logs", Id }, $"{stub.Url}/jobs/{Id}/files/train.log"),
                                            (["logs", Id, "-f"], $"{stub.Url}/jobs/{Id}/events"),
                                            (["fetch", Id, "train.log", "--output", t["out"]], $"{stub.Url}/jobs/{Id}/files/train.log") })
        {
            var r = Cli.Run([.. args, "--server", stub.Url], 60);
            Assert.True(r.ExitCode == 70, "expected exit code 70 (a server error)\n" + r.Describe());   // before: logs exited 74
            Assert.Contains("500", r.Stderr);
            Assert.Contains(url, r.Stderr);
            Assert.DoesNotContain("cannot reach", r.Stderr);
            Assert.DoesNotContain("internal error", r.Stderr);
        }
        // nothing half-written: no file (nor temporary file) where fetch would have put train.log
        Assert.True(!Directory.Exists(t["out"]) || Directory.GetFileSystemEntries(t["out"]).Length == 0,
                    "fetch left files after a 500: " + string.Join(", ", Directory.Exists(t["out"]) ? Directory.GetFileSystemEntries(t["out"]) : []));
    }
}
