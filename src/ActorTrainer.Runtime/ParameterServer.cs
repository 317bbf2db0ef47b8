using System.Runtime.CompilerServices;
using ActorTrainer.Core;
using Akka.Actor;

namespace ActorTrainer.Runtime;

/// <summary>The parameter server's front (Li et al., OSDI 2014): the weights and the optimizer state are held by
/// <see cref="ParameterSlice"/> actors, one per contiguous slice of the flat parameter vector; this actor counts their
/// answers and speaks for them. Sync: workers send each shard gradient to every slice; once every slice has applied
/// step t (SliceApplied; they apply only after every slice told the others its range is finite, SliceChecked) the step is resolved (version and optimizer iterations + 1) and the workers may reuse that
/// step's gradient buffers. Async (Downpour): workers send each batch gradient here; it is rejected when older than
/// maxStaleness versions, otherwise numbered and forwarded to every slice (so all slices apply the same updates in
/// the same order) with the staleness policy's learning-rate factor. Non-finite loss or gradients are never applied
/// (StepDiverged).</summary>
public sealed class ParameterServer : ReceiveActor
{
    private sealed class Pending(ShardResult? result, IActorRef? worker)
    {
        public ShardResult? Result = result;
        public IActorRef? Worker = worker;
        public int Done;
        public string What = "";
        public long Version;
        public double Busy;
        public List<IActorRef>? Duplicates;
    }

    private readonly IActorRef _coordinator, _generator;
    private IActorRef[] _slices = [];
    private readonly ParameterSlices _layout;
    private readonly float[][] _weights;
    private readonly bool _async;
    private readonly int _maxStaleness;
    private readonly StalenessPolicy _policy;
    private readonly Dictionary<long, Pending> _pending = new();
    private IActorRef[] _workers = [];
    private long _version, _iterations, _rejected;
    private double _seconds;
    private readonly HashSet<long> _resolved = new();
    private long _lowestUnresolved;
    private (IActorRef Asker, int Left, long Version)? _load;
    private (IActorRef Asker, SliceState?[] States, float[][][]? Into)? _state;
    private float[][]?[] _sliceSlots = [];   // each slice's SliceState.Slots of the last snapshot: handed back with the next request

    /// <summary>Front of the slices laid out by `layout` over `weights` (the weights' home; the slices and workers
    /// arrive in RegisterPeers) at version 0; `iterations` = optimizer steps done before this run; sync steps applied
    /// are told to `generator` (StepApplied: it may open the next one).</summary>
    public ParameterServer(float[][] weights, ParameterSlices layout, IActorRef coordinator, IActorRef generator,
        bool async, int maxStaleness, StalenessPolicy policy, long firstStep, long iterations)
    {
        _weights = weights; _layout = layout; _coordinator = coordinator; _generator = generator; _async = async;
        _maxStaleness = maxStaleness; _policy = policy; _lowestUnresolved = firstStep; _iterations = iterations;
        Receive<RegisterPeers>(m => { _slices = m.Slices; _workers = m.Workers; });
        Receive<ShardResult>(OnAsyncResult);
        Receive<SliceApplied>(OnSliceApplied);
        // after the ApplyGradients of this worker's earlier results, so the slices answer with its own updates applied
        Receive<PullWeights>(m => { foreach (var s in _slices) s.Forward(m); });
        Receive<LoadWeights>(m =>
        {
            _load = (Sender, _slices.Length, _version + 1);
            foreach (var s in _slices) s.Tell(new LoadSlice(_version + 1, m.Weights));
        });
        Receive<SliceLoaded>(_ => OnSliceLoaded());
        Receive<SnapshotRequest>(m =>
        {
            _state = (Sender, new SliceState?[_slices.Length], m.Recycled);
            for (int i = 0; i < _slices.Length; i++)
                _slices[i].Tell(new SliceStateRequest(i < _sliceSlots.Length ? _sliceSlots[i] : null));
            _sliceSlots = [];
        });
        Receive<SliceState>(OnSliceState);
    }

    private bool AlreadyResolved(long step) => step < _lowestUnresolved || _resolved.Contains(step);

    private void MarkResolved(long step)
    {
        _resolved.Add(step);
        while (_resolved.Remove(_lowestUnresolved)) _lowestUnresolved++;
    }

    private void OnAsyncResult(ShardResult m)
    {
        // a late duplicate of a reassigned batch: already resolved (release now), or accepted and still being applied
        // by the slices (release with the accepted one, so a worker that sent both never reuses a buffer in use)
        if (AlreadyResolved(m.Step)) { Sender.Tell(new ReleaseGradients(m.Step, false)); return; }
        if (_pending.TryGetValue(m.Step, out var accepted)) { (accepted.Duplicates ??= new()).Add(Sender); return; }
        long staleness = _version - m.Version;
        if (staleness > _maxStaleness)
        {
            _rejected++;
            MarkResolved(m.Step);
            Resolve(m.Step, m.Epoch, m.StepInEpoch, false, m.LossSum, m.Correct, m.Count);
            Sender.Tell(new ReleaseGradients(m.Step, false));
            return;
        }
        if (!double.IsFinite(m.LossSum) || !m.GradientsFinite)
        {
            _coordinator.Tell(new StepDiverged(m.Step, m.Epoch, m.StepInEpoch,
                double.IsFinite(m.LossSum) ? "gradients contain NaN or Inf" : $"loss sum is {m.LossSum}"));
            Sender.Tell(new ReleaseGradients(m.Step, false));
            return;
        }
        _version++;
        _iterations++;
        _pending[m.Step] = new Pending(m, Sender) { Version = _version };
        var apply = new ApplyGradient(m, _version, _policy.LearningRateScale(staleness));
        foreach (var s in _slices) s.Tell(apply);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void OnSliceApplied(SliceApplied m)
    {
        if (!_pending.TryGetValue(m.Step, out var p)) _pending[m.Step] = p = new Pending(null, null);
        if (!m.Applied && p.What.Length == 0) p.What = m.What;
        p.Busy = Math.Max(p.Busy, m.BusySeconds);
        if (++p.Done < _slices.Length) return;
        _pending.Remove(m.Step);
        _seconds += p.Busy;
        if (_async)
        {
            var r = p.Result!;
            MarkResolved(r.Step);
            Resolve(r.Step, r.Epoch, r.StepInEpoch, true, r.LossSum, r.Correct, r.Count, p.Version);
            var release = new ReleaseGradients(r.Step, false);
            p.Worker!.Tell(release);
            foreach (var d in p.Duplicates ?? []) if (!d.Equals(p.Worker)) d.Tell(release);
            return;
        }
        var upTo = new ReleaseGradients(m.Step, true);
        foreach (var w in _workers) w.Tell(upTo);
        if (p.What.Length > 0) { _coordinator.Tell(new StepDiverged(m.Step, m.Epoch, m.StepInEpoch, p.What)); return; }
        _version++;
        _iterations++;
        MarkResolved(m.Step);
        _generator.Tell(new StepApplied(m.Step, _version));     // first: a step opened ahead starts now
        Resolve(m.Step, m.Epoch, m.StepInEpoch, true, m.LossSum, m.Correct, m.Count);
    }

    private void Resolve(long step, int epoch, int stepInEpoch, bool applied, double loss, double correct, int count, long? version = null) =>
        _coordinator.Tell(new StepResolved(step, epoch, stepInEpoch, applied, version ?? _version, _weights, loss, correct, count,
            _rejected, _iterations, _seconds));

    private void OnSliceLoaded()
    {
        if (_load is not { } l) return;
        if (l.Left > 1) { _load = l with { Left = l.Left - 1 }; return; }
        _load = null;
        _version = l.Version;
        l.Asker.Tell(new WeightsLoaded(_version, _weights));
    }

    private void OnSliceState(SliceState m)
    {
        if (_state is not { } st) return;
        st.States[m.Slice] = m;
        if (st.States.Any(s => s is null)) return;
        _state = null;
        int names = st.States[0]!.Slots.Length;
        var slots = Fits(st.Into, names) ? st.Into!
            : _weights.Select(a => Enumerable.Range(0, names).Select(_ => new float[a.Length]).ToArray()).ToArray();
        for (int s = 0; s < st.States.Length; s++)
        {
            var state = st.States[s]!;
            for (int k = 0; k < names; k++) _layout.Scatter(s, state.Slots[k], slots.Select(t => t[k]).ToArray());
        }
        _sliceSlots = st.States.Select(s => s!.Slots).ToArray();   // copied out: theirs again at the next snapshot
        st.Asker.Tell(new ServerState(_version, _iterations, slots, _rejected));
    }

    /// <summary>Recycled snapshot slots have the shape a new snapshot needs (weight position × slot name × length).</summary>
    private bool Fits(float[][][]? into, int names) =>
        into is not null && into.Length == _weights.Length
        && into.Select((perWeight, i) => perWeight.Length == names && perWeight.All(a => a.Length == _weights[i].Length)).All(ok => ok);
}
