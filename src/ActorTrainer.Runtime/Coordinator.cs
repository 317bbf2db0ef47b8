using System.Runtime.CompilerServices;
using ActorTrainer.Core;
using ActorTrainer.Runtime.Clustering;
using Akka.Actor;
using Akka.Actor.Internal;
using Akka.Event;

namespace ActorTrainer.Runtime;

/// <summary>The actor runtime's step server: supervises the batch generator, the parameter server and the worker
/// pool (the executor sends StartEpoch and, in sync mode, each OpenStep to the generator itself — one hop less per
/// step), and delivers every resolved step — sync: once every shard reported; async: each batch as it arrives. Resolved steps go to the executor through a <see cref="StepPipe"/>; the fit loop (not this actor) owns
/// epochs, statistics, validation and checkpoints. Crashed workers are restarted (their item is re-queued); a failure
/// of the generator or the parameter server, a diverged step or an abandoned item fails the pipe.</summary>
internal sealed partial class Coordinator : ReceiveActor
{
    private readonly StepJob _job;
    private readonly FitCheckpoint _start;
    private readonly RuntimeOptions _opts;
    private readonly StepPipe _pipe;
    private readonly LiveWorkers _alive;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<IActorRef> _workers = new();
    private IActorRef _server = ActorRefs.Nobody, _generator = ActorRefs.Nobody;
    private readonly TaskCompletionSource<IActorRef> _generatorReady;
    private readonly float[][] _weights;
    private int _epoch = -1, _epochStart, _resolvedInEpoch;
    private int? _drainLimit;
    private TaskCompletionSource<int>? _drain;
    private TaskCompletionSource<WeightsLoaded>? _load;
    private TaskCompletionSource<ServerState>? _state;
    private bool _finished;

    public Coordinator(StepJob job, FitCheckpoint start, RuntimeOptions options, StepPipe pipe, LiveWorkers alive,
        TaskCompletionSource<IActorRef> generatorReady, SharedWeightsHome? sharedWeights)
    {
        _job = job; _start = start; _opts = options; _pipe = pipe; _alive = alive; _generatorReady = generatorReady;
        _sharedWeights = sharedWeights;
        _weights = start.Weights;
        Receive<BeginEpochCommand>(m => Guard(() => BeginEpoch(m)));
        Receive<StepResolved>(m => Guard(() => OnStepResolved(m)));
        Receive<StepDiverged>(m => Fail(new TrainingDivergedException(m.Epoch, m.Step, m.StepInEpoch, m.What)));
        Receive<WorkItemAbandoned>(m => Fail(new WorkerFailedException(m.Step, m.Shard, m.Attempts, m.Error)));
        Receive<DrainCommand>(m => Guard(() => { _drain = m.Done; _generator.Tell(new StopDispatch()); }));
        Receive<DispatchStopped>(m => Guard(() => { _drainLimit = m.NextStepInEpoch - _epochStart; CheckDrain(); }));
        Receive<SetWeightsCommand>(m => Guard(() => { _load = m.Done; _server.Tell(new LoadWeights(m.Weights)); }));
        Receive<WeightsLoaded>(m => { _load?.TrySetResult(m); _load = null; });
        Receive<StateCommand>(m => Guard(() => { _state = m.Done; _server.Tell(new SnapshotRequest(m.Recycled)); }));
        Receive<ServerState>(m => { _state?.TrySetResult(m); _state = null; });
        Receive<Terminated>(m => Guard(() => OnWorkerStopped(m.ActorRef)));
        ReceiveRemote();
        ReceiveSlices();
    }

    protected override SupervisorStrategy SupervisorStrategy() =>
        new TrainerSupervision(child => _workers.Contains(child), (child, e) =>
            Fail(new InvalidOperationException($"training actor '{child.Path.Name}' failed: {(e is ActorInitializationException { InnerException: { } inner } ? "could not start: " + inner.Message : e.Message)}", e)));

    protected override void PreStart() => Guard(() =>
    {
        var job = _job;
        var opts = _opts;
        bool async = opts.IsAsync;
        var weights = _weights;
        long firstStep = _start.GlobalStep;
        var sizes = weights.Select(w => w.Length).ToArray();
        var layout = opts.SliceLayout(sizes);
        job.Optimizer.EnsureSlots(sizes);
        long iterations = job.Optimizer.Iterations;
        var self = Self;      // the delegates below run as each child is created, where Self is the child's
        _generator = Context.ActorOf(ActorProps.Of(() => new BatchGenerator(job.Train, job.Plan, job.BatchSize,
            job.ShardsPerBatch, job.Seed, job.Shuffle, opts.EffectiveWorkerTimeout, opts.Faults, self)).On(Context.System), "batch-generator");
        var generator = _generator;
        _server = Context.ActorOf(ActorProps.Of(() => new ParameterServer(weights, layout, self, generator, async,
            opts.AsyncMaxStaleness, opts.Staleness, firstStep, iterations)).On(Context.System), "parameter-server");
        var server = _server;
        // with cluster.ps-nodes the slices run on ps nodes, opened once they are found (Coordinator.Slices)
        int updateThreads = opts.SliceUpdateThreads;
        var slices = PsMode ? [] : Enumerable.Range(0, layout.Count).Select(i => Context.ActorOf(ActorProps.Of(() => new ParameterSlice(i, layout,
            weights, job.Optimizer, iterations, firstStep, job.ShardsPerBatch, server, updateThreads)).On(Context.System), "ps-slice-" + i)).ToArray();
        // the server must know its slices before any worker can send to it (an async worker pulls in PreStart)
        _server.Tell(new RegisterPeers(slices, []));
        foreach (var s in slices) s.Tell(new RegisterPeers(slices, []));   // the sync vote's peers, before any shard arrives
        _layout = layout; _slices = slices;
        if (opts.Remote is not { LocalWorkers: false }) StartWorkers(layout, slices);
        _server.Tell(new RegisterPeers(slices, _workers.ToArray()));
        if (opts.Remote is null) _generatorReady.TrySetResult(_generator);
        else StartRemote(opts.Remote);
    });

    /// <summary>The gradient workers, laid out by <see cref="RuntimeOptions.Layout"/> (each worker's GEMM threads are
    /// its own setting; other runs in the process keep theirs).</summary>
    private void StartWorkers(ParameterSlices layout, IActorRef[] slices)
    {
        var job = _job;
        var opts = _opts;
        bool async = opts.IsAsync;
        int maxRows = JobValidation.WorkerRows(job.BatchSize, job.Train.Count, job.ShardsPerBatch, async);
        bool failStart = opts.Faults?.FailWorkerStart ?? false;
        var (workers, threads) = opts.Layout;
        int keep = async ? 4 : job.ShardsPerBatch + 2;
        var server = _server; var generator = _generator;
        var factory = opts.LocalCompute;
        for (int i = 0; i < workers; i++)
        {
            int id = _nextWorkerId++;
            Func<IShardCompute>? compute = factory is null ? null : () => factory.Invoke(id, job.Plan, maxRows, threads);
            var worker = Context.ActorOf(ActorProps.Of(() => new GradientWorker(id, job.Plan, maxRows, generator, server, slices,
                layout, async, opts.AsyncPullEvery, keep, failStart, threads, compute)).On(Context.System), "worker-" + id);
            Context.Watch(worker);
            _workers.Add(worker);
            _counted.Add(worker);
            _alive.Started();
        }
    }

    /// <summary>A worker stopped (a lost one once the generator retired it, or one stopped for good): it no longer
    /// counts, and the parameter server stops sending it anything.</summary>
    private void OnWorkerStopped(IActorRef worker)
    {
        if (!_workers.Remove(worker)) return;
        _lost.Remove(worker);
        Uncount(worker);
        _server.Tell(new RegisterPeers(_slices, _workers.Where(w => !_lost.Contains(w)).ToArray()));
    }

    protected override void PostStop()
    {
        if (!_finished) Notify(new InvalidOperationException("training coordinator stopped before the run finished (actor system shut down?)"));
        DownLostNodes();
        // after the workers (children) stopped: the home's own pages again (the executor's Dispose does it too, should
        // this stop outlast its wait)
        _sharedWeights?.Dispose();
    }

    private void Guard(Action a)
    {
        if (_finished) return;
        try { a(); }
        catch (Exception e) { Fail(e); }
    }

    private void Fail(Exception e)
    {
        if (_finished) return;
        // The fit loop gets the exception (with its stack trace) from the executor and reports it once.
        _log.Debug("training failed: {0}", e.Message);
        Notify(e);
        Context.Stop(Self);
    }

    private void Notify(Exception e)
    {
        _finished = true;
        _pipe.Fail(e);
        _generatorReady.TrySetException(e);
        _drain?.TrySetException(e);
        _load?.TrySetException(e);
        _state?.TrySetException(e);
        _linkAsk?.Done.TrySetException(e);
    }

    /// <summary>Bookkeeping of the epoch the executor starts (it tells the generator itself: StartEpoch, then the
    /// OpenSteps, from one thread, so they arrive in order).</summary>
    private void BeginEpoch(BeginEpochCommand m)
    {
        _epoch = m.Epoch; _epochStart = m.StartStep; _resolvedInEpoch = 0;
        _drainLimit = null; _drain = null;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OnStepResolved(StepResolved m)
    {
        if (m.Epoch != _epoch) return;
        _resolvedInEpoch++;
        var stats = new ShardStats(m.LossSum, m.Correct, m.Count);
        _pipe.Add(new ResolvedStep(m.Step, new StepOutcome(m.StepInEpoch, stats), m.Weights, m.Version, m.Rejected, m.Iterations,
            m.ServerSeconds));
        CheckDrain();
    }

    /// <summary>Async: the drain is over once every handed-out batch of this epoch run resolved.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CheckDrain()
    {
        if (_drain is { } d && _drainLimit is { } n && _resolvedInEpoch >= n)
        {
            _drain = null;
            d.TrySetResult(n);
        }
    }

    /// <summary>Restarts failed workers (their item is re-queued by the worker's PreRestart); a worker whose constructor
    /// failed (it would fail again on every restart) and any other child failure is reported and the child stopped.</summary>
    private sealed class TrainerSupervision(Func<IActorRef, bool> isWorker, Action<IActorRef, Exception> fatal)
        : OneForOneStrategy(-1, -1, _ => Directive.Restart, false)
    {
        public override void ProcessFailure(IActorContext context, bool restart, IActorRef child, Exception cause,
            ChildRestartStats stats, IReadOnlyCollection<ChildRestartStats> children)
        {
            if (!isWorker(child) || cause is ActorInitializationException)
            {
                fatal(child, cause);
                context.Stop(child);
                return;
            }
            base.ProcessFailure(context, restart, child, cause, stats, children);
        }
    }
}
