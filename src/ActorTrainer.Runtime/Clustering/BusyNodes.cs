namespace ActorTrainer.Runtime.Clustering;

/// <summary>The coordinator's back-off for worker nodes that answer "busy" (<see cref="NodeProtocol.ErrorBusy"/>: the
/// node's one device serves another coordinator): such a node is asked again only after
/// <see cref="RemoteWorkers.BusyRetryDelay"/> — the probe interval, then twice as long each time it is still busy, up
/// to cluster.busy-retry-max — instead of at every probe (each try starts a gradient worker on a thread of its own).
/// A node forgets its back-off once one of its workers connects. Keys: <see cref="WorkerNodeInfo.Key"/> (one node
/// incarnation). Not thread-safe: the coordinator's actor uses it.</summary>
internal sealed class BusyNodes(RemoteWorkers options, Func<DateTime>? clock = null)
{
    private readonly Dictionary<string, (int Times, DateTime NotBefore)> _nodes = new();
    private readonly HashSet<string> _asking = new();      // nodes whose workers were started and not answered busy yet
    private DateTime Now => clock?.Invoke() ?? DateTime.UtcNow;

    /// <summary>Nodes whose last answer was busy.</summary>
    public int Count => _nodes.Count;

    /// <summary>Whether `node` answered busy and its delay is not over yet (no worker is started for it now). Probes
    /// come every probe interval: the one within half an interval of the delay's end asks (a delay of one interval
    /// means the next probe, not the one after it).</summary>
    public bool Waiting(string node) =>
        _nodes.TryGetValue(node, out var b) && Now < b.NotBefore - options.EffectiveProbeInterval / 2;

    /// <summary>Workers are started for `node` now (one try).</summary>
    public void Asking(string node) => _asking.Add(node);

    /// <summary>`node` answered busy: returns how many tries in a row (this one included) it did, and the delay before it
    /// is asked again; null for another worker's answer to the same try (the node's delay is running already).</summary>
    public (int Times, TimeSpan Delay)? Answered(string node)
    {
        if (!_asking.Remove(node)) return null;
        var now = Now;
        _nodes.TryGetValue(node, out var b);
        int times = b.Times + 1;
        var delay = options.BusyRetryDelay(times);
        _nodes[node] = (times, now + delay);
        return (times, delay);
    }

    /// <summary>A worker of `node` connected: the node is not busy (any more); a sibling's busy answer to the same try
    /// (a node of several workers whose device takes one) still starts a back-off.</summary>
    public void Connected(string node) => _nodes.Remove(node);
}
