using ActorTrainer.Core;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>A worker node session's connections to the `ps` nodes of a job whose slices live there
/// (<see cref="SliceDirectory"/>, <see cref="SliceProtocol"/>): it pulls each step's weights from them and pushes each
/// shard's gradient ranges to them, so neither crosses the coordinator's link. A failure on any of them is an
/// InvalidDataException naming the ps node (the session answers the coordinator with an Error frame, and the shard goes
/// to another worker; a ps node that is gone ends the run at the coordinator). A link to a ps node that
/// <see cref="SliceDirectory.CodesTo"/> names carries block-sparse codes (<see cref="SliceRangeCodes"/>). The ps node
/// that is this process (`local`: a worker node hosting slices too) is reached through memory, not a connection.</summary>
internal sealed class SliceLinks : IDisposable
{
    private readonly SliceDirectory directory;
    private readonly DataPlaneOptions options;
    private readonly ParameterSlices _layout;
    private readonly TensorConnection?[] _conns;
    private readonly bool[] _coded;                   // per ps node: the link carries block-sparse codes
    private readonly SliceRangeCodes?[] _up, _down;   // their buffers, made on first use (a session's links only push,
                                                      // the node's puller's only pull): gradients up, weights down
    private readonly bool[] _fresh;                   // a coded link that has delivered no weights yet (the ps node's mirror is zeros)
    private readonly int[] _stats = new int[5];
    private readonly List<Section> _sections = new();
    private long _key = long.MinValue;
    private long _asked = long.MinValue;    // the version asked for ahead (after a push: the next step's), not read yet
    private readonly LocalSlices? _local;
    private readonly int _self = -1;          // the directory's entry for this process, if any
    private SliceHost? _localHost;
    private long _localWanted = long.MinValue;

    /// <summary>Links to the ps nodes of `directory` for weights of `sizes` (opened by <see cref="Open"/>).</summary>
    public SliceLinks(SliceDirectory directory, int[] sizes, DataPlaneOptions options, LocalSlices? local = null)
    {
        this.directory = directory;
        this.options = options;
        _local = local;
        if (local is not null) _self = Array.FindIndex(directory.Nodes, p => local.Is(p.Host, p.Port));
        _layout = ParameterSlices.Split(sizes, directory.Slices);
        int n = directory.Nodes.Length;
        _conns = new TensorConnection?[n];
        _fresh = new bool[n];
        _coded = directory.Nodes.Select((p, i) => i != _self && directory.CodesTo(p.Host)).ToArray();
        _up = new SliceRangeCodes?[n];
        _down = new SliceRangeCodes?[n];
    }

    /// <summary>Connects to every ps node and attaches to the run.</summary>
    public void Open()
    {
        for (int i = 0; i < _conns.Length; i++)
            Guard(i, () =>
            {
                if (i == _self)
                {
                    _localHost = _local!.Host(directory.Token);
                    return;
                }
                var (host, port, _, _) = directory.Nodes[i];
                var c = _conns[i] = TensorConnection.Connect(host, port, options);
                c.Send(SliceProtocol.Attach, directory.Token, _coded[i] ? 1 : 0, 0, 0);
                _fresh[i] = true;
                var h = c.ReceiveHeader();
                if (h.Kind == NodeProtocol.Error) throw new InvalidDataException(NodeProtocol.ReadError(c, h));
                if (h.Kind != SliceProtocol.Attached || h.SectionCount != 0) throw new InvalidDataException($"expected Attached, got frame kind {h.Kind}");
            });
    }

    /// <summary>The weights at version `key` into `weights` (per tensor, whole). Held already, or older than those held
    /// (a late duplicate shard of a step applied since: its gradient is dropped as late), nothing is read; asked for
    /// ahead, the answer on its way is read (waiting for it is safe: work at `key` means the version exists).</summary>
    public void Pull(long key, float[][] weights)
    {
        if (_key != long.MinValue && key <= _key) return;
        if (_asked != long.MinValue && key >= _asked)
        {
            long asked = _asked;
            _asked = long.MinValue;
            if (Read(weights) == key) { _key = key; return; }
            _key = asked;   // an older version than the work's (it skipped a step here): ask for it
        }
        Request(key);
        _key = Read(weights) == key ? key : long.MinValue;
    }

    /// <summary>After a push of work at version `key`: asks every ps node for version key + 1, answered once the step
    /// is applied there — the weights travel while the coordinator opens the next step.</summary>
    public void AskAhead(long key)
    {
        if (_asked != long.MinValue || key == long.MaxValue) return;
        Request(key + 1);
        _asked = key + 1;
    }

    private void Request(long key)
    {
        for (int i = 0; i < _conns.Length; i++)
            if (i == _self) _localWanted = key;   // read from memory once needed
            else Guard(i, () => _conns[i]!.Send(SliceProtocol.WeightsRequest, key, 0, 0, 0));
    }

    /// <summary>Reads one Weights answer from every ps node; the lowest version they answered with.</summary>
    private long Read(float[][] weights)
    {
        long version = long.MaxValue;
        for (int i = 0; i < _conns.Length; i++)
            Guard(i, () =>
            {
                if (i == _self)
                {
                    version = Math.Min(version, _localHost!.CopyWeights(_localWanted, weights));
                    return;
                }
                var (_, _, first, last) = directory.Nodes[i];
                var c = _conns[i]!;
                var h = c.ReceiveHeader();
                if (h.Kind == NodeProtocol.Error) throw new InvalidDataException(NodeProtocol.ReadError(c, h));
                if (h.Kind != SliceProtocol.Weights) throw new InvalidDataException($"expected the weights of slices {first}..{last}, got frame kind {h.Kind}");
                if (_coded[i]) ReceiveCoded(i, c, h, _down[i] ??= Codes(i), weights);
                else
                {
                    if (h.SectionCount != SliceProtocol.RangeSections(_layout, first, last))
                        throw new InvalidDataException($"expected the weights of slices {first}..{last}, got {h.SectionCount} sections");
                    if (SliceProtocol.CheckRanges(h, 0, _layout, first, last, "weights") is { } bad) throw new InvalidDataException(bad);
                    SliceProtocol.ReceiveRanges(c, _layout, first, last, weights);
                }
                version = Math.Min(version, h.A);
            });
        return version;
    }

    /// <summary>Weights coded as the XOR with what this link delivered before (zeros on a fresh link: the ranges are
    /// cleared first, whatever `weights` held).</summary>
    private void ReceiveCoded(int i, TensorConnection c, FrameHeader h, SliceRangeCodes codes, float[][] weights)
    {
        if (codes.Check(h, 0, "weights") is { } bad) throw new InvalidDataException(bad);
        if (_fresh[i]) codes.Clear(weights);
        _fresh[i] = false;
        codes.Receive(c, h, 0, weights, xor: true, "weights");
    }

    /// <summary>Pushes a shard's gradient ranges and statistics to every ps node; `route` = step (low, high), shard,
    /// shard count, epoch, step in epoch, worker id.</summary>
    public void Push(ReadOnlySpan<int> route, int batchRows, ShardStats stats, float[][] grads)
    {
        long step = (uint)route[0] | (long)route[1] << 32, loss = BitConverter.DoubleToInt64Bits(stats.LossSum), hits = BitConverter.DoubleToInt64Bits(stats.Correct);
        _stats[0] = (int)loss; _stats[1] = (int)(loss >> 32); _stats[2] = (int)hits; _stats[3] = (int)(hits >> 32); _stats[4] = stats.Count;
        long b = (uint)route[2] | (long)route[3] << 32, c = (uint)batchRows | (long)route[4] << 32, d = (uint)route[5] | (long)route[6] << 32;
        for (int i = 0; i < _conns.Length; i++)
        {
            if (i == _self)
            {
                try { _localHost!.PushLocal(route, batchRows, stats, grads); }
                catch (InvalidDataException e) { throw Named(i, e); }
                continue;
            }
            var (_, _, first, last) = directory.Nodes[i];
            _sections.Clear();
            _sections.Add(_stats);
            if (_coded[i]) (_up[i] ??= Codes(i)).Add(_sections, grads);
            else SliceProtocol.AddRanges(_sections, _layout, first, last, grads);
            var sections = _sections.ToArray();
            Guard(i, () => _conns[i]!.Send(SliceProtocol.Push, step, b, c, d, sections));
        }
    }

    private SliceRangeCodes Codes(int i) => new(_layout, directory.Nodes[i].First, directory.Nodes[i].Last);

    private void Guard(int i, Action a)
    {
        try { a(); }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or DataPlaneException or InvalidDataException)
        {
            throw Named(i, e);
        }
    }

    private InvalidDataException Named(int i, Exception e)
    {
        var (host, port, _, _) = directory.Nodes[i];
        return new InvalidDataException($"parameter-server node {host}:{port}{(i == _self ? " (this process)" : "")}: {e.Message}", e);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var c in _conns) c?.Dispose();
    }
}
