namespace ActorTrainer.Runtime.Clustering;

/// <summary>The coordinator's side of the weights one worker node's connections share in a sync run (the node's side:
/// <see cref="NodeWeightsGroup"/>): the node keeps one copy of the weights for all its gradient workers of the run, so a
/// step's weights cross the link once per node, not once per worker. The first connection that computes with a new
/// weights key sends them (<see cref="Claim"/>); its siblings send only their rows, and their sessions on the node
/// wait for the copy. Block-sparse weights go as the XOR with the copy the node holds: <see cref="Held"/> mirrors it,
/// <see cref="HeldKey"/> names its key (long.MinValue: zeros), and every weights frame carries that base key, which the
/// node checks, so a copy that fell out of step is refused, never decoded into wrong weights. In a sync run the next
/// key is claimed only after every shard of the step came back, so one send at a time touches Held.</summary>
public sealed class NodeWeightsShare(int[] sizes)
{
    private readonly object _gate = new();
    private long _key = long.MinValue;   // the key the node holds or is being sent
    private int _sending;
    private float[][]? _held;

    /// <summary>Names this share on the node (positive, 55 bits, random per share).</summary>
    public long Token { get; } = Random.Shared.NextInt64(1, 1L << 55);

    /// <summary>Weights-sized buffers mirroring the node's copy (zeros at first); only the claiming sender uses them.</summary>
    public float[][] Held => _held ??= sizes.Select(n => new float[n]).ToArray();

    /// <summary>The key whose weights Held holds, long.MinValue for zeros; set by the claiming sender.</summary>
    public long HeldKey { get; set; } = long.MinValue;

    /// <summary>True when the caller is to send `weightsKey`'s weights (then <see cref="Sent"/> or
    /// <see cref="Failed"/> must follow); false when a sibling connection has sent them or is sending them.</summary>
    public bool Claim(long weightsKey)
    {
        lock (_gate)
        {
            if (_key == weightsKey) return false;
            _key = weightsKey;
            _sending++;
            return true;
        }
    }

    /// <summary>The claimed weights reached the node (its answer came back).</summary>
    public void Sent()
    {
        lock (_gate) _sending--;
    }

    /// <summary>The claimed send failed somewhere: what the node holds is unknown, so the next sender codes against
    /// zeros (the node then clears its copy first).</summary>
    public void Failed()
    {
        lock (_gate)
        {
            _sending--;
            Reset();
        }
    }

    /// <summary>A connection opened and the node reported the key its copy holds: when that is not what this end
    /// believes and no send is under way, the next compute sends the weights again, against zeros.</summary>
    public void Opened(long nodeKey)
    {
        lock (_gate)
            if (_sending == 0 && nodeKey != _key) Reset();
    }

    private void Reset()
    {
        _key = long.MinValue;
        HeldKey = long.MinValue;
        if (_held is { } h) foreach (var t in h) Array.Clear(t);
    }
}
