namespace ActorTrainer.Runtime;

/// <summary>A worker failed the same work item repeatedly (a deterministic error such as bad data).</summary>
public sealed class WorkerFailedException : Exception
{
    /// <summary>Creates the exception for a work item.</summary>
    public WorkerFailedException(long step, int shard, int attempts, string error)
        : base($"gradient worker failed {attempts} times on global step {step}, shard {shard}: {error}") { }
}
