using System.Text.Json;
using System.Text.Json.Nodes;

namespace ActorTrainer.Daemon.Service;

/// <summary>The JSON the API answers for a job (snake_case, as summary.json).</summary>
public static class JobViews
{
    /// <summary>A job with its live progress and, while it is queued, its <paramref name="queuePosition"/> (1 = starts
    /// next); with <paramref name="withSummary"/>, and once it is done, the run's summary.json object.</summary>
    public static JsonObject View(JobRecord job, JobProgress progress, bool withSummary, int? queuePosition = null)
    {
        progress.Poll(TimeSpan.FromMilliseconds(250));
        var o = new JsonObject
        {
            ["id"] = job.Id,
            ["state"] = job.State,
            ["epoch"] = progress.Epoch,
            ["epochs"] = progress.Epochs,
            ["step"] = progress.Step,
            ["metrics"] = progress.Metrics,
            ["run_dir"] = job.RunDir,
            ["created_at"] = job.CreatedAt,
            ["started_at"] = job.StartedAt,
            ["finished_at"] = job.FinishedAt,
            ["pid"] = job.State == JobStates.Running ? job.Pid : null,
            ["attempts"] = job.Attempts,
            ["exit_code"] = job.ExitCode,
            ["error"] = job.Error,
            ["resumable"] = JobResumability.IsResumable(job),     // a checkpoint to continue from (JobResumability)
            ["queue_position"] = job.State == JobStates.Queued ? queuePosition : null,
        };
        if (withSummary && JobStates.IsTerminal(job.State) && ReadSummary(job.RunDir) is { } summary) o["summary"] = summary;
        return o;
    }

    /// <summary>summary.json of a run directory as a JSON object, or null.</summary>
    public static JsonObject? ReadSummary(string runDir)
    {
        var path = Path.Combine(runDir, "summary.json");
        try
        {
            return File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) as JsonObject : null;
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }

    /// <summary>An error body: <c>{"error": message}</c>.</summary>
    public static JsonObject Error(string message) => new() { ["error"] = message };
}
