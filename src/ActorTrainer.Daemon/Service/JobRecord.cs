namespace ActorTrainer.Daemon.Service;

/// <summary>The states of a job. Terminal: succeeded, failed, cancelled.</summary>
public static class JobStates
{
    /// <summary>Waiting in the FIFO queue (also a job waiting to resume after a restart, which keeps its place).</summary>
    public const string Queued = "queued";

    /// <summary>A trainer child process is working on it.</summary>
    public const string Running = "running";

    /// <summary>Finished all epochs; summary.json is final.</summary>
    public const string Succeeded = "succeeded";

    /// <summary>The trainer exited with an error (see the job's error and train.log).</summary>
    public const string Failed = "failed";

    /// <summary>Cancelled: stopped with a checkpoint when it was running, so it can be resumed.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>True for succeeded, failed and cancelled.</summary>
    public static bool IsTerminal(string state) => state is Succeeded or Failed or Cancelled;
}

/// <summary>One job as stored in the SQLite job store.</summary>
/// <param name="Id">Server-generated id (also the run directory's name).</param>
/// <param name="Seq">Submission order (the order of <c>GET /jobs</c>).</param>
/// <param name="State">One of <see cref="JobStates"/>.</param>
/// <param name="CreatedAt">Submission time (UTC).</param>
/// <param name="StartedAt">When a trainer process last started on it, or null.</param>
/// <param name="FinishedAt">When it reached a terminal state, or null.</param>
/// <param name="Config">The exact effective configuration (rendered HOCON) the job trains with.</param>
/// <param name="RunDir">Absolute run directory under serve.runs-root.</param>
/// <param name="Pid">Process id of the current trainer child, or null.</param>
/// <param name="PidStart">Start time of that process (/proc/PID/stat field 22), to tell it from a reused PID.</param>
/// <param name="ExitCode">Exit code of the last trainer process, or null.</param>
/// <param name="Error">Why the job failed, or null.</param>
/// <param name="Resume">True when the next start continues from the run directory's checkpoints.</param>
/// <param name="CancelRequested">True once a cancel was asked for.</param>
/// <param name="Attempts">Trainer processes started for this job so far.</param>
/// <param name="QueueSeq">The job's place in the FIFO queue: its submission's, or a later one once it was resumed
/// (<c>POST /jobs/{id}/resume</c> queues it behind every job queued before, as a new submission would be).</param>
public sealed record JobRecord(string Id, long Seq, string State, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt,
                               DateTimeOffset? FinishedAt, string Config, string RunDir, int? Pid, long? PidStart,
                               int? ExitCode, string? Error, bool Resume, bool CancelRequested, int Attempts, long QueueSeq);
