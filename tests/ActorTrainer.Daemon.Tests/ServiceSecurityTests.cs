using System.Net;
using System.Runtime.Versioning;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>`serve` security: a binding beyond loopback needs serve.token-file (refused without it); with a token,
/// requests without it or with a wrong one get 401 (the test binds 0.0.0.0 but talks to 127.0.0.1 only).</summary>
public class ServiceSecurityTests
{
    [Fact]
    public void Binding_beyond_loopback_without_a_token_file_is_refused_naming_the_key()
    {
        using var t = new TempDir();
        var r = Cli.Run(["serve", "--set", "serve.address=0.0.0.0", "--set", $"serve.port={ServiceDaemon.FreePort()}",
                         "--set", $"serve.runs-root={t["runs"]}"], 60);
        Cli.AssertBadInput(r, "serve.token-file", "0.0.0.0");
        var missing = Cli.Run(["serve", "--set", $"serve.token-file={t["nope"]}", "--set", $"serve.runs-root={t["runs"]}"], 60);
        Cli.AssertBadInput(missing, "serve.token-file", t["nope"]);
    }

    [UnixFact]
    [UnsupportedOSPlatform("windows")]
    public async Task Requests_without_the_bearer_token_get_401_on_a_non_loopback_binding()
    {
        using var t = new TempDir();
        const string token = "test-token-0123456789abcdef";
        File.WriteAllText(t["token"], token + "\n");
        File.SetUnixFileMode(t["token"], UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using var d = new ServiceDaemon(t["runs"], token: token, sets: ["serve.address=0.0.0.0", $"serve.token-file={t["token"]}"]);
        using var anonymous = new HttpClient { BaseAddress = d.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        foreach (var path in new[] { "jobs", "metrics", "openapi/v1.json", "jobs/j20990101-000000-abcdef/events" })
        {
            using var r = await anonymous.GetAsync(path);
            Assert.True(r.StatusCode == HttpStatusCode.Unauthorized, $"{path}: {(int)r.StatusCode}");
            Assert.StartsWith("Bearer", r.Headers.WwwAuthenticate.ToString());
        }
        using (var post = await anonymous.PostAsync("jobs", new StringContent("{}")))
            Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);
        anonymous.DefaultRequestHeaders.Authorization = new("Bearer", token + "x");
        using (var wrong = await anonymous.GetAsync("jobs"))
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        anonymous.DefaultRequestHeaders.Authorization = null;
        using (var health = await anonymous.GetAsync("healthz"))
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("[]", await d.Http.GetStringAsync("jobs"));

        var noToken = Cli.Run(["jobs", "--server", d.Url]);
        Cli.AssertBadInput(noToken, "bearer token");
        var withToken = Cli.Run(["jobs", "--server", d.Url, "--token-file", t["token"]]);
        Assert.True(withToken.ExitCode == 0, withToken.Describe());
    }

    [Theory]
    [InlineData("../jobs.db")]
    [InlineData("model/../../other/summary.json")]
    [InlineData("/etc/passwd")]
    [InlineData("checkpoints/.hidden")]
    [InlineData("a\\b")]
    [InlineData("")]
    public void File_names_that_could_leave_the_run_directory_are_refused(string name)
    {
        using var t = new TempDir();
        File.WriteAllText(t["summary.json"], "{}");
        var (path, error) = ActorTrainer.Daemon.Service.JobFiles.Resolve(t.Path, name);
        Assert.Null(path);
        Assert.NotNull(error);
        Assert.Contains(name, error);
        Assert.Equal(t["summary.json"], ActorTrainer.Daemon.Service.JobFiles.Resolve(t.Path, "summary.json").Path);
    }
}
