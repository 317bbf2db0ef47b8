namespace ActorTrainer.Runtime.Clustering;

/// <summary>A cluster run got fewer than cluster.min-workers gradient workers at its start, or lost every one, and
/// none came within cluster.wait-for-workers: the message names those keys. Not a bug: the worker nodes are missing,
/// unreachable or gone (the CLI exits 69, EX_UNAVAILABLE); the run's checkpoints stay resumable.</summary>
public sealed class WorkersUnavailableException(string message) : Exception(message);
