namespace ActorTrainer.Runtime.Clustering;

/// <summary>The parameter-server slices this process hosts, for a worker node that is a ps node too
/// (`worker.hosts-slices = on`): its gradient workers push to and pull from them through memory
/// (<see cref="SliceHost.PushLocal"/>, <see cref="SliceHost.CopyWeights"/>), not through a connection to itself.
/// `Port`: this node's data-plane port, by which the ps directory names it.</summary>
internal sealed record LocalSlices(SliceSessions Sessions, int Port)
{
    /// <summary>True when the ps directory's entry is this process (its port, on this machine).</summary>
    public bool Is(string host, int port) => port == Port && LocalHost.Is(host);

    /// <summary>The run `token`'s slices here; InvalidDataException when this node does not host them.</summary>
    public SliceHost Host(long token) => Sessions.Find(token)
        ?? throw new InvalidDataException($"this node hosts no slices of run {token:x} (its coordinator has not opened them here, or the run ended)");
}
