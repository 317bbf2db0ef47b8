using ActorTrainer.Runtime;

namespace ActorTrainer.Daemon.Service;

/// <summary>Whether <c>POST /jobs/{id}/resume</c> can continue a job, and why not: a cancelled or failed job whose run
/// directory holds a checkpoint that <c>train --resume</c> would load (checkpoints/ckpt-&lt;step&gt;.bin), or one cancelled
/// before any trainer ran for it (resuming starts it: it lost nothing). A job that ran but stopped before its first
/// checkpoint has nothing to continue from (its view says <c>"resumable": false</c> and a resume is refused 409).</summary>
public static class JobResumability
{
    /// <summary>True when <paramref name="job"/> can be resumed now.</summary>
    public static bool IsResumable(JobRecord job) => WhyNot(job) is null;

    /// <summary>Null when <paramref name="job"/> can be resumed, else the reason naming the job.</summary>
    public static string? WhyNot(JobRecord job)
    {
        if (job.State is not (JobStates.Cancelled or JobStates.Failed))
            return $"job '{job.Id}' is {job.State}: only a cancelled or failed job can be resumed";
        if (job.Attempts == 0 || HasCheckpoint(job.RunDir)) return null;
        return $"job '{job.Id}' is {job.State} and has no checkpoint to resume from (it stopped before writing one to " +
               $"{Path.Combine(job.RunDir, "checkpoints")}): submit it again";
    }

    /// <summary>True when the run directory's checkpoints folder holds a ckpt-&lt;step&gt;.bin (what train --resume loads).</summary>
    public static bool HasCheckpoint(string runDir)
    {
        var dir = Path.Combine(runDir, "checkpoints");
        try
        {
            return Directory.Exists(dir) && CheckpointStore.List(dir).Count > 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
