using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>What `serve` shows of a job before its trainer has said anything: the configured epoch count, and in
/// `jobs` its place in the queue (the QUEUE column, added after CREATED).</summary>
public class ServiceJobViewTests
{
    [Fact]
    public void Queued_job_shows_its_configured_epochs_in_the_api_status_and_jobs()
    {
        using var t = new TempDir();
        using var d = new ServiceDaemon(t["runs"]);
        var busy = d.Submit(ServiceRuns.Long);                             // takes the one slot
        var id = d.Submit(new Dictionary<string, string>(ServiceRuns.Small) { ["trainer.epochs"] = "3" });
        var job = d.Job(id);
        Assert.True(job["state"]!.GetValue<string>() == "queued", job.ToJsonString());
        Assert.True(job["epochs"]?.GetValue<int>() == 3, job.ToJsonString());          // was null until the trainer logged it
        var status = Cli.Run(["status", id, "--server", d.Url]);
        Assert.True(status.ExitCode == 0, status.Describe());
        Assert.Contains("\"epochs\": 3,", status.Stdout);
        d.WaitFor(busy, j => j["state"]!.GetValue<string>() == "running", 300, "running");   // out of the queue
        var jobs = Cli.Run(["jobs", "--server", d.Url]);
        Assert.Contains(jobs.StdoutLines, l => l.StartsWith(id, StringComparison.Ordinal) && l.Contains(" 0/3 ", StringComparison.Ordinal));
        // the queued job's place (queue_position) as the last column; '-' for a job not in the queue
        Assert.True(jobs.StdoutLines[0].StartsWith("ID", StringComparison.Ordinal) && jobs.StdoutLines[0].EndsWith("  CREATED" + new string(' ', 28) + "QUEUE", StringComparison.Ordinal), jobs.Describe());
        Assert.Contains(jobs.StdoutLines, l => l.StartsWith(id, StringComparison.Ordinal) && l.EndsWith("  1", StringComparison.Ordinal));
        Assert.Contains(jobs.StdoutLines, l => l.StartsWith(busy, StringComparison.Ordinal) && l.EndsWith("  -", StringComparison.Ordinal));
    }
}
