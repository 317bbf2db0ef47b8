using ActorTrainer.Core;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>A gradient worker's shards computed on a worker node (coordinator side of one data-plane connection): each
/// shard's rows, and the weights when the node does not hold them yet (keyed by the worker's weights key), go down;
/// the gradient comes back into the worker's buffers. With `coded`, rows and gradients travel block-sparse
/// (<see cref="BlockSparse"/>: MNIST's zero pixels and the zero gradient rows they leave cost a bit per 16 values),
/// weights as the XOR with the copy the node holds (values the last update left alone cost a bit per 16), all
/// lossless; else as they are (cheaper in CPU where the link is memory, as on one host). The node runs the same GradientEngine, so the gradient has the
/// same bits as a local one. Every failure — refused connection, closed socket, protocol error, no answer within
/// the data plane's IoTimeout (the per-step deadline) — is a <see cref="WorkerNodeLostException"/>. `sync` tells the node
/// the run is synchronous (a GPU node refuses such a job: its gradients' bits are not a CPU worker's). `share` (sync runs):
/// the node's other connections of this run, so that its workers compute with one copy of the weights, sent once per
/// step (<see cref="NodeWeightsShare"/>).</summary>
public sealed class RemoteShardCompute(string host, int port, ModelPlan plan, int maxRows, int threads, DataPlaneOptions options,
    bool sync = false, bool coded = true) : IShardCompute, IShardRoute
{
    private readonly NodeWeightsShare? _share;
    private readonly SliceDirectory? _slices;
    private readonly int[] _route = new int[7];
    private readonly int[] _baseKey = new int[2];

    /// <summary>A sync job whose node computes with the weights `share` names (sent once per step for all its connections).</summary>
    public RemoteShardCompute(string host, int port, ModelPlan plan, int maxRows, int threads, DataPlaneOptions options,
        NodeWeightsShare share, bool coded) : this(host, port, plan, maxRows, threads, options, sync: true, coded) => _share = share;

    /// <summary>A sync job whose slices live on the ps nodes of `slices`: the node pulls the weights from them and pushes
    /// each shard's gradient to them; only the rows go down and the statistics come back here. With `share`, the node's
    /// connections of this run (its token) pull each step's weights once for all of them.</summary>
    public RemoteShardCompute(string host, int port, ModelPlan plan, int maxRows, int threads, DataPlaneOptions options,
        SliceDirectory slices, NodeWeightsShare? share, bool coded) : this(host, port, plan, maxRows, threads, options, sync: true, coded)
    {
        _slices = slices;
        _share = share;
    }

    /// <inheritdoc/>
    public bool DeliversGradients => _slices is not null;

    /// <summary>Sync runs: the run's weight home in a file that same-host nodes map (<see cref="SharedWeightsHome"/>), so
    /// that a shared-memory connection sends no weights at all; without it each connection copies them into its own file.</summary>
    internal SharedWeightsHome? WeightsHome { get; init; }

    /// <inheritdoc/>
    public void Route(long step, int shard, int shardCount, int epoch, int stepInEpoch, int workerId)
    {
        _route[0] = (int)step; _route[1] = (int)(step >> 32); _route[2] = shard; _route[3] = shardCount;
        _route[4] = epoch; _route[5] = stepInEpoch; _route[6] = workerId;
    }

    private readonly int[] _sizes = plan.WeightSizes;
    private readonly CodedTensor? _x = coded ? new(maxRows * plan.InputDim) : null;
    private CodedTensor[] _down = [], _up = [];
    private float[][] _held = [];
    private TensorConnection? _conn;
    private long _heldKey = long.MinValue, _request;
    private SharedShardExchange? _exchange;   // same host: tensors through shared memory

    /// <inheritdoc/>
    public string Where => $"node {host}:{port}";

    /// <inheritdoc/>
    public void Open() => Guard(() =>
    {
        // a new connection means a new session on the node: it holds zeros, and so does this end's copy of it
        if (coded)
        {
            if (_share is null) _held = _sizes.Select(n => new float[n]).ToArray();
            _down = _sizes.Select(n => new CodedTensor(n)).ToArray();
            _up = _sizes.Select(n => new CodedTensor(n)).ToArray();
        }
        _heldKey = long.MinValue;
        _exchange?.Dispose();
        _exchange = null;
        _conn = TensorConnection.Connect(host, port, options);
        // same host (a Unix domain socket): offer shared memory for a plain sync job with the slices here
        if (options.SharedMemory && sync && !coded && _slices is null && _conn.IsUnixSocket && !plan.Layers.Any(l => l.IsCustom))
            _exchange = SharedShardExchange.TryCreate(plan, maxRows, WeightsHome, out _);
        long flags = (sync ? 1L : 0L) | (coded ? 2L : 0L) | (_share is null ? 0L : 4L | _share.Token << 8) | (_slices is null ? 0L : 8L)
                     | (_exchange is null ? 0L : 16L);
        if (_slices is not null) _conn.Send(NodeProtocol.Job, maxRows, threads, _sizes.Length, flags, PlanCodec.Encode(plan), _slices.Encode());
        else if (_exchange is not null) _conn.Send(NodeProtocol.Job, maxRows, threads, _sizes.Length, flags, PlanCodec.Encode(plan), _exchange.Describe());
        else _conn.Send(NodeProtocol.Job, maxRows, threads, _sizes.Length, flags, PlanCodec.Encode(plan));
        var h = _conn.ReceiveHeader();
        if (h.Kind == NodeProtocol.Error)
        {
            var error = NodeProtocol.ReadError(_conn, h);
            // busy for now: lost like a dropped connection (the inner exception says busy), asked again with a back-off
            throw h.A == NodeProtocol.ErrorBusy
                ? new WorkerNodeLostException($"{Where} is busy: {error}", new ShardComputeBusyException(error))
                : new WorkerNodeRefusedException($"{Where} refused the job: {error}");
        }
        if (h.Kind != NodeProtocol.Ready || h.SectionCount != 0) throw new DataPlaneException($"{Where}: expected Ready, got frame kind {h.Kind}");
        if (h.C != 1)
        {
            _exchange?.Dispose();   // the node could not map it: tensors through the socket
            _exchange = null;
        }
        _share?.Opened(h.B);
        return 0;
    });

    /// <inheritdoc/>
    public ShardStats Compute(float[][] weights, long weightsKey, ReadOnlyMemory<float> x, ReadOnlyMemory<int> labels,
        ReadOnlyMemory<float> targets, int rows, int batchRows, long dropoutSeed, float[][] grads)
    {
        var conn = _conn ?? throw new WorkerNodeLostException($"{Where}: not connected");
        if (_exchange is { } exchange) return ComputeShared(conn, exchange, weights, weightsKey, x, labels, targets, rows, batchRows, dropoutSeed, grads);
        bool sendWeights = _slices is null && (_share is null ? weightsKey != _heldKey : _share.Claim(weightsKey));
        try
        {
            int per = coded ? 2 : 1, head = per + 1, baseKey = _share is null ? 0 : 1;
            var sections = new Section[head + (sendWeights ? baseKey + per * weights.Length : 0) + (_slices is null ? 0 : 1)];
            if (_x is { } xc)
            {
                xc.Encode(x.Span);
                sections[0] = xc.MaskSection;
                sections[1] = xc.PackedSection;
            }
            else sections[0] = Section.Of(x);
            sections[head - 1] = plan.Loss.SparseTargets ? Section.Of(labels) : Section.Of(targets);
            if (_slices is not null) sections[head] = _route;
            long request = ++_request;
            return Guard(() =>
            {
                _heldKey = long.MinValue;   // unknown until the node answered (a failed send ends the connection)
                if (sendWeights) AddWeights(sections, head, weights, weightsKey);
                conn.Send(NodeProtocol.Work, request, weightsKey, (long)(uint)rows | ((long)batchRows << 32), dropoutSeed, sections);
                var stats = ReadResult(conn, request, rows, grads);
                _heldKey = weightsKey;
                if (sendWeights) _share?.Sent();
                return stats;
            });
        }
        catch when (sendWeights && _share is not null)
        {
            _share.Failed();
            throw;
        }
    }

    /// <summary>A shard through shared memory: the tensors in the region, only their offsets and the statistics on the socket.</summary>
    private ShardStats ComputeShared(TensorConnection conn, SharedShardExchange exchange, float[][] weights, long weightsKey, ReadOnlyMemory<float> x,
        ReadOnlyMemory<int> labels, ReadOnlyMemory<float> targets, int rows, int batchRows, long dropoutSeed, float[][] grads)
    {
        long request = ++_request;
        return Guard(() =>
        {
            var offsets = exchange.Prepare(weights, weightsKey, x, labels, targets, grads);
            conn.Send(NodeProtocol.Work, request, weightsKey, (long)(uint)rows | ((long)batchRows << 32), dropoutSeed, Section.Of(offsets.AsMemory()));
            var h = conn.ReceiveHeader();
            if (h.Kind == NodeProtocol.Error) throw new WorkerNodeLostException($"{Where} failed the shard: {NodeProtocol.ReadError(conn, h)}");
            if (h.Kind != NodeProtocol.Result || h.A != request || h.D != rows || h.SectionCount != 0)
                throw new DataPlaneException($"{Where}: expected the statistics of request {request} ({rows} rows, no sections), got kind {h.Kind} request {h.A} count {h.D} with {h.SectionCount} sections");
            exchange.Finish(grads);
            return new ShardStats(BitConverter.Int64BitsToDouble(h.B), BitConverter.Int64BitsToDouble(h.C), (int)h.D);
        });
    }

    /// <summary>The weights' sections from index `head` on: shared, first the base key the code is against (two Int32);
    /// then each tensor as it is or, coded, as the XOR with the node's copy (this connection's, or the share's).</summary>
    private void AddWeights(Section[] sections, int head, float[][] weights, long weightsKey)
    {
        var held = _held;
        if (_share is { } share)
        {
            long b = share.HeldKey;
            _baseKey[0] = (int)b;
            _baseKey[1] = (int)(b >> 32);
            sections[head++] = Section.Of(_baseKey);
            held = share.Held;
            share.HeldKey = weightsKey;
        }
        for (int i = 0; i < weights.Length; i++)
        {
            if (!coded)
            {
                sections[head + i] = Section.Of(weights[i]);
                continue;
            }
            _down[i].EncodeXor(weights[i].AsSpan(0, _sizes[i]), held[i]);
            sections[head + 2 * i] = _down[i].MaskSection;
            sections[head + 2 * i + 1] = _down[i].PackedSection;
        }
    }

    private ShardStats ReadResult(TensorConnection conn, long request, int rows, float[][] grads)
    {
        var h = conn.ReceiveHeader();
        if (h.Kind == NodeProtocol.Error) throw new WorkerNodeLostException($"{Where} failed the shard: {NodeProtocol.ReadError(conn, h)}");
        int per = coded ? 2 : 1;
        if (_slices is not null && h.Kind == NodeProtocol.Result && h.A == request && h.D == rows && h.SectionCount == 0)
            return new ShardStats(BitConverter.Int64BitsToDouble(h.B), BitConverter.Int64BitsToDouble(h.C), (int)h.D);   // pushed to the ps nodes
        if (h.Kind != NodeProtocol.Result || h.A != request || h.D != rows || h.SectionCount != per * _sizes.Length)
            throw new DataPlaneException($"{Where}: expected the result of request {request} ({rows} rows, {_sizes.Length} tensors in {per * _sizes.Length} sections), got kind {h.Kind} request {h.A} count {h.D} with {h.SectionCount} sections");
        for (int i = 0; i < _sizes.Length; i++)
            if (CodedTensor.Check(h, per * i, _sizes[i], $"gradient {i}", coded) is { } bad) throw new DataPlaneException($"{Where}: {bad}");
        for (int i = 0; i < _sizes.Length; i++)
        {
            if (!coded)
            {
                conn.ReceiveSection(grads[i].AsSpan(0, _sizes[i]));
                continue;
            }
            try { _up[i].Receive(conn, h, 2 * i, _sizes[i], $"gradient {i}"); }
            catch (InvalidDataException e) { throw new DataPlaneException($"{Where}: {e.Message}", e); }
            _up[i].DecodeInto(grads[i].AsSpan(0, _sizes[i]));
        }
        return new ShardStats(BitConverter.Int64BitsToDouble(h.B), BitConverter.Int64BitsToDouble(h.C), (int)h.D);
    }

    private T Guard<T>(Func<T> f)
    {
        try { return f(); }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or TimeoutException
                                      && e is not WorkerNodeLostException)
        {
            Dispose();
            throw new WorkerNodeLostException($"{Where}: {e.Message}", e);
        }
        catch (WorkerNodeLostException)
        {
            Dispose();
            throw;
        }
        catch (Exception)
        {
            Dispose();   // a frame cut short leaves the stream and the node's copy of the weights unknown
            throw;
        }
    }

    /// <summary>Called by <see cref="Dispose"/> when the node closed the connection before this end did (a node killed
    /// after its last shard of the run: nothing was read from it since, so nothing failed); the coordinator downs
    /// such a node's cluster member at the run's end instead of waiting for Akka's failure detector.</summary>
    public Action? PeerClosedAtDispose { get; init; }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_conn is { PeerClosed: true }) PeerClosedAtDispose?.Invoke();
        _conn?.Dispose();
        _conn = null;
        _exchange?.Dispose();
        _exchange = null;
    }
}
