namespace ActorTrainer.Daemon.Cli;

/// <summary>The process exit codes of every command (documented in README.md, "Exit codes").</summary>
public static class ExitCodes
{
    /// <summary>Success (also a training run stopped by SIGTERM/Ctrl-C after writing its checkpoint and outputs, and a
    /// `worker` or `ps` node stopped by SIGTERM/Ctrl-C: a node its coordinator left or downed rejoins, it does not exit).</summary>
    public const int Ok = 0;

    /// <summary>Bad input: an unknown option or key, a bad value, a malformed or missing file, a size that cannot fit,
    /// a run directory in use or holding another run, trainer.backend = cuda without a usable GPU (no driver, device or
    /// cuBLAS) or out of GPU memory. One line on stderr names the file, key or value.</summary>
    public const int BadInput = 2;

    /// <summary>Training diverged: a non-finite loss, gradient or weight. One line names the epoch and step; no outputs
    /// are written for the diverged weights (the actor runtime's last good checkpoint stays).</summary>
    public const int Diverged = 3;

    /// <summary>A cluster run got too few gradient workers at its start, or lost every one, within
    /// cluster.wait-for-workers (EX_UNAVAILABLE): one line names the keys; or it lost a node holding parameter-server
    /// slices (cluster.ps-nodes): one line names the node. The run's checkpoints stay resumable.</summary>
    public const int Unavailable = 69;

    /// <summary>An unexpected internal error (a bug; EX_SOFTWARE): one line, the stack trace with --verbose and in
    /// &lt;run-dir&gt;/error.log when the run directory exists.</summary>
    public const int Software = 70;

    /// <summary>An I/O error writing outputs or checkpoints, e.g. the disk is full (EX_IOERR). Files already written are
    /// intact: every write goes to a temporary file that is renamed into place. For <c>serve</c>: a change its job store
    /// (serve.database) could not write.</summary>
    public const int IoError = 74;

    /// <summary>Ended by SIGINT (Ctrl-C) outside training: 128 + 2.</summary>
    public const int Interrupted = 130;

    /// <summary>Ended by SIGTERM outside training: 128 + 15.</summary>
    public const int Terminated = 143;
}
