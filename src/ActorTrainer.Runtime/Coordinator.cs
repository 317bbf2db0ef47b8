using System.Diagnostics;
using ActorTrainer.Core;
using Akka.Actor;
using Akka.Actor.Internal;
using Akka.Event;

namespace ActorTrainer.Runtime;

/// <summary>Supervises the generator, the parameter server and the worker pool; drives epochs and steps (sync: one
/// step at a time, each opened at the newest weights; async: whole epochs dispatched on demand), accumulates the
/// epoch statistics (loss = ΣLossSum/ΣCount, accuracy = ΣCorrect/ΣCount), validates at epoch ends, calls the
/// observer, writes checkpoints and completes the run's task. Crashed workers are restarted (their item is
/// re-queued); a failure of the generator or the parameter server fails the run.</summary>
internal sealed class Coordinator : ReceiveActor
{
    private readonly TrainingJob _job;
    private readonly RuntimeOptions _opts;
    private readonly ITrainingObserver _observer;
    private readonly TaskCompletionSource<TrainingResult> _tcs;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly int _stepsPerEpoch, _workerCount;
    private readonly HashSet<IActorRef> _workers = new();
    private IActorRef _server = ActorRefs.Nobody, _generator = ActorRefs.Nobody;
    private GradientEngine? _evalEngine;

    private int _epoch, _stepInEpoch;
    private long _globalStep, _stepsThisRun, _rejected, _version;
    private double _epochLoss, _epochCorrect;
    private long _epochCount;
    private readonly List<EpochLogs> _history = new();
    private float[][] _weights;
    private bool _epochOpen, _cancelled, _stopRequested, _finished;
    private bool _stopSent;
    private int? _dispatchLimit;
    private Action? _afterSnapshot;
    private readonly Stopwatch _epochWatch = new(), _runWatch = Stopwatch.StartNew();

    public Coordinator(TrainingJob job, ITrainingObserver observer, TaskCompletionSource<TrainingResult> tcs)
    {
        _job = job; _opts = job.Options; _observer = observer; _tcs = tcs;
        _stepsPerEpoch = Batching.batchCount(job.Train.Count, job.BatchSize);
        _workerCount = _opts.EffectiveWorkers;
        _weights = job.InitialWeights;
        if (job.Resume is { } r)
        {
            _epoch = r.Epoch; _stepInEpoch = r.StepInEpoch; _globalStep = r.GlobalStep;
            _epochLoss = r.EpochLossSum; _epochCorrect = r.EpochCorrect; _epochCount = r.EpochCount;
            _history.AddRange(r.History); _weights = r.Weights; _rejected = r.StaleGradientsRejected;
        }
        Receive<StepResolved>(m => Guard(() => OnStepResolved(m)));
        Receive<StepDiverged>(m => Fail(new TrainingDivergedException(m.Epoch, m.Step, m.StepInEpoch, m.What)));
        Receive<WorkItemAbandoned>(m => Fail(new WorkerFailedException(m.Step, m.Shard, m.Attempts, m.Error)));
        Receive<ServerState>(m => Guard(() => OnServerState(m)));
        Receive<DispatchStopped>(m => Guard(() => { _dispatchLimit = m.NextStepInEpoch; CheckAsyncEpoch(); }));
        Receive<CancelTraining>(_ => Guard(OnCancel));
    }

    protected override SupervisorStrategy SupervisorStrategy() =>
        new TrainerSupervision(child => _workers.Contains(child), (child, e) =>
            Fail(new InvalidOperationException($"training actor '{child.Path.Name}' failed: {(e is ActorInitializationException { InnerException: { } inner } ? "could not start: " + inner.Message : e.Message)}", e)));

    protected override void PreStart() => Guard(() =>
    {
        var job = _job;
        bool async = _opts.IsAsync;
        _server = Context.ActorOf(Props.Create(() => new ParameterServer(_weights, job.Optimizer, Self, async,
            _opts.AsyncMaxStaleness, _globalStep, _opts.ShardsPerBatch)), "parameter-server");
        _generator = Context.ActorOf(Props.Create(() => new BatchGenerator(job.Train, job.Plan, job.BatchSize,
            _opts.ShardsPerBatch, job.Seed, job.Shuffle, _opts.EffectiveWorkerTimeout, _opts.Faults, Self)), "batch-generator");
        int maxRows = JobValidation.WorkerRows(job);
        bool failStart = _opts.Faults?.FailWorkerStart ?? false;
        for (int i = 0; i < _workerCount; i++)
        {
            int id = i;
            var server = _server; var generator = _generator;
            _workers.Add(Context.ActorOf(Props.Create(() => new GradientWorker(id, job.Plan, maxRows, generator, server, async,
                _opts.AsyncPullEvery, failStart)), "worker-" + id));
        }
        Proceed();
    });

    protected override void PostStop()
    {
        if (!_finished) _tcs.TrySetException(new InvalidOperationException("training coordinator stopped before the run finished (actor system shut down?)"));
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
        _finished = true;
        // The caller gets the exception (with its stack trace) from the run's task and reports it once.
        _log.Debug("training failed: {0}", e.Message);
        _tcs.TrySetException(e);
        Context.Stop(Self);
    }

    private void Finish(bool interrupted)
    {
        _finished = true;
        double secs = _runWatch.Elapsed.TotalSeconds;
        var weights = _weights.Select(a => (float[])a.Clone()).ToArray();
        _tcs.TrySetResult(new TrainingResult(weights, _history.ToArray(), _globalStep, interrupted,
            secs > 0 ? _stepsThisRun / secs : 0, _rejected, _workerCount, _opts.Mode));
        Context.Stop(Self);
    }

    /// <summary>Next action after a step, an epoch end or a checkpoint.</summary>
    private void Proceed()
    {
        if (_epoch >= _job.Epochs) Finish(false);
        else if (_cancelled) Finish(true);
        else if (_stopRequested) Finish(false);
        else if (!_epochOpen) BeginEpoch();
        else if (!_opts.IsAsync) _generator.Tell(new OpenStep(_globalStep, _epoch, _stepInEpoch, _version, _weights));
    }

    private void BeginEpoch()
    {
        _epochOpen = true;
        _dispatchLimit = null;
        _epochWatch.Restart();
        _observer.OnEpochBegin(_epoch, _stepsPerEpoch);
        _generator.Tell(new StartEpoch(_epoch, _stepInEpoch, _globalStep, _opts.IsAsync));
        Proceed();
    }

    private void OnStepResolved(StepResolved m)
    {
        if (m.Epoch != _epoch || !_epochOpen) return;
        if (!_opts.IsAsync && m.Step != _globalStep) return;
        _weights = m.Weights; _version = m.Version; _rejected = m.Rejected;
        _epochLoss += m.LossSum; _epochCorrect += m.Correct; _epochCount += m.Count;
        _stepInEpoch++; _globalStep++; _stepsThisRun++;
        _observer.OnBatchEnd(_epoch, _opts.IsAsync ? m.StepInEpoch : _stepInEpoch - 1,
            _epochLoss / Math.Max(1, _epochCount), _epochCorrect / Math.Max(1, _epochCount));
        if (_opts.IsAsync) CheckAsyncEpoch();
        else AfterStep();
    }

    /// <summary>Async: the epoch (or, after a cancellation, the dispatched part of it) is over once every handed-out
    /// batch is resolved.</summary>
    private void CheckAsyncEpoch()
    {
        if (!_epochOpen) return;
        if (_stopSent && _dispatchLimit is null) return;
        int target = _dispatchLimit ?? _stepsPerEpoch;
        if (_stepInEpoch >= target) AfterStep();
    }

    private void AfterStep()
    {
        bool epochEnded = _stepInEpoch == _stepsPerEpoch;
        if (epochEnded)
        {
            EndEpoch();
            _stopRequested |= _observer.StopRequested;
        }
        bool finishing = _epoch >= _job.Epochs || _cancelled || _stopRequested;
        bool due = epochEnded || finishing || (!_opts.IsAsync && _opts.CheckpointEverySteps > 0 && _globalStep % _opts.CheckpointEverySteps == 0);
        if (_opts.CheckpointDir is not null && due)
        {
            _afterSnapshot = Proceed;
            _server.Tell(new SnapshotRequest());
        }
        else Proceed();
    }

    private void EndEpoch()
    {
        double? valLoss = null, valAcc = null;
        if (_job.Validation is { Count: > 0 } v)
        {
            var st = Evaluate(v);
            valLoss = st.LossSum / st.Count;
            valAcc = st.Correct / st.Count;
        }
        var logs = new EpochLogs(_epoch, _epochLoss / Math.Max(1, _epochCount), _epochCorrect / Math.Max(1, _epochCount),
            valLoss, valAcc, _epochWatch.Elapsed.TotalSeconds);
        _history.Add(logs);
        _epochOpen = false;
        _epoch++; _stepInEpoch = 0;
        _epochLoss = 0; _epochCorrect = 0; _epochCount = 0;
        _observer.OnEpochEnd(logs, _weights.Select(a => (float[])a.Clone()).ToArray());
    }

    private ShardStats Evaluate(TrainingData v)
    {
        int bs = Math.Max(1, Math.Min(_job.BatchSize, v.Count)), inW = v.Features, outW = _job.Plan.OutputDim;
        _evalEngine ??= new GradientEngine(_job.Plan, bs);
        var total = ShardStats.Zero;
        for (int start = 0; start < v.Count; start += bs)
        {
            int rows = Math.Min(bs, v.Count - start);
            var labels = v.Labels is null ? ReadOnlySpan<int>.Empty : v.Labels.AsSpan(start, rows);
            var targets = v.Targets is null ? ReadOnlySpan<float>.Empty : v.Targets.AsSpan(start * outW, rows * outW);
            total += _evalEngine.Evaluate(_weights, v.X.AsSpan(start * inW, rows * inW), labels, targets, rows);
        }
        return total;
    }

    private void OnServerState(ServerState s)
    {
        var k = _afterSnapshot;
        if (k is null) return;
        _afterSnapshot = null;
        var state = new CheckpointState(_job.Seed, _epoch, _stepInEpoch, _globalStep, _epochLoss, _epochCorrect, _epochCount,
            s.Weights, _job.Optimizer.Name, s.Iterations, s.Slots, _history.ToArray(), _job.ConfigText, s.Rejected, _opts.Mode);
        string path;
        try
        {
            path = CheckpointStore.Save(_opts.CheckpointDir!, state, _opts.CheckpointKeep);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot write the checkpoint of global step {_globalStep} into '{_opts.CheckpointDir}': {e.Message} " +
                                  "(the checkpoints already there are intact)", e);
        }
        _log.Debug("checkpoint written: {0}", path);
        k();
    }

    private void OnCancel()
    {
        if (_cancelled) return;
        _cancelled = true;
        if (_opts.IsAsync && _epochOpen)
        {
            _stopSent = true;
            _generator.Tell(new StopDispatch());
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
