using System.Runtime.CompilerServices;
using ActorTrainer.Core;
using Akka.Actor;
using Akka.Event;

namespace ActorTrainer.Runtime;

/// <summary>Thrown by a worker for an injected crash (FaultInjection.ThrowOnShard).</summary>
public sealed class InjectedWorkerFaultException(long step, int shard)
    : Exception($"injected fault: worker crash on global step {step}, shard {shard}");

/// <summary>Computes shard gradients with its own GradientEngine: grads = ∂(Σ_rows loss / BatchRows)/∂weights at the
/// item's weights (sync) or at its last pulled weights (async, pulled from every parameter-server slice every pullEvery
/// items; the slices answer). Never writes the weights or inputs it receives. Sync: each result goes to every slice; async: to the
/// parameter server. A gradient buffer is reused only after the server's ReleaseGradients for its step.
/// Pull-based: asks the generator for work when idle; in sync mode it asks for the next item when it starts one
/// (at most one item waits in its mailbox).</summary>
public sealed class GradientWorker : ReceiveActor
{
    private readonly int _id;
    private readonly IActorRef _generator, _server;
    private readonly IActorRef[] _slices;
    private readonly ParameterSlices _layout;
    private readonly bool _async;
    private readonly int _pullEvery, _keep;
    private readonly IShardCompute _compute;
    private readonly int[] _weightSizes;
    private readonly float[] _x, _targets;
    private readonly int[] _labels;
    private readonly Stack<float[][]> _free = new();
    private readonly SortedDictionary<long, List<float[][]>> _inFlight = new();
    private float[][]? _weights;
    private long _version = -1;
    private int _sincePull, _pulled;
    private float[]?[] _pullBuffers = [];
    private long _pullVersion, _pulls;

    /// <summary>Creates worker `id` with an engine for up to maxRows samples per item whose GEMMs use at most
    /// `parallelism` threads (0: the process default), or with the computation `compute` makes (a remote node);
    /// `slices` hold the weights as laid out by `layout`; `keepBuffers` gradient buffers are kept for reuse
    /// (failStart: throw, for tests).</summary>
    public GradientWorker(int id, ModelPlan plan, int maxRows, IActorRef generator, IActorRef server, IActorRef[] slices,
        ParameterSlices layout, bool async, int pullEvery, int keepBuffers, bool failStart = false, int parallelism = 0,
        Func<IShardCompute>? compute = null)
    {
        if (failStart) throw new InjectedWorkerFaultException(-1, -1);
        _id = id; _generator = generator; _server = server; _slices = slices; _layout = layout; _async = async;
        _pullEvery = pullEvery; _keep = keepBuffers;
        _compute = compute?.Invoke() ?? new LocalShardCompute(plan, maxRows, parallelism);
        _weightSizes = plan.WeightSizes;
        _x = new float[maxRows * plan.InputDim];
        _labels = new int[maxRows];
        _targets = new float[maxRows * plan.OutputDim];
        Receive<ShardWork>(Compute);
        Receive<ReleaseGradients>(Release);
        Receive<SliceWeights>(OnSliceWeights);
    }

    /// <inheritdoc/>
    protected override void PreStart()
    {
        try { _compute.Open(); }
        catch (WorkerNodeLostException e)
        {
            Lose(e);
            return;
        }
        Context.Parent.Tell(new WorkerConnected(_id));   // a remote worker counts once its node took the job
        if (_async) Pull();
        else _generator.Tell(new RequestWork(_id, -1, -1));
    }

    /// <inheritdoc/>
    protected override void PreRestart(Exception reason, object message)
    {
        if (message is ShardWork w) _generator.Tell(new WorkFailed(_id, w.Step, w.Shard, reason.Message));
        base.PreRestart(reason, message);
    }

    /// <inheritdoc/>
    protected override void PostStop() => _compute.Dispose();

    /// <summary>The compute node is gone: this worker asks for no more work and hands back every item it still
    /// gets (the generator re-queues them); the coordinator is told, so the run goes on with the other workers. Once
    /// the generator has retired it (<see cref="WorkerRetired"/>: every item it was handed has come and gone back) it
    /// stops, which frees its dedicated thread; a node that answers again later gets new workers.</summary>
    private void Lose(WorkerNodeLostException e)
    {
        // a node that refused the job or is busy: the coordinator logs that once for the node
        bool refused = e is WorkerNodeRefusedException, busy = e.InnerException is ShardComputeBusyException;
        if (!refused && !busy) Context.GetLogger().Warning("worker {0} ({1}) lost: {2}; its shards go to the other gradient workers", _id, _compute.Where, e.Message);
        Context.Parent.Tell(new WorkerLost(_id, _compute.Where, e.Message, refused, busy));
        _generator.Tell(new RetireWorker(_id));
        Become(() =>
        {
            Receive<ShardWork>(w => _generator.Tell(new WorkFailed(_id, w.Step, w.Shard, $"worker {_id} ({_compute.Where}) is lost", WorkerLost: true)));
            Receive<WorkerRetired>(_ => Context.Stop(Self));
            ReceiveAny(_ => { });
        });
    }

    private void Pull()
    {
        _weights ??= _weightSizes.Select(n => new float[n]).ToArray();
        _pulled = 0;
        _pullVersion = long.MaxValue;
        // through the server: it forwards the pull to every slice after the gradients this worker sent before it; the
        // last pull's buffers go with it (theirs to fill and send back), so that a pull allocates none
        var recycled = _pullBuffers.Length == _slices.Length && Array.TrueForAll(_pullBuffers, b => b is not null) ? _pullBuffers : null;
        _pullBuffers = new float[]?[_slices.Length];
        _server.Tell(new PullWeights(_id, recycled));
    }

    /// <summary>Async pull: every slice's values land in this worker's own copy; its version is the oldest slice's.</summary>
    private void OnSliceWeights(SliceWeights m)
    {
        _layout.Scatter(m.Slice, m.Values, _weights!);
        if (m.Slice < _pullBuffers.Length) _pullBuffers[m.Slice] = m.Values;   // ours again: handed over with the next pull
        _pullVersion = Math.Min(_pullVersion, m.Version);
        if (++_pulled < _slices.Length) return;
        _version = _pullVersion;
        _pulls++;
        _sincePull = 0;
        _generator.Tell(new RequestWork(_id, -1, -1));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Release(ReleaseGradients m)
    {
        if (!m.AndEarlier)
        {
            if (_inFlight.Remove(m.Step, out var one)) Free(one);
            return;
        }
        while (_inFlight.Count > 0 && _inFlight.First() is var (step, list) && step <= m.Step)
        {
            _inFlight.Remove(step);
            Free(list);
        }
    }

    private void Free(List<float[][]> buffers)
    {
        foreach (var b in buffers) if (_free.Count < _keep) _free.Push(b);
    }

    /// <summary>The item's rows: gathered here into this worker's buffers when the item names them (in-process), else
    /// the arrays it carries (remote).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private (ReadOnlyMemory<float> X, ReadOnlyMemory<int> Labels, ReadOnlyMemory<float> Targets) Inputs(ShardWork w)
    {
        if (w.Source is not { } src)
            return (w.X ?? throw new InvalidOperationException($"worker {_id}: work for step {w.Step} carries no rows"),
                w.Labels ?? ReadOnlyMemory<int>.Empty, w.Targets ?? ReadOnlyMemory<float>.Empty);
        int n = w.Rows;
        var x = _x.AsMemory(0, n * src.Data.Features);
        var labels = src.Data.Labels is null ? Memory<int>.Empty : _labels.AsMemory(0, n);
        var targets = src.Data.Targets is null ? Memory<float>.Empty : _targets.AsMemory(0, n * src.TargetWidth);
        src.Gather(n, x.Span, labels.Span, targets.Span);
        return (x, labels, targets);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Compute(ShardWork w)
    {
        if (w.Fault == InjectedFault.Throw) throw new InjectedWorkerFaultException(w.Step, w.Shard);
        // sync: ask for the next item now (one item of look-ahead hides the generator round trip)
        if (!_async) _generator.Tell(new RequestWork(_id, -1, -1));
        if (w.Fault == InjectedFault.Sleep) Thread.Sleep(w.SleepMillis);
        var weights = w.Weights ?? (_version >= 0 ? _weights : null)
            ?? throw new InvalidOperationException($"worker {_id}: async work for step {w.Step} arrived before any weights were pulled");
        long version = w.Weights is null ? _version : w.Version;
        var grads = _free.Count > 0 ? _free.Pop() : _weightSizes.Select(n => new float[n]).ToArray();
        var (x, labels, targets) = Inputs(w);
        ShardStats stats;
        (_compute as IShardRoute)?.Route(w.Step, w.Shard, w.ShardCount, w.Epoch, w.StepInEpoch, _id);
        try { stats = _compute.Compute(weights, w.Weights is null ? -1 - _pulls : w.Version, x, labels, targets, w.Rows, w.BatchRows, w.DropoutSeed, grads); }
        catch (WorkerNodeLostException e)
        {
            _free.Push(grads);
            _generator.Tell(new WorkFailed(_id, w.Step, w.Shard, e.Message, WorkerLost: true));
            Lose(e);
            return;
        }
        if (!_inFlight.TryGetValue(w.Step, out var list)) _inFlight[w.Step] = list = new List<float[][]>(1);
        list.Add(grads);
        var result = new ShardResult(w.Step, w.Epoch, w.StepInEpoch, w.Shard, w.ShardCount, w.BatchRows, version, _id,
            stats.LossSum, stats.Correct, stats.Count, grads, !_async || Batching.allFinite(grads));
        if (_async) _server.Tell(result);
        else if (_compute is not IShardRoute { DeliversGradients: true }) foreach (var s in _slices) s.Tell(result);
        if (_async && ++_sincePull >= _pullEvery)
        {
            _generator.Tell(new RequestWork(_id, w.Step, w.Shard, Ready: false));
            Pull();
        }
        else _generator.Tell(new RequestWork(_id, w.Step, w.Shard, Ready: _async));
    }
}
