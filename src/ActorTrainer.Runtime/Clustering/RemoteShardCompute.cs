using ActorTrainer.Core;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>A gradient worker's shards computed on a worker node (coordinator side of one data-plane connection): each
/// shard's rows, and the weights when the node does not hold them yet (keyed by the worker's weights key), go down;
/// the gradient comes back into the worker's buffers. The node runs the same GradientEngine, so the gradient has the
/// same bits as a local one. Every failure — refused connection, closed socket, protocol error, no answer within
/// the data plane's IoTimeout (the per-step deadline) — is a <see cref="WorkerNodeLostException"/>. `sync` tells the node
/// the run is synchronous (a GPU node refuses such a job: its gradients' bits are not a CPU worker's).</summary>
public sealed class RemoteShardCompute(string host, int port, ModelPlan plan, int maxRows, int threads, DataPlaneOptions options,
    bool sync = false) : IShardCompute
{
    private readonly int[] _sizes = plan.WeightShapes.Select(s => s.Aggregate(1, (a, b) => a * b)).ToArray();
    private TensorConnection? _conn;
    private long _heldKey = long.MinValue, _request;

    /// <inheritdoc/>
    public string Where => $"node {host}:{port}";

    /// <inheritdoc/>
    public void Open() => Guard(() =>
    {
        _conn = TensorConnection.Connect(host, port, options);
        _conn.Send(NodeProtocol.Job, maxRows, threads, _sizes.Length, sync ? 1 : 0, PlanCodec.Encode(plan));
        var h = _conn.ReceiveHeader();
        if (h.Kind == NodeProtocol.Error) throw new WorkerNodeLostException($"{Where} refused the job: {NodeProtocol.ReadError(_conn, h)}");
        if (h.Kind != NodeProtocol.Ready || h.SectionCount != 0) throw new DataPlaneException($"{Where}: expected Ready, got frame kind {h.Kind}");
        return 0;
    });

    /// <inheritdoc/>
    public ShardStats Compute(float[][] weights, long weightsKey, ReadOnlyMemory<float> x, ReadOnlyMemory<int> labels,
        ReadOnlyMemory<float> targets, int rows, int batchRows, long dropoutSeed, float[][] grads)
    {
        var conn = _conn ?? throw new WorkerNodeLostException($"{Where}: not connected");
        bool sendWeights = weightsKey != _heldKey;
        var sections = new Section[2 + (sendWeights ? weights.Length : 0)];
        sections[0] = Section.Of(x);
        sections[1] = plan.Loss.SparseTargets ? Section.Of(labels) : Section.Of(targets);
        if (sendWeights) for (int i = 0; i < weights.Length; i++) sections[2 + i] = Section.Of(weights[i]);
        long request = ++_request;
        return Guard(() =>
        {
            _heldKey = long.MinValue;   // unknown until the node answered
            conn.Send(NodeProtocol.Work, request, weightsKey, (long)(uint)rows | ((long)batchRows << 32), dropoutSeed, sections);
            var stats = ReadResult(conn, request, rows, grads);
            _heldKey = weightsKey;
            return stats;
        });
    }

    private ShardStats ReadResult(TensorConnection conn, long request, int rows, float[][] grads)
    {
        var h = conn.ReceiveHeader();
        if (h.Kind == NodeProtocol.Error) throw new WorkerNodeLostException($"{Where} failed the shard: {NodeProtocol.ReadError(conn, h)}");
        if (h.Kind != NodeProtocol.Result || h.A != request || h.D != rows || h.SectionCount != _sizes.Length)
            throw new DataPlaneException($"{Where}: expected the result of request {request} ({rows} rows, {_sizes.Length} tensors), got kind {h.Kind} request {h.A} count {h.D} with {h.SectionCount} sections");
        for (int i = 0; i < _sizes.Length; i++)
        {
            if (h.Types[i] != SectionType.Float32 || h.Lengths[i] != _sizes[i])
                throw new DataPlaneException($"{Where}: gradient {i} has {h.Lengths[i]} elements of {h.Types[i]}, expected {_sizes[i]} Float32");
            conn.ReceiveSection(grads[i].AsSpan(0, _sizes[i]));
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
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _conn?.Dispose();
        _conn = null;
    }
}
