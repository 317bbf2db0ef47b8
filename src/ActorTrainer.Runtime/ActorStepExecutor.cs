using ActorTrainer.Core;
using ActorTrainer.Runtime.Clustering;
using Akka.Actor;

namespace ActorTrainer.Runtime;

/// <summary>Runs fit's steps on Akka.NET actors (coordinator → batch generator, parameter server, gradient workers).
/// Sync mode gives weights bit-identical to the in-process executor for any worker count. Blocking calls; one fit
/// loop drives it.</summary>
public sealed class ActorStepExecutor : IStepExecutor, IStepLookahead
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);
    private readonly ActorSystem _system;
    private readonly bool _ownSystem;
    private readonly RuntimeOptions _opts;
    private readonly StepPipe _pipe = new();
    private readonly LiveWorkers _alive = new();
    private readonly IActorRef _coordinator, _generator;
    private readonly Optimizer _optimizer;
    private float[][] _weights;
    private long _version, _rejected, _global;
    private float[][][]? _lastSlots;     // the slots OptimizerState returned last: refilled by the next call
    private long _openedAhead = -1;     // sync: the global step the generator opens by itself (NextStepOpeningNext)
    private int _epoch, _next, _consumed;
    private bool _disposed, _interrupted;
    private readonly CancellationToken _cancel;
    private Func<bool>? _stuck;          // made once: Take runs every step
    private readonly SharedWeightsHome? _sharedWeights;   // sync cluster runs: the home in a file same-host nodes map

    /// <summary>Starts the actors on `system` (a private one, terminated on Dispose, when null) at `start`. `cancel`:
    /// fit's cancellation; once requested, a step that cannot finish because every remote gradient worker is lost is
    /// given up (<see cref="StepInterruptedException"/>) instead of waited for.</summary>
    public ActorStepExecutor(StepJob job, FitCheckpoint start, RuntimeOptions options, ActorSystem? system = null,
        CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _opts = options;
        _cancel = cancel;
        _optimizer = job.Optimizer;
        Layout = (options.Layout, options.SliceLayout(job.Weights.Select(w => w.Length).ToArray()).Count);
        _weights = start.Weights;
        _rejected = start.StaleGradientsRejected;
        _ownSystem = system is null;
        _system = system ?? ActorTrainingRunner.CreateSystem();
        var pipe = _pipe; var alive = _alive;
        // sync: same-host nodes read the weights where the slices update them (a file made on the first one's demand);
        // owned here, so that Dispose gives the home its own pages back even when the actors' stop outlasts its wait
        var shared = _sharedWeights = options.Remote is { DataPlane.SharedMemory: true } && !options.IsAsync ? new SharedWeightsHome(start.Weights) : null;
        var ready = new TaskCompletionSource<IActorRef>(TaskCreationOptions.RunContinuationsAsynchronously);
        _coordinator = _system.ActorOf(ActorProps.Of(() => new Coordinator(job, start, options, pipe, alive, ready, shared)).On(_system),
            "trainer-" + Guid.NewGuid().ToString("N"));
        try { _generator = AwaitReady(ready.Task, cancel); }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The generator, once the run can start; a cluster coordinator waits here for cluster.min-workers workers,
    /// and a cancellation meanwhile ends the wait at once (<see cref="Clustering.WorkersWaitCancelledException"/>)
    /// instead of after cluster.wait-for-workers.</summary>
    private IActorRef AwaitReady(Task<IActorRef> ready, CancellationToken cancel)
    {
        try { Task.WaitAny([ready], cancel); }
        catch (OperationCanceledException) when (!ready.IsCompleted && _opts.Remote is { } remote)
        {
            throw new Clustering.WorkersWaitCancelledException(
                $"cancelled while waiting for cluster.min-workers = {remote.MinWorkers} gradient workers ({_alive.Count} joined); no step ran, nothing to checkpoint");
        }
        catch (OperationCanceledException) { }   // a local run starts at once: fit sees the cancellation before its first step
        return ready.GetAwaiter().GetResult();
    }

    /// <inheritdoc/>
    public int Workers => _opts.Remote is null ? _opts.EffectiveWorkers : _alive.Peak;   // cluster: local and remote, at most at once
    /// <inheritdoc/>
    public int WorkersAlive => _alive.Count;
    /// <inheritdoc/>
    public bool Asynchronous => _opts.IsAsync;
    /// <inheritdoc/>
    public float[][] Weights => _opts.Remote is { PsNodes: > 0 } ? Refreshed() : _weights;

    private long _fresh;                 // ps nodes: the version whose weights the home holds
    private double _rate = double.NaN;   // ps nodes: the learning rate they have

    /// <summary>ps nodes: the slices' weights pulled into the home when it holds an older version. A pull that fails
    /// with the run throws its failure (the home's weights are an older step's); once the run has failed, the last
    /// pulled ones (what fit's end copies back; no checkpoint is written then: <see cref="IStepExecutor.OptimizerState"/>).</summary>
    private float[][] Refreshed()
    {
        if (_fresh == _version || _disposed || _pipe.Failed) return _weights;
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _coordinator.Tell(new RefreshWeightsCommand(done));
        if (!Answered(done.Task))
        {
            _pipe.ThrowIfFailed();
            done.Task.GetAwaiter().GetResult();
        }
        _fresh = _version;
        return _weights;
    }

    /// <summary>Waits for a command's answer; false when the run failed instead (a stopped coordinator answers nothing).</summary>
    private bool Answered(Task done)
    {
        while (Task.WaitAny([done], TimeSpan.FromMilliseconds(100)) < 0)
            if (_pipe.Failed) return false;
        return done.Status == TaskStatus.RanToCompletion;
    }

    /// <summary>ps nodes: the optimizer's learning rate goes to them before the step it applies to (a scheduler changes
    /// it between steps, when none is open).</summary>
    private void SendRate()
    {
        if (_opts.Remote is not { PsNodes: > 0 } || _optimizer.LearningRate == _rate) return;
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _coordinator.Tell(new SetRateCommand(_optimizer.LearningRate, done));
        if (Answered(done.Task)) _rate = _optimizer.LearningRate;   // else the step's Take throws the run's failure
    }
    /// <inheritdoc/>
    public long Version => _version;
    /// <inheritdoc/>
    public long StaleRejected => _rejected;

    /// <summary>The parameter server's time in this run so far: per resolved step, the busiest slice's fold + check +
    /// update seconds (what the step waits for when the slices work in parallel).</summary>
    public double ParameterServerSeconds { get; private set; }

    /// <summary>The layout this executor runs: workers × GEMM threads per worker, and parameter-server slices.</summary>
    public (WorkerLayout Workers, int PsSlices) Layout { get; }

    /// <inheritdoc/>
    public void BeginEpoch(int epoch, int startStep, long firstGlobalStep)
    {
        RefuseWhileAhead(nameof(BeginEpoch));
        _epoch = epoch; _next = startStep; _global = firstGlobalStep; _consumed = 0;
        _coordinator.Tell(new BeginEpochCommand(epoch, startStep, firstGlobalStep));
        _generator.Tell(new StartEpoch(epoch, startStep, firstGlobalStep, _opts.IsAsync));
    }

    /// <inheritdoc/>
    public StepOutcome NextStep() => Next(false);

    /// <summary>NextStep, and the generator opens the following step as soon as the parameter server has applied this
    /// one (StepApplied), without the round trip through this thread (sync; async: NextStep).</summary>
    public StepOutcome NextStepOpeningNext() => Next(!_opts.IsAsync);

    private StepOutcome Next(bool openNext)
    {
        if (_openedAhead != _global) SendRate();
        if (!_opts.IsAsync && _openedAhead != _global) _generator.Tell(new OpenStep(_global, _epoch, _next, _version, _weights));
        if (openNext) _generator.Tell(new OpenNextStep(_global));
        _openedAhead = -1;
        var r = Take();
        while (!_opts.IsAsync && r.Step != _global) r = Take();     // a late answer to an earlier step (not expected)
        _next++; _global++;
        if (openNext) _openedAhead = _global;
        return r.Outcome;
    }

    /// <summary>Between NextStepOpeningNext and the next step only NextStep may come: the step opened ahead would
    /// otherwise race what the call does with the weights.</summary>
    private void RefuseWhileAhead(string call)
    {
        if (_openedAhead >= 0)
            throw new InvalidOperationException($"actor step executor: {call} called while step {_openedAhead} is open ahead (NextStepOpeningNext promised NextStep next)");
    }

    /// <inheritdoc/>
    public StepOutcome[] Drain()
    {
        RefuseWhileAhead(nameof(Drain));
        if (!_opts.IsAsync) return [];
        if (_interrupted) return _pipe.TakeQueued().Select(r => Taken(r).Outcome).ToArray();   // no worker left to wait for
        var done = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        _coordinator.Tell(new DrainCommand(done));
        int handedOut = done.Task.GetAwaiter().GetResult();
        var rest = new StepOutcome[Math.Max(0, handedOut - _consumed)];
        for (int i = 0; i < rest.Length; i++) rest[i] = Take().Outcome;
        return rest;
    }

    /// <inheritdoc/>
    public void SetWeights(float[][] weights)
    {
        RefuseWhileAhead(nameof(SetWeights));
        var copy = _weights.Select(a => new float[a.Length]).ToArray();
        Core.Weights.checkedCopyInto("set_weights", weights, copy);
        var done = new TaskCompletionSource<WeightsLoaded>(TaskCreationOptions.RunContinuationsAsynchronously);
        _coordinator.Tell(new SetWeightsCommand(copy, done));
        var loaded = done.Task.GetAwaiter().GetResult();
        _weights = loaded.Weights; _version = loaded.Version;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            // a step opened ahead and not taken is applied by the slices; wait for it so that the weights' home is
            // not left half-updated (the fit loop takes such a step itself when a callback throws, which also tells
            // the optimizer its iteration; this guards any other caller)
            if (_openedAhead >= 0) _pipe.TryTake(StopTimeout);
            if (_ownSystem) _system.Terminate().Wait(StopTimeout);
            else _coordinator.GracefulStop(StopTimeout).Wait(StopTimeout);
        }
        catch (AggregateException) { /* stopping is best effort: the actors are gone or going */ }
        finally
        {
            // the weights go back to the caller in their own pages, whether or not the coordinator's PostStop ran yet
            _sharedWeights?.Dispose();
        }
    }

    private ResolvedStep Take()
    {
        try { return Taken(_pipe.Take(_cancel, _stuck ??= () => _opts.Remote is not null && _alive.Count == 0)); }
        catch (StepInterruptedException)
        {
            // nothing of the step was applied; no worker node that joins now gets work (the weights stay those of the
            // last resolved step while fit checkpoints them)
            _interrupted = true;
            _coordinator.Tell(new StopRecruiting());
            throw;
        }
    }

    private ResolvedStep Taken(ResolvedStep r)
    {
        _consumed++;
        _weights = r.Weights; _version = r.Version; _rejected = r.Rejected;
        ParameterServerSeconds = r.ServerSeconds;
        // the slices count the optimizer's steps on their side; the optimizer object (read by fit and a later fit)
        // learns it here, on the loop's thread
        _optimizer.Iterations = Math.Max(_optimizer.Iterations, r.Iterations);
        return r;
    }

    (long, float[][][]) IStepExecutor.OptimizerState()
    {
        RefuseWhileAhead("OptimizerState");
        // a failed run's weights may be the last ones pulled from ps nodes, not its last step's: its failure, never a
        // state to write beside them (and a stopped coordinator answers nothing)
        _pipe.ThrowIfFailed();
        var done = new TaskCompletionSource<ServerState>(TaskCreationOptions.RunContinuationsAsynchronously);
        _coordinator.Tell(new StateCommand(done, _lastSlots));
        _lastSlots = null;
        if (!Answered(done.Task)) _pipe.ThrowIfFailed();
        var s = done.Task.GetAwaiter().GetResult();
        _lastSlots = s.Slots;
        return (s.Iterations, s.Slots);
    }
}
