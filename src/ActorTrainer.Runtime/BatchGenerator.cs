using System.Runtime.CompilerServices;
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
    private readonly HashSet<IActorRef> _lost = new();
    private long _dispatches;
    private (long, int)? _throwKey;
    private int _throws;
    private int[] _order = Array.Empty<int>();
    private int _epoch = -1;
    private bool _async, _dispatching;
    private int _nextStepInEpoch, _stepsPerEpoch;
    private long _firstGlobalStep;
    private (long Step, int StepInEpoch, float[][] Weights)? _open;     // sync: the step open now
    private long _openAfter = -1;                                         // sync: open the step after this one once applied
    private (long Step, long Version) _applied = (-1, 0);                 // sync: the last step the parameter server applied

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
        Receive<OpenNextStep>(m => { _openAfter = m.Step; OpenNextIfApplied(); });
        Receive<StepApplied>(m => { _applied = (m.Step, m.Version); OpenNextIfApplied(); });
        Receive<RequestWork>(OnRequestWork);
        Receive<WorkFailed>(OnWorkFailed);
        Receive<RetireWorker>(_ =>
        {
            // from now on the worker is sent nothing (Dispatch hands items to idle workers only, and a retired one never
            // becomes idle again); what was sent to it before is ahead of this answer in its mailbox
            Retire(Sender);
            Sender.Tell(WorkerRetired.Instance);
        });
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
        _open = null; _openAfter = -1;
        _dispatching = m.Async;
        Dispatch();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OnOpenStep(OpenStep m)
    {
        if (m.Epoch != _epoch)
            throw new InvalidOperationException($"batch generator: step {m.Step} opened for epoch {m.Epoch} but the current epoch is {_epoch}");
        _queue.Clear(); _assigned.Clear(); _done.Clear(); _attempts.Clear();
        _open = (m.Step, m.StepInEpoch, m.Weights);
        foreach (var w in StepItems(m.Step, m.StepInEpoch)) _queue.AddLast(w with { Version = m.Version, Weights = m.Weights });
        Dispatch();
    }

    /// <summary>The step open now is the one OpenNextStep named and the parameter server has applied it: open the next
    /// step of the epoch at the version it reported (the same weights arrays: sync slices update them in place).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OpenNextIfApplied()
    {
        if (_openAfter < 0 || _applied.Step != _openAfter || _open is not { } o || o.Step != _openAfter) return;
        _openAfter = -1;
        if (o.StepInEpoch + 1 >= _stepsPerEpoch)
            throw new InvalidOperationException($"batch generator: asked to open the step after step {o.Step}, the last of epoch {_epoch}");
        OnOpenStep(new OpenStep(o.Step + 1, _epoch, o.StepInEpoch + 1, _applied.Version, o.Weights));
    }

    /// <summary>The non-empty shards of a sync step (weights attached when the step opens).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private List<ShardWork> StepItems(long step, int stepInEpoch)
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
            items.Add(MakeWork(step, stepInEpoch, s, nonEmpty, start + a, c, rows, Batching.dropoutSeed(_seed, step, s)));
        }
        return items;
    }

    /// <summary>A work item naming its rows (the epoch's permutation is never modified, so they can be shared); the
    /// worker gathers them — in parallel with the other workers, off this actor.</summary>
    private ShardWork MakeWork(long step, int stepInEpoch, int shard, int shardCount, int first, int count, int batchRows, long dropoutSeed) =>
        new(step, _epoch, stepInEpoch, shard, shardCount, -1, null, null, null, null, count, batchRows, dropoutSeed,
            InjectedFault.None, 0, new ShardSource(_data, _order, first, _plan.OutputDim));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OnRequestWork(RequestWork m)
    {
        if (m.CompletedStep >= 0)
        {
            var key = (m.CompletedStep, m.CompletedShard);
            _assigned.Remove(key);
            _done.Add(key);
        }
        if (m.Ready && !_lost.Contains(Sender) && _idleSet.Add(Sender)) _idle.Enqueue(Sender);
        Dispatch();
    }

    /// <summary>A worker whose node is gone: out of the idle queue (it asked for its next item when it started the one
    /// it lost), and its later requests are ignored.</summary>
    private void Retire(IActorRef worker)
    {
        if (!_lost.Add(worker) || !_idleSet.Remove(worker)) return;
        var keep = _idle.Where(w => !w.Equals(worker)).ToArray();
        _idle.Clear();
        foreach (var w in keep) _idle.Enqueue(w);
    }

    private void OnWorkFailed(WorkFailed m)
    {
        if (m.WorkerLost) Retire(Sender);
        var key = (m.Step, m.Shard);
        if (!_assigned.Remove(key, out var a) || _done.Contains(key)) return;
        // a lost worker's hand-back is not a failed attempt: the node went away, the item did nothing wrong (a node of
        // W workers would otherwise use up the item's attempts as the item bounces between its workers)
        int attempts = _attempts.GetValueOrDefault(key) + (m.WorkerLost ? 0 : 1);
        _attempts[key] = attempts;
        // a lost worker's items: the worker said it was lost, and where its shards go, in its one warning
        _log.Log(m.WorkerLost ? Akka.Event.LogLevel.DebugLevel : Akka.Event.LogLevel.WarningLevel,
            "worker {0} failed on step {1} shard {2} (attempt {3}): {4}; re-queued", [m.WorkerId, m.Step, m.Shard, attempts, m.Error]);
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
            return MakeWork(step, b, 0, 1, start, rows, rows, Batching.dropoutSeed(_seed, step, 0));
        }
        return null;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
