using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>`jobs --help` (and every client verb's `--help` / `-h`): the verb's own page (usage line, what it does, the
/// options it takes, exit codes) on stdout, exit 0. Before: every client verb printed the whole service page, starting
/// with `serve`. The whole page stays `serve --help`'s and the overview's.</summary>
public class ServiceClientHelpTests
{
    private static readonly string[] Verbs = ["submit", "jobs", "status", "cancel", "resume", "logs", "fetch"];

    [Theory]
    [InlineData("submit", "--help", "submit [--config FILE] [--set key=value]...", "--config FILE|--set key=value|--server URL|--token-file FILE|--timeout SECONDS")]
    [InlineData("jobs", "--help", "jobs [--server URL] [--token-file FILE]", "--server URL|--token-file FILE|--timeout SECONDS")]
    [InlineData("jobs", "-h", "jobs [--server URL] [--token-file FILE]", "--server URL|--token-file FILE|--timeout SECONDS")]
    [InlineData("status", "--help", "status ID [--server URL]", "--server URL|--token-file FILE|--timeout SECONDS")]
    [InlineData("cancel", "-h", "cancel ID [--server URL]", "--server URL|--token-file FILE|--timeout SECONDS")]
    [InlineData("resume", "--help", "resume ID [--server URL]", "--server URL|--token-file FILE|--timeout SECONDS")]
    [InlineData("logs", "--help", "logs ID [-f] [--server URL]", "-f, --follow|--server URL|--token-file FILE|--timeout SECONDS")]
    [InlineData("fetch", "-h", "fetch ID [NAME]... [--output DIR]", "--output DIR|--server URL|--token-file FILE|--timeout SECONDS")]
    public void Each_client_verb_has_a_help_page_of_its_own(string verb, string flag, string usage, string options)
    {
        var r = Cli.Run([verb, "--no-such-option", flag]);
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Equal("", r.Stderr);
        Assert.StartsWith($"usage: ActorTrainer.Daemon [--verbose] {verb} …\n\n  {usage}", r.Stdout);
        Assert.DoesNotContain("serve [--config FILE]", r.Stdout);
        foreach (var other in Verbs.Where(v => v != verb))
            Assert.DoesNotContain($"  {other} ", r.Stdout);
        var taken = options.Split('|');
        foreach (var option in taken) Assert.Contains($"  {option}  ", r.Stdout);
        foreach (var option in new[] { "--config FILE", "--set key=value", "--output DIR", "-f, --follow" }.Except(taken))
            Assert.DoesNotContain(option, r.Stdout);
        Assert.Contains("exit codes:\n    0   success\n", r.Stdout);
        Assert.Contains("\n    2   bad input (an unknown option", r.Stdout);
        Assert.Contains("\n    74  the service cannot be reached", r.Stdout);
        Assert.Contains("\n    130 / 143  stopped by SIGINT (Ctrl-C) / SIGTERM while waiting for the service", r.Stdout);
        Assert.Equal(verb == "submit", r.Stdout.Contains("config/reference.conf"));   // the config keys concern submit only
    }

    [Fact]
    public void Serve_help_and_the_overview_keep_every_service_verb()
    {
        foreach (var r in new[] { Cli.Run(["serve", "--help"]), Cli.Run(["--help"]) })
        {
            Assert.True(r.ExitCode == 0, r.Describe());
            Assert.Contains("serve [--config FILE] [--set key=value]...", r.Stdout);
            Assert.Contains("jobs [--server URL] [--token-file FILE]                 list the jobs", r.Stdout);
            Assert.Contains("fetch ID [NAME]... [--output DIR] [--server URL] [--token-file FILE]", r.Stdout);
            Assert.Contains("--server URL (default http://127.0.0.1:8470)", r.Stdout);
        }
    }
}
