using System.Runtime.CompilerServices;
using ActorTrainer.Core;
using ActorTrainer.Kernels;
using Akka.Actor;

namespace ActorTrainer.Runtime;

/// <summary>Owns one contiguous slice of the flat parameter vector (<see cref="ParameterSlices"/>) and the optimizer
/// state over it. Sync: folds the shard gradients of the open step over its range in shard order
/// (acc = g_first; acc += g_s, into the first non-empty shard's buffer — each slice writes only its own range), checks
/// that the loss and its range of the sum are finite (fused into the last add), tells the other slices (SliceChecked,
/// peer to peer: one hop, not a round trip through the parameter server) and applies the optimizer to its range once
/// every slice found the step finite — so a diverged step is applied by no slice. Async: applies each gradient the parameter server
/// forwards (ApplyGradient), in the server's order. In-process the weights and the slot arrays are the model's and the
/// optimizer's own (updated in place, no copies); results are bit-identical for any slice count because every
/// optimizer rule is element-wise.</summary>
public sealed class ParameterSlice : ReceiveActor
{
    private readonly int _index, _shards;
    private readonly WeightRange[] _ranges;         // the slice's ranges of the weights (flat order)
    private readonly ParameterSlices _layout;
    private readonly float[][] _weights;
    private readonly Optimizer _optimizer;
    private readonly OptimizerRangeWork _work;      // this slice's own: slices update side by side
    private readonly SliceFoldWork _fold;           // the fold's adds and checks, in parts too
    private readonly int _parts;
    private readonly IActorRef _server;
    private long _iterations, _version;
    // sync: the step being gathered
    private long _step = -1;
    private readonly ShardResult?[] _pending;
    private readonly bool[] _have;
    private int _received, _next;
    private float[][]? _acc;
    private bool? _sumFinite;       // the last fold's fused check of the sum (null: no fold checked it)
    private double _loss, _correct;
    private int _count;
    private long _busyTicks;
    private (ShardResult Last, float[][] Acc, string What, double Loss, double Correct, int Count)? _held;   // checked, awaiting the peers
    private IActorRef[] _peers = [];                                                   // the other slices (RegisterPeers)
    private readonly Dictionary<long, (int Votes, bool Finite)> _votes = new();          // the peers' SliceChecked per step
    private readonly HashSet<long> _resolved = new();
    private long _lowestUnresolved;

    /// <summary>Slice `index` of `layout` over `weights` (updated in place), with the optimizer's rule and slots
    /// (EnsureSlots must have run); `iterations` = optimizer steps done before this run, `firstStep` = first global
    /// step of the run; reports to `server`. The update runs in Optimizer.UpdateParts(slice length, `updateThreads`)
    /// parts on the kernels' threads (<see cref="RuntimeOptions.SliceUpdateThreads"/>; the same bits for any).</summary>
    public ParameterSlice(int index, ParameterSlices layout, float[][] weights, Optimizer optimizer, long iterations,
        long firstStep, int shardsPerBatch, IActorRef server, int updateThreads = 1)
    {
        _index = index; _layout = layout; _ranges = layout[index]; _weights = weights; _optimizer = optimizer;
        _work = new OptimizerRangeWork(optimizer);
        _fold = new SliceFoldWork(_ranges);
        _parts = Optimizer.UpdateParts(layout.Length(index), updateThreads);
        _iterations = iterations; _lowestUnresolved = firstStep; _shards = shardsPerBatch; _server = server;
        _pending = new ShardResult?[shardsPerBatch];
        _have = new bool[shardsPerBatch];
        Receive<ShardResult>(OnShard);
        Receive<ApplyGradient>(OnApply);
        Receive<SliceChecked>(OnPeerChecked);
        Receive<RegisterPeers>(m => _peers = m.Slices.Where(p => !p.Equals(Self)).ToArray());
        Receive<PullWeights>(m => Sender.Tell(new SliceWeights(_index, _version,
            _layout.Gather(_index, _weights, m.Recycled is { } r && _index < r.Length ? r[_index] : null))));
        Receive<LoadSlice>(m =>
        {
            foreach (var g in _ranges) m.Weights[g.Tensor].AsSpan(g.Offset, g.Count).CopyTo(_weights[g.Tensor].AsSpan(g.Offset, g.Count));
            _version = m.Version;
            Sender.Tell(new SliceLoaded(_index));
        });
        Receive<SliceStateRequest>(m => Sender.Tell(new SliceState(_index, SlotCopies(m.Recycled))));
    }

    /// <summary>Flat copies of each slot over this slice's range, into `recycled`'s arrays where their lengths fit.</summary>
    private float[][] SlotCopies(float[][]? recycled)
    {
        int names = _optimizer.SlotNames.Length;
        var slots = new float[names][];
        for (int k = 0; k < names; k++)
        {
            var perTensor = new float[_weights.Length][];
            foreach (var g in _ranges) perTensor[g.Tensor] = _optimizer.SlotsFor(g.Tensor, _weights[g.Tensor].Length)[k];
            slots[k] = _layout.Gather(_index, perTensor, recycled is not null && k < recycled.Length ? recycled[k] : null);
        }
        return slots;
    }

    private bool AlreadyResolved(long step) => step < _lowestUnresolved || _resolved.Contains(step);

    private void MarkResolved(long step)
    {
        _resolved.Add(step);
        while (_resolved.Remove(_lowestUnresolved)) _lowestUnresolved++;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OnShard(ShardResult m)
    {
        if (AlreadyResolved(m.Step)) return;
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        bool complete;
        try { complete = Gather(m); }
        finally { _busyTicks += System.Diagnostics.Stopwatch.GetTimestamp() - t0; }
        if (complete) CheckStep(m);
    }

    /// <summary>Takes one shard of the open step (a new step resets the gathering); true once all have arrived.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool Gather(ShardResult m)
    {
        if (m.Step != _step)
        {
            if (_received > 0 && m.Step < _step) return false;
            _step = m.Step;
            Array.Clear(_have);
            Array.Clear(_pending);
            _received = 0; _next = 0; _acc = null; _sumFinite = null;
            _loss = 0; _correct = 0; _count = 0;
        }
        if ((uint)m.Shard >= (uint)_shards || _have[m.Shard]) return false;
        _have[m.Shard] = true;
        _pending[m.Shard] = m;
        _received++;
        bool complete = _received == m.ShardCount;
        Fold(m.BatchRows, complete);
        return complete;
    }

    /// <summary>Every shard of the step has been folded: tell the other slices whether the loss and this range of the
    /// sum are finite and hold the update until every slice has said so (sync).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CheckStep(ShardResult m)
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        _received = 0;
        MarkResolved(m.Step);
        var acc = _acc!;
        _acc = null;
        string what = !double.IsFinite(_loss) ? $"loss sum is {_loss}"
            : !(_sumFinite ?? _fold.Run(acc, null, true, _parts)) ? "gradients contain NaN or Inf" : "";
        _held = (m, acc, what, _loss, _correct, _count);
        _busyTicks += System.Diagnostics.Stopwatch.GetTimestamp() - t0;
        var vote = new SliceChecked(m.Step, _index, what.Length == 0);
        foreach (var p in _peers) p.Tell(vote);
        Decide(m.Step);
    }

    /// <summary>Another slice checked its range of a step (it may be ahead of this one: the vote waits).</summary>
    private void OnPeerChecked(SliceChecked m)
    {
        _votes[m.Step] = _votes.TryGetValue(m.Step, out var v) ? (v.Votes + 1, v.Finite && m.Finite) : (1, m.Finite);
        Decide(m.Step);
    }

    /// <summary>Once this slice holds `step` and every peer has voted on it: apply this range if every slice found the
    /// step finite, else not (no slice applies a diverged step).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Decide(long step)
    {
        if (_held is not { } h || h.Last.Step != step) return;
        bool peersFinite = true;
        if (_peers.Length > 0)
        {
            if (!_votes.TryGetValue(step, out var v) || v.Votes < _peers.Length) return;
            _votes.Remove(step);
            peersFinite = v.Finite;
            if (_votes.Count > 0)                     // votes of steps abandoned before this one (none in a normal run)
                foreach (long old in _votes.Keys.Where(k => k < step).ToArray()) _votes.Remove(old);
        }
        _held = null;
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        bool apply = peersFinite && h.What.Length == 0;
        if (apply) Update(h.Acc, 1f);
        _busyTicks += System.Diagnostics.Stopwatch.GetTimestamp() - t0;
        double busy = _busyTicks / (double)System.Diagnostics.Stopwatch.Frequency;
        _busyTicks = 0;
        var m = h.Last;
        _server.Tell(new SliceApplied(m.Step, m.Epoch, m.StepInEpoch, _index, apply, h.What, h.Loss, h.Correct, h.Count, busy));
    }

    /// <summary>Folds the arrived prefix of shards over this slice's range while later shards are still being
    /// computed: acc = g_first_nonempty; acc += g_s in shard order (empty shards skipped). Once every shard has
    /// arrived (`complete`), the last add also checks that the sum is finite (one pass instead of two). The adds and
    /// checks run in the update's parts (<see cref="SliceFoldWork"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Fold(int batchRows, bool complete)
    {
        while (_next < _shards)
        {
            if (Batching.shardRange(batchRows, _shards, _next).Item2 == 0) { _next++; continue; }
            var r = _pending[_next];
            if (r is null) return;
            if (_acc is null) _acc = r.Gradients;
            else
            {
                bool check = complete && LastNonEmpty(batchRows) == _next;
                bool finite = _fold.Run(_acc, r.Gradients, check, _parts);
                if (check) _sumFinite = finite;
            }
            _loss += r.LossSum; _correct += r.Correct; _count += r.Count;
            _pending[_next] = null;
            _next++;
        }
    }

    private void OnApply(ApplyGradient m)
    {
        long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        Update(m.Result.Gradients, m.LearningRateScale);
        _version = m.Version;
        var r = m.Result;
        double busy = (System.Diagnostics.Stopwatch.GetTimestamp() - t0) / (double)System.Diagnostics.Stopwatch.Frequency;
        _server.Tell(new SliceApplied(r.Step, r.Epoch, r.StepInEpoch, _index, true, "", r.LossSum, r.Correct, r.Count, busy));
    }

    /// <summary>w ← rule(w, g) over this slice's range, as optimizer step iterations + 1, at learning rate lr·scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Update(float[][] grads, float scale)
    {
        _iterations++;
        _work.Update(_ranges, _weights, grads, (float)_optimizer.LearningRate * scale, _iterations, _parts);
    }

    /// <summary>The last shard of a batch of `batchRows` rows that has rows.</summary>
    private int LastNonEmpty(int batchRows)
    {
        int s = _shards - 1;
        while (s > 0 && Batching.shardRange(batchRows, _shards, s).Item2 == 0) s--;
        return s;
    }
}
