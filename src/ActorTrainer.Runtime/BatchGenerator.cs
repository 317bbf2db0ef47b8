using ActorTrainer.Core;
using Akka.Actor;
using Akka.Event;

namespace ActorTrainer.Runtime;

/// <summary>Owns the training data and the seeded per-epoch permutation (Batching.permutation seed epoch N shuffle);
/// hands out work items on demand (pull-based): sync mode = the non-empty shards of the open step
/// (Batching.shardRange), async mode = whole batches. Tracks assigned items: an item whose worker crashed or did not
/// answer within the timeout is handed out again; completions of items already done are ignored.</summary>
public sealed class BatchGenerator : ReceiveActor, IWithTimers
{
    private sealed record Assigned(ShardWork Work, IActorRef Worker, DateTime Deadline);

    private const int MaxAttempts = 4;
    private readonly ArrayData _data;
    private readonly ModelPlan _plan;
    private readonly int _batchSize, _shards, _seed;
    private readonly bool _shuffle;
    private readonly TimeSpan _timeout;
    private readonly FaultInjection? _faults;
    private readonly IActorRef _coordinator;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    private readonly LinkedList<ShardWork> _queue = new();
    private readonly Dictionary<(long, int), Assigned> _assigned = new();
    private readonly HashSet<(long, int)> _done = new();
    private readonly Dictionary<(long, int), int> _attempts = new();
    private readonly Queue<IActorRef> _idle = new();
    private readonly HashSet<IActorRef> _idleSet = new();
    private long _dispatches;
    private (long, int)? _throwKey;
    private int _throws;
    private int[] _order = Array.Empty<int>();
    private int _epoch = -1;
    private bool _async, _dispatching;
    private int _nextStepInEpoch, _stepsPerEpoch;
    private long _firstGlobalStep;
    // sync mode: input buffers of the open step, recycled when the next step opens (the open step then has
    // resolved: every shard reported; a timed-out straggler still reading one only computes a result that is discarded)
    private List<float[]> _stepBuffers = new();
    private readonly Dictionary<int, Stack<float[]>> _pool = new();
    // sync mode: the next step's shard inputs, gathered while the workers compute the open step (the gather needs
    // the permutation, not the weights), so it is off the critical path
    private (long Step, int Epoch, List<ShardWork> Items, List<float[]> Buffers)? _prefetched;

    /// <summary>Timers (the timeout check).</summary>
    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Creates the generator; the data is read, never modified.</summary>
    public BatchGenerator(ArrayData data, ModelPlan plan, int batchSize, int shards, int seed, bool shuffle,
        TimeSpan timeout, FaultInjection? faults, IActorRef coordinator)
    {
        _data = data; _plan = plan; _batchSize = batchSize; _shards = shards; _seed = seed; _shuffle = shuffle;
        _timeout = timeout; _faults = faults; _coordinator = coordinator;
        _stepsPerEpoch = Batching.batchCount(data.Count, batchSize);

        Receive<StartEpoch>(OnStartEpoch);
        Receive<OpenStep>(OnOpenStep);
        Receive<RequestWork>(OnRequestWork);
        Receive<WorkFailed>(OnWorkFailed);
        Receive<CheckTimeouts>(_ => OnCheckTimeouts());
        Receive<StopDispatch>(_ =>
        {
            _dispatching = false;
            Sender.Tell(new DispatchStopped(_epoch, _nextStepInEpoch));
        });
    }

    /// <inheritdoc/>
    protected override void PreStart()
    {
        var tick = TimeSpan.FromTicks(Math.Clamp(_timeout.Ticks / 4, TimeSpan.FromMilliseconds(10).Ticks, TimeSpan.FromMilliseconds(250).Ticks));
        Timers.StartPeriodicTimer("timeouts", new CheckTimeouts(), tick);
    }

    private void OnStartEpoch(StartEpoch m)
    {
        if (m.Epoch != _epoch)
        {
            _order = Batching.permutation(_seed, m.Epoch, _data.Count, _shuffle);
            _epoch = m.Epoch;
        }
        _async = m.Async;
        _nextStepInEpoch = m.StartStepInEpoch;
        _firstGlobalStep = m.FirstGlobalStep - m.StartStepInEpoch;
        _queue.Clear(); _assigned.Clear(); _done.Clear(); _attempts.Clear();
        DropPrefetch();
        _dispatching = m.Async;
        Dispatch();
    }

    private void OnOpenStep(OpenStep m)
    {
        if (m.Epoch != _epoch)
            throw new InvalidOperationException($"batch generator: step {m.Step} opened for epoch {m.Epoch} but the current epoch is {_epoch}");
        _queue.Clear(); _assigned.Clear(); _done.Clear(); _attempts.Clear();
        Recycle(_stepBuffers);
        if (_prefetched is { } p && p.Step == m.Step && p.Epoch == m.Epoch)
        {
            _prefetched = null;
            _stepBuffers = p.Buffers;
            foreach (var w in p.Items) _queue.AddLast(w with { Version = m.Version, Weights = m.Weights });
        }
        else
        {
            DropPrefetch();
            _stepBuffers = new List<float[]>();
            foreach (var w in StepItems(m.Step, m.StepInEpoch, _stepBuffers)) _queue.AddLast(w with { Version = m.Version, Weights = m.Weights });
        }
        Dispatch();
        // gather the next step of this epoch now, while the workers compute
        if (m.StepInEpoch + 1 < _stepsPerEpoch)
        {
            var buffers = new List<float[]>();
            _prefetched = (m.Step + 1, m.Epoch, StepItems(m.Step + 1, m.StepInEpoch + 1, buffers), buffers);
        }
    }

    /// <summary>The non-empty shards of a sync step (weights attached when the step opens).</summary>
    private List<ShardWork> StepItems(long step, int stepInEpoch, List<float[]> buffers)
    {
        int start = stepInEpoch * _batchSize;
        int rows = Math.Min(_batchSize, _data.Count - start);
        int nonEmpty = 0;
        for (int s = 0; s < _shards; s++)
            if (Batching.shardRange(rows, _shards, s).Item2 > 0) nonEmpty++;
        var items = new List<ShardWork>(nonEmpty);
        for (int s = 0; s < _shards; s++)
        {
            var (a, c) = Batching.shardRange(rows, _shards, s);
            if (c == 0) continue;
            items.Add(MakeWork(step, stepInEpoch, s, nonEmpty, -1, null, start + a, c, rows, Batching.dropoutSeed(_seed, step, s), buffers));
        }
        return items;
    }

    private void Recycle(List<float[]> buffers)
    {
        foreach (var b in buffers)
        {
            if (!_pool.TryGetValue(b.Length, out var stack)) _pool[b.Length] = stack = new Stack<float[]>();
            stack.Push(b);
        }
        buffers.Clear();
    }

    private void DropPrefetch()
    {
        if (_prefetched is { } p) Recycle(p.Buffers);
        _prefetched = null;
    }

    private ShardWork MakeWork(long step, int stepInEpoch, int shard, int shardCount, long version, float[][]? weights,
        int first, int count, int batchRows, long dropoutSeed, List<float[]>? buffers = null)
    {
        int inW = _data.Features;
        float[] x;
        if (buffers is not null && _pool.TryGetValue(count * inW, out var free) && free.Count > 0) x = free.Pop();
        else x = new float[count * inW];
        buffers?.Add(x);
        Batching.gather(_data.X, inW, _order, first, count, x.AsSpan());
        int[]? labels = null;
        float[]? targets = null;
        if (_data.Labels is not null)
        {
            labels = new int[count];
            Batching.gatherLabels(_data.Labels, _order, first, count, labels.AsSpan());
        }
        if (_data.Targets is not null)
        {
            int outW = _plan.OutputDim;
            targets = new float[count * outW];
            Batching.gather(_data.Targets, outW, _order, first, count, targets.AsSpan());
        }
        return new ShardWork(step, _epoch, stepInEpoch, shard, shardCount, version, weights, x, labels, targets, count,
            batchRows, dropoutSeed, InjectedFault.None, 0);
    }

    private void OnRequestWork(RequestWork m)
    {
        if (m.CompletedStep >= 0)
        {
            var key = (m.CompletedStep, m.CompletedShard);
            _assigned.Remove(key);
            _done.Add(key);
        }
        if (m.Ready && _idleSet.Add(Sender)) _idle.Enqueue(Sender);
        Dispatch();
    }

    private void OnWorkFailed(WorkFailed m)
    {
        var key = (m.Step, m.Shard);
        if (!_assigned.Remove(key, out var a) || _done.Contains(key)) return;
        int attempts = _attempts.GetValueOrDefault(key) + 1;
        _attempts[key] = attempts;
        _log.Warning("worker {0} failed on step {1} shard {2} (attempt {3}): {4}; re-queued", m.WorkerId, m.Step, m.Shard, attempts, m.Error);
        if (attempts >= MaxAttempts)
        {
            _coordinator.Tell(new WorkItemAbandoned(m.Step, m.Shard, attempts, m.Error));
            return;
        }
        _queue.AddFirst(a.Work with { Fault = InjectedFault.None, SleepMillis = 0 });
        Dispatch();
    }

    private void OnCheckTimeouts()
    {
        if (_assigned.Count == 0) return;
        var now = DateTime.UtcNow;
        List<(long, int)>? expired = null;
        foreach (var (key, a) in _assigned)
            if (a.Deadline <= now) (expired ??= new()).Add(key);
        if (expired is null) return;
        foreach (var key in expired)
        {
            var a = _assigned[key];
            _assigned.Remove(key);
            _log.Warning("worker {0} did not answer step {1} shard {2} within {3}; reassigning", a.Worker.Path.Name, key.Item1, key.Item2, _timeout);
            _queue.AddFirst(a.Work with { Fault = InjectedFault.None, SleepMillis = 0 });
        }
        Dispatch();
    }

    private ShardWork? NextWork()
    {
        while (_queue.First is { } node)
        {
            _queue.RemoveFirst();
            if (!_done.Contains((node.Value.Step, node.Value.Shard))) return node.Value;
        }
        if (_async && _dispatching && _nextStepInEpoch < _stepsPerEpoch)
        {
            int b = _nextStepInEpoch++;
            int start = b * _batchSize;
            int rows = Math.Min(_batchSize, _data.Count - start);
            long step = _firstGlobalStep + b;
            return MakeWork(step, b, 0, 1, -1, null, start, rows, rows, Batching.dropoutSeed(_seed, step, 0));
        }
        return null;
    }

    private void Dispatch()
    {
        while (_idle.Count > 0)
        {
            var work = NextWork();
            if (work is null) return;
            var worker = _idle.Dequeue();
            _idleSet.Remove(worker);
            long index = _dispatches++;
            if (_faults is { } f)
            {
                var key = (work.Step, work.Shard);
                if (index == f.ThrowOnShard) _throwKey = key;
                if (_throwKey == key && _throws < f.ThrowTimes)
                {
                    _throws++;
                    work = work with { Fault = InjectedFault.Throw };
                }
                else if (index == f.SleepOnShard) work = work with { Fault = InjectedFault.Sleep, SleepMillis = (int)f.EffectiveSleep.TotalMilliseconds };
            }
            _assigned[(work.Step, work.Shard)] = new Assigned(work, worker, DateTime.UtcNow + _timeout);
            worker.Tell(work);
        }
    }
}
