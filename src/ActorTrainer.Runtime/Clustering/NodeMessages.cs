namespace ActorTrainer.Runtime.Clustering;

/// <summary>Coordinator → a worker node's <see cref="WorkerNodeActor"/>: describe what you offer.</summary>
public sealed record DescribeWorkerNode() : ITrainingMessage;

/// <summary>Worker node → coordinator: its data-plane endpoint (Host, Port), Incarnation (new on every start of the
/// node's server, so a restarted node is told apart from the old one), and Workers × ThreadsPerWorker it offers.</summary>
public sealed record WorkerNodeInfo(string Host, int Port, string Incarnation, int Workers, int ThreadsPerWorker) : ITrainingMessage
{
    /// <summary>The node's identity for the coordinator's bookkeeping.</summary>
    public string Key => $"{Host}:{Port}/{Incarnation}";
}
