using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>`serve` guards found by using the service: one daemon per job store, a token file others cannot read,
/// and client verbs that say clearly when the service does not answer.</summary>
public class ServiceGuardTests
{
    [Fact]
    public async Task Second_serve_on_the_same_database_with_another_runs_root_is_refused_naming_the_database()
    {
        using var t = new TempDir();
        using var d = new ServiceDaemon(t["runs"]);
        var db = Path.Combine(t["runs"], "jobs.db");
        // Without the lock the second daemon would take the first one's running jobs for orphans and SIGTERM them.
        var second = Cli.Run(["serve", "--set", $"serve.port={ServiceDaemon.FreePort()}", "--set", $"serve.runs-root={t["runs2"]}",
                              "--set", $"serve.database={db}"], 45);
        Cli.AssertBadInput(second, "serve.database", db, "in use by another running serve");
        Assert.Equal("[]", await d.Http.GetStringAsync("jobs"));   // the first one serves on
    }

    [UnixTheory]
    [UnsupportedOSPlatform("windows")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, "660")]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherWrite, "602")]
    public void Token_file_that_other_users_can_change_is_refused_with_the_chmod_that_fixes_it(UnixFileMode mode, string octal)
    {
        using var t = new TempDir();
        File.WriteAllText(t["token"], "test-token-0123456789abcdef\n");
        File.SetUnixFileMode(t["token"], mode);
        var r = Cli.Run(["serve", "--set", $"serve.port={ServiceDaemon.FreePort()}", "--set", $"serve.runs-root={t["runs"]}",
                         "--set", $"serve.token-file={t["token"]}"], 45);
        Cli.AssertBadInput(r, "serve.token-file", t["token"], $"mode {octal}", "can be changed by other users", "chmod 600");
    }

    [UnixFact]
    [UnsupportedOSPlatform("windows")]
    public async Task Token_file_every_user_can_read_serves_with_a_warning_naming_the_chmod()
    {
        using var t = new TempDir();
        File.WriteAllText(t["token"], "test-token-0123456789abcdef\n");
        File.SetUnixFileMode(t["token"], UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        using var d = new ServiceDaemon(t["runs"], token: "test-token-0123456789abcdef", sets: $"serve.token-file={t["token"]}");
        Assert.Equal("[]", await d.Http.GetStringAsync("jobs"));
        Assert.Contains($"warning: serve.token-file '{t["token"]}' is readable by every user of this machine (mode 644); `chmod 600", d.Output);
    }

    [Theory]
    [InlineData(200, "answered 200 with text/html, not the service's JSON: is --server the address of `serve`?")]
    [InlineData(404, "answered 404 Not Found, not the service's JSON error: is --server the address of `serve`?")]
    public void Client_verbs_against_a_web_server_that_is_not_the_service_fail_instead_of_reporting_success(int status, string says)
    {
        var port = ServiceDaemon.FreePort();
        using var web = new HttpListener();                     // answers every request 200 with an HTML page
        web.Prefixes.Add($"http://127.0.0.1:{port}/");
        web.Start();
        _ = Task.Run(async () =>
        {
            while (web.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await web.GetContextAsync(); } catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
                var page = "<html><body>hello</body></html>"u8.ToArray();
                ctx.Response.StatusCode = status;
                ctx.Response.ContentType = "text/html";
                await ctx.Response.OutputStream.WriteAsync(page);
                ctx.Response.Close();
            }
        });
        foreach (var args in new[] { new[] { "cancel", "j20990101-000000-abcdef" }, ["status", "j20990101-000000-abcdef"], ["submit"], ["jobs"] })
        {
            var r = Cli.Run([.. args, "--server", $"http://127.0.0.1:{port}"], 60);
            Assert.True(r.ExitCode == 74, "expected exit code 74\n" + r.Describe());   // before: cancel and status exited 0
            Assert.Contains(says, r.Stderr);
            Assert.DoesNotContain("internal error", r.Stderr);
        }
    }

    [Fact]
    public void Client_verb_against_a_server_that_never_answers_says_so_and_exits_74()
    {
        var silent = new TcpListener(IPAddress.Loopback, 0);     // the kernel accepts connections; nobody answers
        silent.Start();
        try
        {
            var port = ((IPEndPoint)silent.LocalEndpoint).Port;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var r = Cli.Run(["status", "j20990101-000000-abcdef", "--server", $"http://127.0.0.1:{port}", "--timeout", "1.5"], 90);
            Assert.True(r.ExitCode == 74, "expected exit code 74\n" + r.Describe());
            Assert.Contains($"the service at http://127.0.0.1:{port}/ did not answer within 1.5 s", r.Stderr);
            Assert.Contains("--timeout SECONDS waits longer", r.Stderr);
            Assert.DoesNotContain("internal error", r.Stderr);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(25), $"--timeout 1.5 should end the wait long before the default 30 s: {watch.Elapsed}");

            // the follow of `logs -f` is not bounded by --timeout; only each request is (the job's JSON here, never answered)
            var logs = Cli.Run(["logs", "j20990101-000000-abcdef", "-f", "--timeout=1", "--server", $"http://127.0.0.1:{port}"], 90);
            Assert.True(logs.ExitCode == 74, "expected exit code 74\n" + logs.Describe());
            Assert.Contains("did not answer within 1 s", logs.Stderr);
        }
        finally
        {
            silent.Stop();
        }
    }

    [Fact]
    public void Logs_follow_outlasts_its_timeout_once_the_event_stream_has_answered()
    {
        const string id = "j20990101-000000-abcdef";
        using var stub = new StubService(async (ctx, stop) =>
        {
            if (ctx.Request.Url!.AbsolutePath == $"/jobs/{id}/events")
            {
                ctx.Response.ContentType = "text/event-stream";
                ctx.Response.SendChunked = true;
                async Task Send(string text)
                {
                    await ctx.Response.OutputStream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text), stop);
                    await ctx.Response.OutputStream.FlushAsync(stop);
                }
                await Send("event: log\ndata: epoch 1/2\n\n");
                await Task.Delay(3500, stop);                               // longer than --timeout: the job just runs
                await Send("event: log\ndata: epoch 2/2\n\n");
                await Send("event: end\ndata: {\"state\": \"succeeded\"}\n\n");
                ctx.Response.Close();
            }
            else await StubService.Json(ctx, 200, $$"""{"id": "{{id}}", "state": "running"}""");
        });
        var r = Cli.Run(["logs", id, "-f", "--timeout", "1", "--server", stub.Url], 60);
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Contains("epoch 1/2", r.Stdout);
        Assert.Contains("epoch 2/2", r.Stdout);
        Assert.Contains($"job {id} succeeded", r.Stderr);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("soon")]
    [InlineData("1e9")]
    [InlineData("NaN")]
    public void Client_verbs_refuse_a_timeout_that_is_not_a_number_of_seconds(string value)
    {
        var r = Cli.Run(["jobs", "--timeout", value, "--server", "http://127.0.0.1:9"], 60);
        var err = Cli.AssertBadInput(r, $"--timeout '{value}'", "(0, 86400]");
        Assert.DoesNotContain("cannot reach", err);      // refused before anything is sent
    }
}
