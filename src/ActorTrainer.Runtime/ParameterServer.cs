using ActorTrainer.Core;
using Akka.Actor;

namespace ActorTrainer.Runtime;

/// <summary>Owns the weights and the optimizer (with its state). Sync: buffers the shard gradients of the open step,
/// sums them in shard order (acc = g_first; acc += g_s, Batching.addInto) and applies optimizer.Apply(w', acc) to a
/// fresh copy w' (a new array set per version: published weights are never mutated). Async (Downpour): applies each
/// batch gradient on arrival unless it is older than maxStaleness versions (then counted as rejected).
/// Non-finite loss or gradients are reported (StepDiverged) and never applied.</summary>
public sealed class ParameterServer : ReceiveActor
{
    private readonly Optimizer _optimizer;
    private readonly IActorRef _coordinator;
    private readonly bool _async;
    private readonly int _maxStaleness;
    private float[][] _weights;
    private long _version;
    private long _rejected;
    // sync: the step being gathered
    private long _step = -1;
    private ShardResult?[] _pending = Array.Empty<ShardResult?>();
    private IActorRef?[] _senders = Array.Empty<IActorRef?>();
    private int _received;
    private readonly HashSet<long> _resolved = new();
    private long _lowestUnresolved;

    /// <summary>Creates the server with initial weights (copied) at version 0.</summary>
    public ParameterServer(float[][] weights, Optimizer optimizer, IActorRef coordinator, bool async, int maxStaleness, long firstStep)
    {
        _weights = weights.Select(a => (float[])a.Clone()).ToArray();
        _optimizer = optimizer; _coordinator = coordinator; _async = async; _maxStaleness = maxStaleness;
        _lowestUnresolved = firstStep;
        Receive<ShardResult>(m => { if (_async) OnAsync(m); else OnSync(m); });
        Receive<PullWeights>(_ => Sender.Tell(new WeightsSnapshot(_version, _weights)));
        Receive<SnapshotRequest>(_ =>
        {
            var (iterations, slots) = _optimizer.GetState();
            Sender.Tell(new ServerState(_version, _weights, iterations, slots, _rejected));
        });
    }

    private bool AlreadyResolved(long step) => step < _lowestUnresolved || _resolved.Contains(step);

    private void MarkResolved(long step)
    {
        _resolved.Add(step);
        while (_resolved.Remove(_lowestUnresolved)) _lowestUnresolved++;
    }

    private void OnSync(ShardResult m)
    {
        if (AlreadyResolved(m.Step)) { Release(m); return; }
        if (m.Step != _step)
        {
            if (_received > 0 && m.Step < _step) { Release(m); return; }
            _step = m.Step;
            _pending = new ShardResult?[Math.Max(m.ShardCount, 1) + m.Shard + 1];
            _senders = new IActorRef?[_pending.Length];
            _received = 0;
        }
        if (m.Shard >= _pending.Length)
        {
            Array.Resize(ref _pending, m.Shard + 1);
            Array.Resize(ref _senders, m.Shard + 1);
        }
        if (_pending[m.Shard] is not null) { Release(m); return; }
        _pending[m.Shard] = m;
        _senders[m.Shard] = Sender;
        _received++;
        if (_received < m.ShardCount) return;

        // all non-empty shards are here: sum in shard order, exactly like SyncStepper
        float[][]? acc = null;
        double loss = 0, correct = 0;
        int count = 0;
        foreach (var r in _pending)
        {
            if (r is null) continue;
            if (acc is null) acc = r.Gradients;
            else Batching.addInto(acc, r.Gradients);
            loss += r.LossSum; correct += r.Correct; count += r.Count;
        }
        var first = _pending.First(r => r is not null)!;
        if (!Finite(loss, acc!, out var what))
        {
            _coordinator.Tell(new StepDiverged(first.Step, first.Epoch, first.StepInEpoch, what));
            ReleaseAll();
            return;
        }
        ApplyUpdate(acc!);
        MarkResolved(m.Step);
        _coordinator.Tell(new StepResolved(first.Step, first.Epoch, first.StepInEpoch, true, _version, _weights, loss, correct, count, _rejected));
        ReleaseAll();
        _received = 0;
    }

    private void OnAsync(ShardResult m)
    {
        if (AlreadyResolved(m.Step)) { Release(m); return; }
        long staleness = _version - m.Version;
        bool applied = false;
        if (staleness > _maxStaleness) _rejected++;
        else
        {
            if (!Finite(m.LossSum, m.Gradients, out var what))
            {
                _coordinator.Tell(new StepDiverged(m.Step, m.Epoch, m.StepInEpoch, what));
                Release(m);
                return;
            }
            ApplyUpdate(m.Gradients);
            applied = true;
        }
        MarkResolved(m.Step);
        _coordinator.Tell(new StepResolved(m.Step, m.Epoch, m.StepInEpoch, applied, _version, _weights, m.LossSum, m.Correct, m.Count, _rejected));
        Release(m);
    }

    private void ApplyUpdate(float[][] grads)
    {
        var next = new float[_weights.Length][];
        for (int i = 0; i < next.Length; i++) next[i] = (float[])_weights[i].Clone();
        _optimizer.Apply(next, grads);
        _weights = next;
        _version++;
    }

    private static bool Finite(double loss, float[][] grads, out string what)
    {
        if (!double.IsFinite(loss)) { what = $"loss sum is {loss}"; return false; }
        if (!Batching.allFinite(grads)) { what = "gradients contain NaN or Inf"; return false; }
        what = "";
        return true;
    }

    private void Release(ShardResult m) => Sender.Tell(new ReleaseGradients(m.Gradients));

    private void ReleaseAll()
    {
        for (int i = 0; i < _pending.Length; i++)
        {
            if (_pending[i] is { } r) _senders[i]?.Tell(new ReleaseGradients(r.Gradients));
            _pending[i] = null;
            _senders[i] = null;
        }
    }
}
