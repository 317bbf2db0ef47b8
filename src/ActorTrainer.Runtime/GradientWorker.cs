using ActorTrainer.Core;
using Akka.Actor;

namespace ActorTrainer.Runtime;

/// <summary>Thrown by a worker for an injected crash (FaultInjection.ThrowOnShard).</summary>
public sealed class InjectedWorkerFaultException(long step, int shard)
    : Exception($"injected fault: worker crash on global step {step}, shard {shard}");

/// <summary>Computes shard gradients with its own GradientEngine: grads = ∂(Σ_rows loss / BatchRows)/∂weights at the
/// item's weights (sync) or at its last pulled weights (async, pulled every pullEvery items). Never writes the weights
/// or inputs it receives; each result carries gradient arrays the parameter server owns until it releases them.
/// Pull-based: asks the generator for work when idle; in sync mode it asks for the next item when it starts one
/// (at most one item waits in its mailbox).</summary>
public sealed class GradientWorker : ReceiveActor
{
    private readonly int _id;
    private readonly IActorRef _generator, _server;
    private readonly bool _async;
    private readonly int _pullEvery;
    private readonly GradientEngine _engine;
    private readonly int[] _weightSizes;
    private readonly Stack<float[][]> _free = new();
    private float[][]? _weights;
    private long _version = -1;
    private int _sincePull;

    /// <summary>Creates worker `id` with an engine for up to maxRows samples per item whose GEMMs use at most
    /// `parallelism` threads (0: the process default; failStart: throw, for tests).</summary>
    public GradientWorker(int id, ModelPlan plan, int maxRows, IActorRef generator, IActorRef server, bool async, int pullEvery,
        bool failStart = false, int parallelism = 0)
    {
        if (failStart) throw new InjectedWorkerFaultException(-1, -1);
        _id = id; _generator = generator; _server = server; _async = async; _pullEvery = pullEvery;
        _engine = new GradientEngine(plan, maxRows) { MaxDegreeOfParallelism = parallelism };
        _weightSizes = plan.WeightShapes.Select(s => s.Aggregate(1, (a, b) => a * b)).ToArray();
        Receive<ShardWork>(Compute);
        Receive<ReleaseGradients>(m => { if (_free.Count < 4) _free.Push(m.Gradients); });
        Receive<WeightsSnapshot>(m =>
        {
            _weights = m.Weights;
            _version = m.Version;
            _sincePull = 0;
            _generator.Tell(new RequestWork(_id, -1, -1));
        });
    }

    /// <inheritdoc/>
    protected override void PreStart()
    {
        if (_async) _server.Tell(new PullWeights(_id));
        else _generator.Tell(new RequestWork(_id, -1, -1));
    }

    /// <inheritdoc/>
    protected override void PreRestart(Exception reason, object message)
    {
        if (message is ShardWork w) _generator.Tell(new WorkFailed(_id, w.Step, w.Shard, reason.Message));
        base.PreRestart(reason, message);
    }

    private void Compute(ShardWork w)
    {
        if (w.Fault == InjectedFault.Throw) throw new InjectedWorkerFaultException(w.Step, w.Shard);
        // sync: ask for the next item now (one item of look-ahead hides the generator round trip)
        if (!_async) _generator.Tell(new RequestWork(_id, -1, -1));
        if (w.Fault == InjectedFault.Sleep) Thread.Sleep(w.SleepMillis);
        var weights = w.Weights ?? _weights
            ?? throw new InvalidOperationException($"worker {_id}: async work for step {w.Step} arrived before any weights were pulled");
        long version = w.Weights is null ? _version : w.Version;
        var grads = _free.Count > 0 ? _free.Pop() : _weightSizes.Select(n => new float[n]).ToArray();
        var stats = _engine.ComputeGradients(weights, w.X, w.Labels ?? ReadOnlySpan<int>.Empty, w.Targets ?? ReadOnlySpan<float>.Empty,
            w.Rows, w.BatchRows, w.DropoutSeed, grads);
        _server.Tell(new ShardResult(w.Step, w.Epoch, w.StepInEpoch, w.Shard, w.ShardCount, w.BatchRows, version, _id,
            stats.LossSum, stats.Correct, stats.Count, grads));
        if (_async && ++_sincePull >= _pullEvery)
        {
            _generator.Tell(new RequestWork(_id, w.Step, w.Shard, Ready: false));
            _server.Tell(new PullWeights(_id));
        }
        else _generator.Tell(new RequestWork(_id, w.Step, w.Shard, Ready: _async));
    }
}
