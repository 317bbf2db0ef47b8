using ActorTrainer.Runtime.Clustering;
using Akka.Actor;
using Akka.Event;

namespace ActorTrainer.Runtime;

/// <summary>The coordinator's parameter-server slices on `ps` nodes (cluster.ps-nodes = N > 0): it waits for N nodes with
/// the `ps` role, cuts the slices into N contiguous groups (node order does not matter: every optimizer rule is
/// element-wise, so the bits are the same wherever a slice runs), opens each group on its node through a
/// <see cref="SliceHostLink"/> and, once all N hold their slices, gives the parameter server and the workers the links in
/// place of slice actors. Remote workers then compute with a <see cref="SliceDirectory"/>: their nodes pull the weights
/// from and push the gradients to the ps nodes. The executor pulls the weights into the coordinator's home only when it
/// reads them (validation, checkpoints, the end: <see cref="RefreshWeightsCommand"/>) and sends learning-rate changes
/// before the step they apply to (<see cref="SetRateCommand"/>). A ps node lost fails the run (its slices' optimizer
/// state is gone with it; resume from the last checkpoint).</summary>
internal sealed partial class Coordinator
{
    private readonly List<WorkerNodeInfo> _psNodes = new();
    private readonly Dictionary<Address, WorkerNodeInfo> _psMembers = new();
    private readonly HashSet<string> _psReady = new();
    private SliceDirectory? _directory;
    private IActorRef[] _links = [];
    private (TaskCompletionSource<bool> Done, int Left)? _linkAsk;

    private bool PsMode => _opts.Remote is { PsNodes: > 0 };

    /// <summary>Every ps node holds its slices (or the run keeps its slices here).</summary>
    private bool SlicesReady => !PsMode || (_links.Length > 0 && _psReady.Count == _links.Length);

    private void ReceiveSlices()
    {
        Receive<SliceHostReady>(m => Guard(() => OnSliceHostReady(m)));
        Receive<SliceHostLost>(m =>
        {
            DownLostPsNode(m.Node);
            Fail(new WorkersUnavailableException(
                $"cluster: {m.Reason}; the run stops (the slices' weights and optimizer state were there): restart the ps node and continue from the last checkpoint with `train --resume DIR`"));
        });
        Receive<SliceHostLink.Answer>(_ => OnLinkAnswer());
        Receive<PsNodeUnreachable>(m =>
        {
            if (_links.Length == 0 || !_psMembers.TryGetValue(m.Address, out var node)) return;
            Fail(new WorkersUnavailableException($"cluster: parameter-server node {node.Host}:{node.Port} is lost: {m.Why}; the run stops (the slices' weights and optimizer state are there): restart the ps node and continue from the last checkpoint with `train --resume DIR`"));
        });
        Receive<RefreshWeightsCommand>(m => Guard(() => AskLinks(m.Done, new SliceHostLink.RefreshWeights())));
        Receive<SetRateCommand>(m => Guard(() => AskLinks(m.Done, new SliceHostLink.SetRate(m.Rate))));
    }

    /// <summary>Downs the cluster member of a ps node whose data-plane link failed (a killed node: its sockets closed at
    /// once): the run stops without it, and until Akka's failure detector marks it unreachable, seconds later, the
    /// coordinator's leaving of the cluster cannot converge — the run's error waited ~6 s for it.</summary>
    private void DownLostPsNode(string nodeKey)
    {
        foreach (var (address, node) in _psMembers)
            if (node.Key == nodeKey) Akka.Cluster.Cluster.Get(Context.System).Down(address);
    }

    /// <summary>A `ps` node described itself: kept until cluster.ps-nodes are known, then the slices go to them.</summary>
    private void OnPsNode(WorkerNodeInfo node)
    {
        int want = _opts.Remote!.PsNodes;
        if (_links.Length > 0 || _psNodes.Count >= want || _psNodes.Any(n => n.Key == node.Key)) return;
        _psNodes.Add(node);
        _psMembers[Sender.Path.Address] = node;
        if (_psNodes.Count == want) StartLinks();
    }

    private void StartLinks()
    {
        var layout = _layout!;
        int nodes = _psNodes.Count, count = layout.Count;
        if (count < nodes)
            throw new ArgumentException($"cluster.ps-nodes = {nodes} but the model's parameters are cut into {count} slice(s) (trainer.ps-slices): set trainer.ps-slices to at least {nodes}");
        long token = Random.Shared.NextInt64(1, long.MaxValue);
        var ranges = Enumerable.Range(0, nodes).Select(p => (First: p * count / nodes, Last: (p + 1) * count / nodes - 1)).ToArray();
        var (job, start, weights, server, options) = (_job, _start, _weights, _server, _opts.Remote!.DataPlane);
        var specs = ranges.Select(r => new SliceJobSpec(job.Plan.WeightSizes, count, r.First, r.Last, job.ShardsPerBatch,
            job.Optimizer.LearningRate, Core.OptimizerConfig.Serialize(job.Optimizer).ToJsonString())).ToArray();
        for (int p = 0; p < nodes; p++)
            if (NodeFrames.PsRefusal(_psNodes[p], layout, specs[p], job.Optimizer.SlotNames.Length) is { } refusal)
                throw new WorkersUnavailableException("cluster: " + refusal);
        _directory = new SliceDirectory(token, count, _psNodes.Select((n, p) => (n.Host, n.Port, ranges[p].First, ranges[p].Last)).ToArray(),
            _opts.Remote!.Compress);
        var dispatcher = RemoteWorkerDispatcher;
        _links = _psNodes.Select((node, p) =>
        {
            var spec = specs[p];
            var st = (start.GlobalStep, job.Optimizer.Iterations, 0L);
            return Context.ActorOf(ActorProps.Of(() => new SliceHostLink(node, token, spec, layout, weights, job.Optimizer, st, options, server))
                .WithDispatcher(dispatcher), "ps-link-" + p);
        }).ToArray();
        _slices = Enumerable.Range(0, count).Select(s => _links[Array.FindIndex(ranges, r => s >= r.First && s <= r.Last)]).ToArray();
        _log.Info("cluster: parameter-server slices 0..{0} on {1} ps node(s): {2}", count - 1, nodes,
            string.Join(", ", _directory.Nodes.Select(n => $"{n.Host}:{n.Port} {n.First}..{n.Last}")));
    }

    private void OnSliceHostReady(SliceHostReady m)
    {
        _psReady.Add(m.Node);
        if (!SlicesReady) return;
        foreach (var l in _links) l.Tell(new RegisterPeers(_slices, []));
        _server.Tell(new RegisterPeers(_slices, _workers.ToArray()));
        CheckReady();
    }

    private void AskLinks(TaskCompletionSource<bool> done, object ask)
    {
        if (!PsMode) { done.TrySetResult(true); return; }
        _linkAsk = (done, _links.Length);
        foreach (var l in _links) l.Tell(ask);
    }

    private void OnLinkAnswer()
    {
        if (_linkAsk is not { } a) return;
        if (a.Left > 1) { _linkAsk = a with { Left = a.Left - 1 }; return; }
        _linkAsk = null;
        a.Done.TrySetResult(true);
    }
}

/// <summary>Executor → coordinator (ps nodes): pull the weights of every slice into the home; Done once they are there.</summary>
internal sealed record RefreshWeightsCommand(TaskCompletionSource<bool> Done);

/// <summary>Executor → coordinator (ps nodes): the learning rate from the next step on; Done once every ps node has it.</summary>
internal sealed record SetRateCommand(double Rate, TaskCompletionSource<bool> Done);
