namespace ActorTrainer.Runtime.Clustering;

/// <summary>A cluster coordinator's run was cancelled (SIGTERM / Ctrl-C) while it waited at its start for
/// cluster.min-workers gradient workers: it stops at once instead of after cluster.wait-for-workers. No step ran, so
/// there is nothing to checkpoint (the CLI ends as for a signal before training: exit 143 / 130).</summary>
public sealed class WorkersWaitCancelledException(string message) : OperationCanceledException(message);
