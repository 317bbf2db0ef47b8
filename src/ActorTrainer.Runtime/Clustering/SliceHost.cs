using System.Text.Json.Nodes;
using ActorTrainer.Core;
using ActorTrainer.Runtime.DataPlane;
using Akka.Actor;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>One coordinator run's parameter-server slices on a `ps` node (<see cref="SliceProtocol"/>): the same
/// <see cref="ParameterSlice"/> actors as in a coordinator (shard-order fold, the all-or-none vote, the optimizer over
/// their range), over the hosted ranges of the weights and the optimizer's slots. Worker nodes push shard gradients
/// (<see cref="Push"/>) and pull the weights (<see cref="SendWeights"/>) directly; the coordinator's control connection
/// relays the votes of the slices on other nodes and gets each slice's SliceApplied (<see cref="SliceHostBridge"/>).
/// Only the hosted tensors are allocated (whole, as the slices index them by tensor and offset).</summary>
internal sealed class SliceHost : IDisposable
{
    private readonly object _gate = new();
    private readonly float[][] _weights;
    private readonly Stack<float[][]> _free = new();
    private readonly SortedDictionary<long, List<float[][]>> _inUse = new();
    private readonly int _keep;
    private readonly List<(Action<long> Send, long Wanted)> _waiters = new();   // pulls of a version not reached yet
    private long _version, _lastResolved;
    private string? _closed;
    private readonly CancellationTokenSource _closing = new();   // in-process pulls waiting for a version end with the run

    private SliceHost(long token, SliceJobSpec spec, Optimizer optimizer, TensorConnection control, long firstStep, long version)
    {
        Token = token; Spec = spec; Optimizer = optimizer; Control = control;
        Layout = ParameterSlices.Split(spec.Sizes, spec.Slices);
        if (Layout.Count != spec.Slices || spec.Last >= Layout.Count)
            throw new InvalidDataException($"slice job: {spec.Slices} slices of {Layout.Total} parameters cannot be cut as asked (hosted {spec.First}..{spec.Last}, the layout has {Layout.Count})");
        var hosted = new bool[spec.Sizes.Length];
        for (int s = spec.First; s <= spec.Last; s++) foreach (var g in Layout[s]) hosted[g.Tensor] = true;
        Hosted = hosted;
        _weights = NewTensors();
        for (int t = 0; t < hosted.Length; t++) if (hosted[t]) optimizer.SlotsFor(t, spec.Sizes[t]);   // before any slice runs
        _version = version; _lastResolved = firstStep - 1;
        _keep = spec.Shards + 2;
    }

    /// <summary>The run's token (the coordinator's SliceJob A).</summary>
    public long Token { get; }
    /// <summary>What the coordinator asked for.</summary>
    public SliceJobSpec Spec { get; }
    /// <summary>The slice layout (cut as the coordinator cut it).</summary>
    public ParameterSlices Layout { get; }
    /// <summary>The optimizer the hosted slices update with (its LearningRate follows SetRate).</summary>
    public Optimizer Optimizer { get; }
    /// <summary>The coordinator's control connection.</summary>
    public TensorConnection Control { get; }
    /// <summary>Per weight tensor: whether a hosted slice covers part of it.</summary>
    public bool[] Hosted { get; }
    /// <summary>The hosted slice actors (index − First) and their bridge.</summary>
    public IActorRef[] Slices { get; private set; } = [];
    private IActorRef _bridge = ActorRefs.Nobody;

    /// <summary>Reads a SliceJob frame's sections (header checked by the caller for its kind), builds the optimizer and
    /// starts the slices on `system`; InvalidDataException (or the optimizer's ModelFileException) names what is wrong.</summary>
    public static SliceHost Open(ActorSystem system, TensorConnection c, FrameHeader h)
    {
        if (h.A <= 0) throw new InvalidDataException($"slice job: token {h.A} is not positive");
        if (h.SectionCount < 1 || h.Types[0] != SectionType.Bytes || h.Lengths[0] > NodeProtocol.MaxTextBytes)
            throw new InvalidDataException("slice job: the first section must be its text");
        var spec = SliceJobSpec.Decode(NodeProtocol.ReadText(c, h, 0, "slice job"));
        var optimizer = OptimizerConfig.Deserialize(JsonNode.Parse(spec.Optimizer)
            ?? throw new InvalidDataException("slice job: the optimizer config is empty"));
        optimizer.LearningRate = spec.LearningRate;
        optimizer.Iterations = h.C;
        var host = new SliceHost(h.A, spec, optimizer, c, h.B, h.D);
        host.ReceiveJobTensors(h);
        host.Start(system, h.B, h.C);
        return host;
    }

    private float[][] NewTensors() => Spec.Sizes.Select((n, t) => Hosted[t] ? new float[n] : []).ToArray();

    /// <summary>SliceJob's weights (per segment), then each slot name's values (per segment).</summary>
    private void ReceiveJobTensors(FrameHeader h)
    {
        int per = SliceProtocol.RangeSections(Layout, Spec.First, Spec.Last), names = Optimizer.SlotNames.Length;
        if (h.SectionCount != 1 + per * (1 + names))
            throw new InvalidDataException($"slice job: {h.SectionCount} sections, expected 1 + {per} weight segments + {names} × {per} slot segments");
        for (int k = 0; k <= names; k++)
            if (SliceProtocol.CheckRanges(h, 1 + k * per, Layout, Spec.First, Spec.Last, k == 0 ? "slice job weights" : $"slice job slot {k - 1}") is { } bad)
                throw new InvalidDataException(bad);
        SliceProtocol.ReceiveRanges(Control, Layout, Spec.First, Spec.Last, _weights);
        for (int k = 0; k < names; k++)
        {
            var slot = Spec.Sizes.Select((n, t) => Hosted[t] ? Optimizer.SlotsFor(t, n)[k] : []).ToArray();
            SliceProtocol.ReceiveRanges(Control, Layout, Spec.First, Spec.Last, slot);
        }
    }

    private void Start(ActorSystem system, long firstStep, long iterations)
    {
        var name = $"ps-{Token:x}-{Guid.NewGuid():N}";
        _bridge = system.ActorOf(ActorProps.Of(() => new SliceHostBridge(this)), name);
        var (layout, weights, optimizer, shards, bridge) = (Layout, _weights, Optimizer, Spec.Shards, _bridge);
        Slices = Enumerable.Range(Spec.First, Spec.Last - Spec.First + 1).Select(i => system.ActorOf(ActorProps.Of(() =>
            new ParameterSlice(i, layout, weights, optimizer, iterations, firstStep, shards, bridge)), $"{name}-slice-{i}")).ToArray();
        // a slice's peers: the other hosted slices, and the bridge for each slice on another node (its vote comes through it)
        var peers = Enumerable.Range(0, Layout.Count).Select(j => j >= Spec.First && j <= Spec.Last ? Slices[j - Spec.First] : _bridge).ToArray();
        foreach (var s in Slices) s.Tell(new RegisterPeers(peers, []));
    }

    /// <summary>The vote of slice `slice` (on another node), relayed by the coordinator.</summary>
    public void RemoteVote(long step, long slice, long finite)
    {
        if (slice < 0 || slice >= Layout.Count || (slice >= Spec.First && slice <= Spec.Last) || finite is < 0 or > 1)
            throw new InvalidDataException($"vote for slice {slice} (finite {finite}): this node hosts {Spec.First}..{Spec.Last} of {Layout.Count}");
        var vote = new SliceChecked(step, (int)slice, finite == 1);
        foreach (var s in Slices) s.Tell(vote);
    }

    /// <summary>Block-sparse codes for the hosted ranges (one per coded connection and direction).</summary>
    public SliceRangeCodes Codes() => new(Layout, Spec.First, Spec.Last);

    /// <summary>A worker's Push frame: its stats and gradient ranges (as they are, or coded with `codes`) into a buffer
    /// each hosted slice folds (released once the step is resolved here); a push for a step already resolved is read
    /// and dropped.</summary>
    public void Push(TensorConnection c, FrameHeader h, SliceRangeCodes? codes = null)
    {
        if (h.SectionCount < 1 || h.Types[0] != SectionType.Int32 || h.Lengths[0] != 5)
            throw new InvalidDataException("push: the first section must be 5 Int32 (loss and hits as double bits, count)");
        if (codes is not null) { if (codes.Check(h, 1, "push") is { } bad) throw new InvalidDataException(bad); }
        else if (SliceProtocol.CheckRanges(h, 1, Layout, Spec.First, Spec.Last, "push") is { } bad) throw new InvalidDataException(bad);
        else if (h.SectionCount != 1 + SliceProtocol.RangeSections(Layout, Spec.First, Spec.Last)) throw new InvalidDataException($"push: {h.SectionCount} sections");
        int shard = (int)h.B, shardCount = (int)(h.B >> 32), batchRows = (int)h.C, epoch = (int)(h.C >> 32);
        // the shard count is that of the step's non-empty shards (a short last batch has fewer)
        if (shard < 0 || shard >= Spec.Shards || shardCount < 1 || shardCount > Spec.Shards || batchRows < 1)
            throw new InvalidDataException($"push: shard {shard} of {shardCount} non-empty ones (the job cuts batches into {Spec.Shards}), batch of {batchRows} rows");
        CheckStep(h.A);
        Span<int> s = stackalloc int[5];
        c.ReceiveSection(s);
        var grads = Rent();
        try
        {
            if (codes is not null) codes.Receive(c, h, 1, grads, xor: false, "push");
            else SliceProtocol.ReceiveRanges(c, Layout, Spec.First, Spec.Last, grads);
        }
        catch
        {
            lock (_gate) _free.Push(grads);
            throw;
        }
        double loss = BitConverter.Int64BitsToDouble((uint)s[0] | (long)s[1] << 32), hits = BitConverter.Int64BitsToDouble((uint)s[2] | (long)s[3] << 32);
        Fold(h.A, epoch, (int)h.D, shard, shardCount, batchRows, (int)(h.D >> 32), new ShardStats(loss, hits, s[4]), grads);
    }

    /// <summary>An in-process push (a worker node that hosts slices itself, <see cref="LocalSlices"/>): the hosted ranges
    /// of `grads` are copied into a buffer the slices fold, as <see cref="Push"/> does with a frame's. `route` as a
    /// Push frame's header: step (low, high), shard, shard count, epoch, step in epoch, worker id.</summary>
    public void PushLocal(ReadOnlySpan<int> route, int batchRows, ShardStats stats, float[][] grads)
    {
        long step = (uint)route[0] | (long)route[1] << 32;
        CheckStep(step);
        var buffer = Rent();
        SliceProtocol.CopyRanges(Layout, Spec.First, Spec.Last, grads, buffer);
        Fold(step, route[4], route[5], route[2], route[3], batchRows, route[6], stats, buffer);
    }

    /// <summary>Sync: a shard of a later step than the one gathered needs weights that do not exist yet; one would reset
    /// the slices' fold of this step.</summary>
    private void CheckStep(long step)
    {
        long open;
        lock (_gate) open = _lastResolved + 1;
        if (step > open) throw new InvalidDataException($"push: step {step} is from the future (the slices gather step {open})");
    }

    /// <summary>Hands a shard's gradient buffer to every hosted slice (dropped when its step is resolved already).</summary>
    private void Fold(long step, int epoch, int stepInEpoch, int shard, int shardCount, int batchRows, int workerId, ShardStats stats, float[][] grads)
    {
        lock (_gate)
        {
            if (step <= _lastResolved) { _free.Push(grads); return; }
            if (!_inUse.TryGetValue(step, out var list)) _inUse[step] = list = new List<float[][]>();
            list.Add(grads);
        }
        var r = new ShardResult(step, epoch, stepInEpoch, shard, shardCount, batchRows, _version, workerId, stats.LossSum, stats.Correct, stats.Count, grads);
        foreach (var slice in Slices) slice.Tell(r);
    }

    /// <summary>An in-process pull: waits until the slices are at version `wanted` (long.MinValue: now), copies the
    /// hosted ranges of the weights into `into` and returns the version copied; InvalidDataException when the run
    /// ends here first.</summary>
    public long CopyWeights(long wanted, float[][] into)
    {
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        SendWeights(v => done.TrySetResult(v), wanted);
        try { done.Task.Wait(_closing.Token); }
        catch (OperationCanceledException) { throw new InvalidDataException($"slices of run {Token:x} are gone: {_closed}"); }
        SliceProtocol.CopyRanges(Layout, Spec.First, Spec.Last, _weights, into);
        return done.Task.Result;
    }

    private float[][] Rent()
    {
        lock (_gate) return _free.Count > 0 ? _free.Pop() : NewTensors();
    }

    /// <summary>Every hosted slice is done with `step` (the bridge): the version moves on when it was applied, the
    /// step's gradient buffers (and any of earlier steps) are free, and pulls waiting for the version go on.</summary>
    public void StepDone(long step, bool applied)
    {
        lock (_gate)
        {
            if (applied) _version++;
            _lastResolved = Math.Max(_lastResolved, step);
            while (_inUse.Count > 0 && _inUse.First() is var (s, list) && s <= step)
            {
                _inUse.Remove(s);
                foreach (var b in list) if (_free.Count < _keep) _free.Push(b);
            }
        }
        AnswerWaiters();
    }

    /// <summary>Hands the weights to every pull whose version has been reached (the worker nodes asked ahead: their
    /// weights go out as soon as the step is applied, not when the next work arrives).</summary>
    private void AnswerWaiters()
    {
        (Action<long> Send, long Wanted)[] due;
        long version;
        lock (_gate)
        {
            version = _version;
            due = _waiters.Where(w => w.Wanted <= version).ToArray();
            _waiters.RemoveAll(w => w.Wanted <= version);
        }
        foreach (var (send, _) in due) send(version);
    }

    /// <summary>Sends the hosted weights labelled `version` on `c`, as they are or coded with `codes` (the XOR with what
    /// the connection delivered before); a failure ends that connection's session by itself.</summary>
    public void TrySend(TensorConnection c, long version, SliceRangeCodes? codes = null)
    {
        var sections = new List<Section>();
        if (codes is not null) codes.AddXor(sections, _weights);
        else SliceProtocol.AddRanges(sections, Layout, Spec.First, Spec.Last, _weights);
        try { c.Send(SliceProtocol.Weights, version, 0, 0, 0, sections.ToArray()); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException or DataPlaneException) { }   // its reader ends the session
    }

    /// <summary>The version after a Load.</summary>
    public void Loaded(long version)
    {
        lock (_gate) _version = version;
        AnswerWaiters();
    }

    /// <summary>Answers a WeightsRequest: once the slices are at version `wanted` (long.MinValue: now), `send` gets the
    /// version to send the weights with (<see cref="TrySend"/>; a worker connection's sender thread, so that neither the
    /// connection's reader — its pushes go on — nor the slices wait for the peer to read). A version already passed is
    /// answered with the current weights (a duplicate shard's late pull: its gradient is dropped as late).</summary>
    public void SendWeights(Action<long> send, long wanted)
    {
        long version;
        lock (_gate)
        {
            if (_closed is { } why) throw new InvalidDataException($"slices of run {Token:x} are gone: {why}");
            if (wanted != long.MinValue && _version < wanted)
            {
                _waiters.Add((send, wanted));
                return;
            }
            version = _version;
        }
        send(version);
    }

    /// <summary>A Load frame: its weights into a new array, then each slice copies its range (the bridge answers Loaded).</summary>
    public void Load(FrameHeader h)
    {
        if (SliceProtocol.CheckRanges(h, 0, Layout, Spec.First, Spec.Last, "load") is { } bad) throw new InvalidDataException(bad);
        if (h.SectionCount != SliceProtocol.RangeSections(Layout, Spec.First, Spec.Last)) throw new InvalidDataException($"load: {h.SectionCount} sections");
        var w = NewTensors();
        SliceProtocol.ReceiveRanges(Control, Layout, Spec.First, Spec.Last, w);
        _bridge.Tell(new SliceHostBridge.Loading(Slices.Length, h.A));
        foreach (var s in Slices) s.Tell(new LoadSlice(h.A, w), _bridge);
    }

    /// <summary>A StateRequest: every slice sends its slots to the bridge, which answers State.</summary>
    public void RequestState()
    {
        _bridge.Tell(new SliceHostBridge.Collecting(Slices.Length));
        foreach (var s in Slices) s.Tell(new SliceStateRequest(), _bridge);
    }

    /// <summary>The run is over here (the control connection closed, or `why`): pulls waiting are refused, the actors stop.</summary>
    public void Close(string why)
    {
        lock (_gate)
        {
            _closed ??= why;
            _waiters.Clear();
        }
        _closing.Cancel();
        foreach (var s in Slices) s.Tell(PoisonPill.Instance);
        _bridge.Tell(PoisonPill.Instance);
    }

    /// <inheritdoc/>
    public void Dispose() => Close("the coordinator closed the run");
}
