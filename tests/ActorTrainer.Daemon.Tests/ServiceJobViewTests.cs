using ActorTrainer.Daemon.Service;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>What `serve` shows of a job before its trainer has said anything: the configured epoch count, and in
/// `jobs` its place in the queue (the QUEUE column, added after CREATED); and when it calls a job resumable.</summary>
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

    [Theory]
    [InlineData("failed", 1, null, false)]                        // stopped before its first checkpoint
    [InlineData("failed", 1, "ckpt-5.bin.0a1b.tmp", false)]        // a checkpoint never completed: train --resume has none
    [InlineData("failed", 1, "ckpt-25.bin", true)]
    [InlineData("cancelled", 2, "ckpt-25.bin", true)]
    [InlineData("cancelled", 1, null, false)]                     // cancelled before its first checkpoint
    [InlineData("cancelled", 0, null, true)]                      // cancelled while queued: resuming starts it
    [InlineData("succeeded", 1, "ckpt-25.bin", false)]
    public void Job_is_resumable_only_with_a_checkpoint_to_resume_from(string state, int attempts, string? checkpoint, bool resumable)
    {
        using var t = new TempDir();
        var runDir = t["j20261204-100000-aaaaaa"];
        Directory.CreateDirectory(Path.Combine(runDir, "checkpoints"));
        if (checkpoint is not null) File.WriteAllText(Path.Combine(runDir, "checkpoints", checkpoint), "x");
        var job = new JobRecord("j20261204-100000-aaaaaa", 1, state, DateTimeOffset.UtcNow, null, null, "", runDir, null, null,
                                null, null, false, false, attempts, 1);
        var view = JobViews.View(job, new JobProgress(runDir), withSummary: false);
        Assert.Equal(resumable, view["resumable"]!.GetValue<bool>());    // before: true for every failed or cancelled job
        var why = JobResumability.WhyNot(job);
        Assert.Equal(resumable, why is null);
        if (!resumable && state != "succeeded") Assert.Contains("has no checkpoint to resume from", why);
    }
}
