using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>The node's side of <see cref="NodeWeightsShare"/>: the one copy of a sync run's weights that all sessions
/// of one coordinator's share (same token) compute with. One session at a time receives a key's weights into it
/// (<see cref="BeginReceive"/> … <see cref="EndReceive"/>); the others wait for that key (<see cref="WaitFor"/>). A
/// receive that breaks off leaves the copy unknown: its key becomes long.MinValue, and sessions waiting for that key
/// fail at once instead of at the deadline.</summary>
internal sealed class NodeWeightsGroup(int[] sizes, TimeSpan wait)
{
    private readonly object _gate = new();
    private bool _receiving;
    private long _broken = long.MinValue;

    /// <summary>The weights (the job's shapes).</summary>
    public float[][] Weights { get; } = sizes.Select(n => new float[n]).ToArray();

    /// <summary>Element counts of the weight tensors the group was made for.</summary>
    public int[] Sizes => sizes;

    /// <summary>The key whose weights <see cref="Weights"/> holds; long.MinValue when none (or unknown).</summary>
    public long Key { get; private set; } = long.MinValue;

    /// <summary>Sessions attached (guarded by the registry).</summary>
    internal int Sessions;

    /// <summary>A run whose slices live on ps nodes: the group's one puller of the weights from them (made by the first
    /// session that asks, with its directory; null otherwise).</summary>
    public NodeSlicePuller? Puller { get; private set; }

    /// <summary>The group's puller, made with `directory` if there is none yet; InvalidDataException when the group
    /// pulls from a directory of another run.</summary>
    public NodeSlicePuller PullerFor(SliceDirectory directory, DataPlaneOptions options, LocalSlices? local)
    {
        lock (_gate)
        {
            Puller ??= new NodeSlicePuller(directory, sizes, options, local);
            if (Puller.Directory.Token != directory.Token)
                throw new InvalidDataException($"job shares weights pulled from the ps nodes of run {Puller.Directory.Token:x}, its own run is {directory.Token:x}");
            return Puller;
        }
    }

    /// <summary>Starts receiving `key`'s weights coded against `baseKey` (long.MinValue: zeros; the copy is cleared);
    /// throws InvalidDataException (and fails the sessions waiting for `key`) when another session is receiving, or when
    /// the copy does not hold `baseKey`.</summary>
    public void BeginReceive(long key, long baseKey, bool coded)
    {
        lock (_gate)
        {
            string? bad = _receiving ? $"weights for key {key} arrived while another connection of the same coordinator is sending weights"
                : coded && baseKey != long.MinValue && baseKey != Key ? $"weights for key {key} are coded against key {baseKey}, but this node's copy holds key {Key}"
                : null;
            if (bad is not null)
            {
                _broken = key;   // the sessions waiting for them fail now, not at the deadline
                Monitor.PulseAll(_gate);
                throw new InvalidDataException(bad);
            }
            if (coded && baseKey == long.MinValue) foreach (var w in Weights) Array.Clear(w);
            if (_broken == key) _broken = long.MinValue;   // a new attempt (the coordinator sends them again)
            _receiving = true;
            Key = long.MinValue;
        }
    }

    /// <summary>Ends a receive: on success the copy holds `key`; else it is unknown and waiters for `key` fail.</summary>
    public void EndReceive(long key, bool ok)
    {
        lock (_gate)
        {
            _receiving = false;
            Key = ok ? key : long.MinValue;
            if (!ok) _broken = key;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Waits until the copy holds `key` (sent on a sibling connection); throws InvalidDataException when
    /// that receive broke off or nothing arrived within the wait.</summary>
    public void WaitFor(long key)
    {
        var deadline = DateTime.UtcNow + wait;
        lock (_gate)
            while (Key != key)
            {
                if (_broken == key) throw new InvalidDataException($"the weights for key {key} broke off on another connection of the same coordinator");
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !Monitor.Wait(_gate, left) && Key != key)
                    throw new InvalidDataException($"work for weights key {key} carries no weights, and none arrived on the coordinator's other connections within {wait.TotalSeconds:0.###} s (this node holds key {Key})");
            }
    }
}

/// <summary>A worker node's <see cref="NodeWeightsGroup"/>s by token: sessions attach when their Job names a share and
/// detach when they end; a group goes with its last session.</summary>
internal sealed class NodeWeightsGroups(TimeSpan wait)
{
    private readonly Dictionary<long, NodeWeightsGroup> _groups = new();

    /// <summary>The group for `token` (made with these sizes if new); InvalidDataException when the token names a
    /// group of other shapes.</summary>
    public NodeWeightsGroup Attach(long token, int[] sizes)
    {
        lock (_groups)
        {
            if (!_groups.TryGetValue(token, out var g)) _groups[token] = g = new NodeWeightsGroup(sizes, wait);
            else if (!g.Sizes.SequenceEqual(sizes))
                throw new InvalidDataException($"job shares weights (token {token}) with sessions of weight sizes [{string.Join(", ", g.Sizes)}], its own are [{string.Join(", ", sizes)}]");
            g.Sessions++;
            return g;
        }
    }

    /// <summary>A session of `token`'s group ended.</summary>
    public void Detach(long token)
    {
        lock (_groups)
            if (_groups.TryGetValue(token, out var g) && --g.Sessions == 0)
            {
                _groups.Remove(token);
                g.Puller?.Dispose();
            }
    }

    /// <summary>Groups alive (for tests).</summary>
    public int Count
    {
        get { lock (_groups) return _groups.Count; }
    }
}
