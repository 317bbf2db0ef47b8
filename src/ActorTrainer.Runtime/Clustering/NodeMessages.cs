namespace ActorTrainer.Runtime.Clustering;

/// <summary>Coordinator → a worker node's <see cref="WorkerNodeActor"/>: describe what you offer.</summary>
public sealed record DescribeWorkerNode() : ITrainingMessage;

/// <summary>Worker node → coordinator: its data-plane endpoint (Host, Port), Incarnation (new on every start of the
/// node's server, so a restarted node is told apart from the old one), Workers × ThreadsPerWorker it offers, and the
/// largest data-plane frame it accepts (MaxFrameBytes, its cluster.data-plane.max-frame-mib; 0 = not told). HostsSlices:
/// the node hosts parameter-server slices for a coordinator with cluster.ps-nodes: a `ps` node (Workers 0), or a
/// worker node with worker.hosts-slices = on (its workers reach its own slices through memory).</summary>
/// <param name="Host">Host of the node's data-plane endpoint.</param>
/// <param name="Port">Port of that endpoint.</param>
/// <param name="Incarnation">Identity of this start of the node's server (tells a restarted node apart).</param>
/// <param name="Workers">Gradient workers the node offers (0 for a ps node).</param>
/// <param name="ThreadsPerWorker">GEMM threads of each of them.</param>
/// <param name="MaxFrameBytes">Largest data-plane frame the node accepts (0 = not told).</param>
/// <param name="HostsSlices">The node hosts parameter-server slices (a ps node, or worker.hosts-slices = on).</param>
public sealed record WorkerNodeInfo(string Host, int Port, string Incarnation, int Workers, int ThreadsPerWorker, long MaxFrameBytes = 0,
    bool HostsSlices = false) : ITrainingMessage
{
    /// <summary>The node's identity for the coordinator's bookkeeping.</summary>
    public string Key => $"{Host}:{Port}/{Incarnation}";
}

/// <summary>Coordinator → a worker node's <see cref="WorkerNodeActor"/>: the coordinator will not use this node for its
/// run, and why (Reason names the key to change).</summary>
/// <param name="Reason">Why, naming the key to change.</param>
public sealed record WorkerNodeRefused(string Reason) : ITrainingMessage;
