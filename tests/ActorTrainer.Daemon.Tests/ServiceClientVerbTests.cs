using System.Text.Json.Nodes;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>The client verbs a new user reaches for after `cancel`, found missing by trying the service end to end:
/// `resume ID` (before: only `curl -X POST …/resume`) and `fetch ID [NAME]... [--output DIR]` to copy the results
/// (before: one `curl` per file); and an interrupted job's train.log names `resume ID`, not `train --resume DIR` on a
/// run directory the service owns.</summary>
public class ServiceClientVerbTests
{
    private static bool Is(JsonObject j, string state) => j["state"]!.GetValue<string>() == state;

    [Fact]
    public void Cancel_resume_and_fetch_a_job_with_the_client_verbs()
    {
        using var t = new TempDir();
        using var d = new ServiceDaemon(t["runs"]);
        var id = d.Submit(ServiceRuns.Long);
        d.WaitFor(id, j => Is(j, "running") && j["step"]!.GetValue<long>() > 0, 300, "running with a checkpoint");
        var cancel = Cli.Run(["cancel", id, "--server", d.Url]);
        Assert.True(cancel.ExitCode == 0, cancel.Describe());
        var cancelled = d.WaitFor(id, j => Is(j, "cancelled") || Is(j, "succeeded"), 120, "cancelled");
        Assert.True(Is(cancelled, "cancelled"), cancelled.ToJsonString());
        Assert.Contains($"continue with: resume {id} (the service's client verb", d.TrainLog(id));
        Assert.DoesNotContain("train --resume", d.TrainLog(id));

        var resume = Cli.Run(["resume", id, "--server", d.Url]);
        Assert.True(resume.ExitCode == 0, resume.Describe());
        Assert.Equal("queued", JsonNode.Parse(resume.Stdout)!["state"]!.GetValue<string>());
        var done = d.WaitFor(id, j => Is(j, "succeeded") || Is(j, "failed"), 300, "done");
        Assert.True(Is(done, "succeeded"), done.ToJsonString() + "\n" + d.TrainLog(id));
        Cli.AssertBadInput(Cli.Run(["resume", id, "--server", d.Url]), $"job '{id}' is succeeded: only a cancelled or failed job can be resumed");

        var all = Cli.Run(["fetch", id, "--output", t["all"], "--server", d.Url]);
        Assert.True(all.ExitCode == 0, all.Describe());
        Assert.Contains($"of job {id} (succeeded) into {t["all"]}", all.Stdout);
        var runDir = Path.Combine(t["runs"], id);
        foreach (var name in new[] { "summary.json", "history.csv", "model/model.safetensors", "train.log" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(runDir, name)), File.ReadAllBytes(Path.Combine(t["all"], name)));
        Assert.Empty(Directory.GetFiles(t["all"], "*.tmp", SearchOption.AllDirectories));

        var one = Cli.Run(["fetch", id, "summary.json", "--output", t["one"], "--server", d.Url]);
        Assert.True(one.ExitCode == 0, one.Describe());
        Assert.Equal(["summary.json"], Directory.GetFiles(t["one"]).Select(Path.GetFileName));
        Cli.AssertBadInput(Cli.Run(["fetch", id, "nope.csv", "--output", t["none"], "--server", d.Url]), $"job {id} has no file 'nope.csv'", "summary.json");
        Assert.False(Directory.Exists(t["none"]));
        File.WriteAllText(t["file"], "");
        Cli.AssertBadInput(Cli.Run(["fetch", id, "--output", t["file"], "--server", d.Url]), $"--output '{t["file"]}' is a file");
        Cli.AssertBadInput(Cli.Run(["status", id, "--output", t["x"], "--server", d.Url]), "--output belongs to fetch");
    }

    [Fact]
    public void Unknown_option_of_a_client_verb_lists_the_options_that_verb_takes()
    {
        // before: every verb listed --server, --token-file, --config, --set, --output, three of which it then refused
        var jobs = Cli.AssertBadInput(Cli.Run(["jobs", "--bogus"]), "jobs: unknown option '--bogus' (allowed: --server, --token-file, --timeout)");
        Assert.DoesNotContain("--output", jobs);
        Cli.AssertBadInput(Cli.Run(["logs", "j20990101-000000-abcdef", "--bogus"]), "(allowed: --server, --token-file, --timeout, --follow)");
        Cli.AssertBadInput(Cli.Run(["submit", "--bogus"]), "(allowed: --server, --token-file, --timeout, --config, --set)");
        Cli.AssertBadInput(Cli.Run(["fetch", "j20990101-000000-abcdef", "--bogus"]), "(allowed: --server, --token-file, --timeout, --output)");
        Cli.AssertBadInput(Cli.Run(["status", "j20990101-000000-abcdef", "--set", "trainer.epochs=1"]), "status: --config and --set belong to submit");
        Cli.AssertBadInput(Cli.Run(["jobs", "--config=x.conf"]), "jobs: --config and --set belong to submit");
    }

    [Theory]
    [InlineData("submit", "--server, --token-file, --timeout, --config, --set")]
    [InlineData("jobs", "--server, --token-file, --timeout")]
    [InlineData("status", "--server, --token-file, --timeout")]
    [InlineData("cancel", "--server, --token-file, --timeout")]
    [InlineData("resume", "--server, --token-file, --timeout")]
    [InlineData("logs", "--server, --token-file, --timeout, --follow")]
    [InlineData("fetch", "--server, --token-file, --timeout, --output")]
    public void Unknown_short_option_of_a_client_verb_is_reported_as_an_unknown_option(string verb, string allowed)
    {
        // before: "unexpected argument '-x' (options start with --; ...)"; and `jobs -f` named '--follow', not what was typed
        string[] id = verb is "submit" or "jobs" ? [] : ["j20990101-000000-abcdef"];
        var x = Cli.AssertBadInput(Cli.Run([verb, .. id, "-x", "--server", "http://127.0.0.1:1"]), $"{verb}: unknown option '-x' (allowed: {allowed})");
        Assert.DoesNotContain("unexpected argument", x);
        if (verb != "logs")
            Cli.AssertBadInput(Cli.Run([verb, .. id, "-f", "--server", "http://127.0.0.1:1"]), $"{verb}: unknown option '-f' (allowed: {allowed})");
    }

    [Fact]
    public void Client_verb_refuses_what_is_not_a_job_id_before_asking_the_service()
    {
        // before: sent, and the service's 404 named it URL-escaped ("no job 'x%2F..%2Fy'"); here no service runs
        foreach (var verb in new[] { "status", "cancel", "resume", "logs", "fetch" })
            Cli.AssertBadInput(Cli.Run([verb, "x/../y", "--server", "http://127.0.0.1:1"]),
                               $"{verb}: 'x/../y' is not a job id (ids look like j20261129-120000-a1b2c3; `jobs` lists them)");
    }
}
