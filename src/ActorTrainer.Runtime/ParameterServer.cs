using ActorTrainer.Core;
using Akka.Actor;

namespace ActorTrainer.Runtime;

/// <summary>Owns the weights and the optimizer (with its state). Sync: buffers the shard gradients of the open step,
/// sums them in shard order (acc = g_first; acc += g_s, Batching.addInto) and applies optimizer.Apply(w, acc) in place
/// once the whole step has reported (see ApplyUpdate). Async (Downpour): applies each
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
    private readonly int _shards;
    private readonly ShardResult?[] _pending;
    private readonly IActorRef?[] _senders;
    private readonly bool[] _have;
    private int _received, _next, _batchRows, _count;
    private float[][]? _acc;
    private IActorRef? _accOwner;
    private ShardResult? _first;
    private double _loss, _correct;
    private readonly HashSet<long> _resolved = new();
    private long _lowestUnresolved;

    /// <summary>Creates the server at version 0 on the weights' home: sync mode updates these arrays in place (they are
    /// the model's weights, shared without copying); async mode never writes them (copy-on-write per version).</summary>
    public ParameterServer(float[][] weights, Optimizer optimizer, IActorRef coordinator, bool async, int maxStaleness,
        long firstStep, int shardsPerBatch)
    {
        _weights = weights;
        _shards = shardsPerBatch;
        _pending = new ShardResult?[shardsPerBatch];
        _senders = new IActorRef?[shardsPerBatch];
        _have = new bool[shardsPerBatch];
        _optimizer = optimizer; _coordinator = coordinator; _async = async; _maxStaleness = maxStaleness;
        _lowestUnresolved = firstStep;
        Receive<ShardResult>(m => { if (_async) OnAsync(m); else OnSync(m); });
        Receive<PullWeights>(_ => Sender.Tell(new WeightsSnapshot(_version, _weights)));
        Receive<LoadWeights>(m =>
        {
            // sync: in place (no step is open while the loop sets weights); async: a new version (copy-on-write)
            if (_async) _weights = m.Weights.Select(a => (float[])a.Clone()).ToArray();
            else for (int i = 0; i < _weights.Length; i++) m.Weights[i].AsSpan().CopyTo(_weights[i]);
            _version++;
            Sender.Tell(new WeightsLoaded(_version, _weights));
        });
        Receive<SnapshotRequest>(_ =>
        {
            var (iterations, slots) = _optimizer.GetState();
            Sender.Tell(new ServerState(_version, _weights.Select(a => (float[])a.Clone()).ToArray(), iterations, slots, _rejected));
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
            Array.Clear(_have);
            _received = 0; _next = 0; _acc = null; _accOwner = null;
            _loss = 0; _correct = 0; _count = 0;
            _batchRows = m.BatchRows;
            _first = m;
        }
        if ((uint)m.Shard >= (uint)_shards || _have[m.Shard]) { Release(m); return; }
        _have[m.Shard] = true;
        _pending[m.Shard] = m;
        _senders[m.Shard] = Sender;
        _received++;
        Fold();
        if (_received < m.ShardCount) return;

        // every non-empty shard has been folded in shard order, exactly like SyncStepper
        var acc = _acc!;
        var first = _first!;
        _received = 0;
        if (!Finite(_loss, acc, out var what))
            _coordinator.Tell(new StepDiverged(first.Step, first.Epoch, first.StepInEpoch, what));
        else
        {
            ApplyUpdate(acc);
            MarkResolved(first.Step);
            _coordinator.Tell(new StepResolved(first.Step, first.Epoch, first.StepInEpoch, true, _version, _weights,
                _loss, _correct, _count, _rejected));
        }
        _accOwner?.Tell(new ReleaseGradients(acc));
        _acc = null; _accOwner = null;
    }

    /// <summary>Folds the arrived prefix of shards into the sum while later shards are still being computed:
    /// acc = g_first_nonempty; acc += g_s in shard order (empty shards skipped).</summary>
    private void Fold()
    {
        while (_next < _shards)
        {
            if (Batching.shardRange(_batchRows, _shards, _next).Item2 == 0) { _next++; continue; }
            var r = _pending[_next];
            if (r is null) return;
            if (_acc is null) { _acc = r.Gradients; _accOwner = _senders[_next]; }
            else
            {
                Batching.addInto(_acc, r.Gradients);
                _senders[_next]?.Tell(new ReleaseGradients(r.Gradients));
            }
            _loss += r.LossSum; _correct += r.Correct; _count += r.Count;
            _pending[_next] = null; _senders[_next] = null;
            _next++;
        }
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

    /// <summary>w' = update(w). Async: copy-on-write (workers compute on older versions concurrently). Sync: in place —
    /// every shard of the step has reported, and the coordinator opens the next step (handing out these arrays again)
    /// only after it has taken its snapshots of this version; a timed-out straggler still reading them only produces a
    /// result that is discarded. So a sync step allocates and copies nothing.</summary>
    private void ApplyUpdate(float[][] grads)
    {
        if (_async)
        {
            var next = new float[_weights.Length][];
            for (int i = 0; i < next.Length; i++)
            {
                next[i] = GC.AllocateUninitializedArray<float>(_weights[i].Length);
                _weights[i].AsSpan().CopyTo(next[i]);
            }
            _optimizer.Apply(next, grads);
            _weights = next;
        }
        else _optimizer.Apply(_weights, grads);
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
}
