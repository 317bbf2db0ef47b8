using ActorTrainer.Core;
using ActorTrainer.Runtime.Clustering;
using Akka.Actor;
using Akka.Event;

namespace ActorTrainer.Runtime;

/// <summary>The coordinator's remote workers (RuntimeOptions.Remote): a <see cref="ClusterWorkerDirectory"/> reports the
/// worker nodes; for each node the coordinator runs as many gradient workers as the node offers, each computing its
/// shards on the node over its own data-plane connection (<see cref="RemoteShardCompute"/>); in a sync run the node's
/// workers share one copy of the weights there (<see cref="NodeWeightsShare"/>), so each step's weights go to a node once. They pull work from the
/// same generator and send to the same slices as local workers, so sync results keep their bits whichever node
/// computes which shard. A lost worker (node gone or past the step deadline) hands its items back and, once the generator
/// retired it, stops (its dedicated thread goes with it); a node that answers again later gets new workers, a node that
/// answered busy only after a growing delay (<see cref="BusyNodes"/>). A remote worker counts (cluster.min-workers, the
/// run's workers) from the moment its data-plane connection opened and the node took the job (<see cref="WorkerConnected"/>).
/// Training starts once MinWorkers workers count.</summary>
internal sealed partial class Coordinator : IWithTimers
{
    /// <summary>Timers (the wait for workers).</summary>
    public ITimerScheduler Timers { get; set; } = null!;

    private sealed record WaitExpired;

    /// <summary>A remote worker waits on its socket for the node's answer: it gets a thread of its own (this pinned
    /// dispatcher, defined by <see cref="ActorTrainingRunner.RuntimeDefaults"/>), never one of the pool threads the other
    /// actors need meanwhile. A system without it runs remote workers on its default dispatcher.</summary>
    internal const string RemoteDispatcher = "actor-trainer.remote-worker-dispatcher";

    private string RemoteWorkerDispatcher =>
        Context.System.Dispatchers.HasDispatcher(RemoteDispatcher) ? RemoteDispatcher : Akka.Dispatch.Dispatchers.DefaultDispatcherId;
    private readonly HashSet<IActorRef> _lost = new();
    private readonly HashSet<IActorRef> _counted = new();       // workers counted in _alive: local ones, remote ones once connected
    private BusyNodes? _busy;
    private readonly Dictionary<string, int> _liveByNode = new();
    private readonly Dictionary<int, string> _nodeOfWorker = new();
    private readonly Dictionary<string, NodeWeightsShare> _weightShares = new();
    private readonly SharedWeightsHome? _sharedWeights;   // sync runs: the weight home in a file same-host nodes map (the executor's)
    private ParameterSlices? _layout;
    private IActorRef[] _slices = [];
    private int _nextWorkerId;
    private readonly HashSet<string> _refused = new();
    private readonly Dictionary<string, Address> _memberOfNode = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _closedNodes = new();   // nodes whose connection a stopping worker found closed
    private bool _recruiting = true;

    private void ReceiveRemote()
    {
        Receive<WorkerNodeInfo>(m => Guard(() => OnNodeInfo(m)));
        Receive<WorkerLost>(m => Guard(() => OnWorkerLost(m)));
        Receive<WorkerConnected>(m => Guard(() => OnWorkerConnected(m)));
        Receive<WaitExpired>(m => Guard(() => OnWaitExpired(m)));
        Receive<StopRecruiting>(_ => _recruiting = false);
    }

    private void StartRemote(RemoteWorkers remote)
    {
        _busy = new BusyNodes(remote);
        Context.ActorOf(ActorProps.Of(() => new ClusterWorkerDirectory(remote.EffectiveProbeInterval)), "worker-directory");
        ArmWait(remote);
        CheckReady();
    }

    private void ArmWait(RemoteWorkers remote) => Timers.StartSingleTimer("wait-for-workers", new WaitExpired(), remote.EffectiveWait);

    private void CheckReady()
    {
        if (_opts.Remote is { } r && _alive.Count >= r.MinWorkers && SlicesReady) _generatorReady.TrySetResult(_generator);
    }

    private void OnNodeInfo(WorkerNodeInfo node)
    {
        var remote = _opts.Remote!;
        if (node.HostsSlices)
        {
            if (PsMode) OnPsNode(node);
            if (node.Workers == 0) return;   // a `ps` node; a worker node hosting slices too (worker.hosts-slices) goes on
        }
        if (!SlicesReady) return;   // its workers start once the ps nodes hold the slices (the node is asked again)
        int live = _liveByNode.GetValueOrDefault(node.Key);
        if (!_recruiting || live >= node.Workers || _refused.Contains(node.Key) || _busy!.Waiting(node.Key)) return;
        var job = _job;
        bool async = _opts.IsAsync;
        int maxRows = JobValidation.WorkerRows(job.BatchSize, job.Train.Count, job.ShardsPerBatch, async);
        if (NodeFrames.Refusal(node, job.Plan, maxRows) is { } refusal)
        {
            // once per node (its probes go on answering): no worker started for it to fail at every step
            _refused.Add(node.Key);
            _log.Error("cluster: {0}", refusal);
            Sender.Tell(new WorkerNodeRefused(refusal));
            return;
        }
        int keep = async ? 4 : job.ShardsPerBatch + 2;
        var (server, generator, slices, layout, pullEvery) = (_server, _generator, _slices, _layout!, _opts.AsyncPullEvery);
        var dispatcher = RemoteWorkerDispatcher;
        // made on the worker's own (pinned) thread as the actor starts: CodesFor may ask DNS about the node's host name,
        // which must not hold up the coordinator's thread
        // sync: the node's workers compute with one copy of the weights, sent (or, slices on ps nodes, pulled) once per
        // step (NodeWeightsShare)
        var share = async ? null : _weightShares.TryGetValue(node.Key, out var known) ? known : _weightShares[node.Key] = new NodeWeightsShare(job.Plan.WeightSizes);
        var closed = _closedNodes;
        Action gone = () => closed.TryAdd(node.Key, 0);   // on the worker's thread, as it stops
        var directory = _directory;
        var weightsHome = _sharedWeights;
        Func<IShardCompute> compute = () => directory is not null
            ? new RemoteShardCompute(node.Host, node.Port, job.Plan, maxRows, node.ThreadsPerWorker, remote.DataPlane, directory, share, remote.CodesFor(node.Host)) { PeerClosedAtDispose = gone }
            : share is null
            ? new RemoteShardCompute(node.Host, node.Port, job.Plan, maxRows, node.ThreadsPerWorker, remote.DataPlane, sync: false, coded: remote.CodesFor(node.Host)) { PeerClosedAtDispose = gone }
            : new RemoteShardCompute(node.Host, node.Port, job.Plan, maxRows, node.ThreadsPerWorker, remote.DataPlane, share, remote.CodesFor(node.Host))
                { PeerClosedAtDispose = gone, WeightsHome = weightsHome };
        _busy!.Asking(node.Key);
        for (int i = live; i < node.Workers; i++)
        {
            int id = _nextWorkerId++;
            var worker = Context.ActorOf(ActorProps.Of(() => new GradientWorker(id, job.Plan, maxRows, generator, server, slices,
                layout, async, pullEvery, keep, false, node.ThreadsPerWorker, compute)).WithDispatcher(dispatcher), "worker-" + id);
            Context.Watch(worker);
            _workers.Add(worker);
            _nodeOfWorker[id] = node.Key;    // it counts once connected (WorkerConnected)
        }
        _liveByNode[node.Key] = node.Workers;
        _memberOfNode[node.Key] = Sender.Path.Address;
        _server.Tell(new RegisterPeers(slices, _workers.Where(w => !_lost.Contains(w)).ToArray()));
        CheckReady();
    }

    /// <summary>A worker's computation is open (local workers count from their start): it counts from now on.</summary>
    private void OnWorkerConnected(WorkerConnected m)
    {
        if (!_workers.Contains(Sender) || _lost.Contains(Sender) || !_counted.Add(Sender)) return;
        _alive.Started();
        if (_nodeOfWorker.TryGetValue(m.WorkerId, out var node)) _busy?.Connected(node);
        CheckReady();
    }

    /// <summary>The worker stops counting (lost, or stopped); true when it did count.</summary>
    private bool Uncount(IActorRef worker)
    {
        if (!_counted.Remove(worker)) return false;
        _alive.Stopped();
        return true;
    }

    private void OnWorkerLost(WorkerLost m)
    {
        if (!_lost.Add(Sender)) return;
        bool counted = Uncount(Sender);
        if (_nodeOfWorker.Remove(m.WorkerId, out var node) && _liveByNode.TryGetValue(node, out var n))
            _liveByNode[node] = n - 1;
        // the node said no to the job (it logged why): decided once per node incarnation, as a frame-size refusal is;
        // its probes go on answering, but it is not deployed to again (no worker started for it to refuse every second)
        if (m.Refused && node is not null && _refused.Add(node)) _log.Error("cluster: {0}; it gets no workers in this run", m.Reason);
        if (m.Busy && node is not null) OnBusy(node, m.Reason);
        // the last worker that counted is gone: the wait for one to come back starts (a worker that never connected
        // changes nothing: the wait runs already, or some other worker still counts)
        if (counted && _alive.Count == 0 && _opts.Remote is { } remote) ArmWait(remote);
    }

    /// <summary>A node answered busy: asked again after its back-off; one warning per busy spell of a node.</summary>
    private void OnBusy(string node, string reason)
    {
        if (_busy?.Answered(node) is not { } answer) return;
        var (times, delay) = answer;
        var max = _opts.Remote!.EffectiveBusyRetryMax.TotalSeconds;
        if (times == 1)
            _log.Warning("cluster: {0}; asking it again in {1:0.###} s, then twice as long each time it is still busy (at most cluster.busy-retry-max = {2:0.###} s)",
                reason, delay.TotalSeconds, max);
        else _log.Debug("cluster: {0} (busy {1} times in a row); asking it again in {2:0.###} s", reason, times, delay.TotalSeconds);
    }

    /// <summary>The run is over: the cluster members of worker nodes that lost every worker of this run (killed, frozen,
    /// cut off), or whose connection a worker found closed by the node as it stopped (a node killed after its last
    /// shard: no read failed), are downed. The data plane sees a killed node go at once, Akka's failure detector only
    /// seconds later; until then the coordinator's leaving could not converge and its shutdown would wait out its
    /// timeout (10 s). A downed node that is still alive rejoins the seed nodes, as after any coordinator's leaving.
    /// (The workers, children of the coordinator, have stopped when this runs.)</summary>
    private void DownLostNodes()
    {
        if (_opts.Remote is null) return;
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        foreach (var (key, member) in _memberOfNode)
            if ((_liveByNode.GetValueOrDefault(key) <= 0 || _closedNodes.ContainsKey(key)) && member != cluster.SelfAddress) cluster.Down(member);
    }

    private void OnWaitExpired(WaitExpired m)
    {
        var remote = _opts.Remote!;
        if (!SlicesReady)
        {
            Fail(new WorkersUnavailableException($"cluster: {_psNodes.Count} of cluster.ps-nodes = {remote.PsNodes} parameter-server nodes joined ({_psReady.Count} took their slices) within cluster.wait-for-workers = {remote.EffectiveWait.TotalSeconds:0.###} s; start ps nodes (`ps --config FILE`) with this coordinator among their cluster.seed-nodes"));
            return;
        }
        if (_generatorReady.Task.IsCompleted ? _alive.Count > 0 : _alive.Count >= remote.MinWorkers) return;
        var refused = (_refused.Count == 0 ? "" : $" ({_refused.Count} worker node(s) refused, see the error above)")
                      + (_busy is not { Count: > 0 } busy ? "" : $" ({busy.Count} worker node(s) busy serving another coordinator, see the warning above)");
        Fail(new WorkersUnavailableException(_generatorReady.Task.IsCompleted
            ? $"cluster: every gradient worker was lost and none came back within cluster.wait-for-workers = {remote.EffectiveWait.TotalSeconds:0.###} s{refused}"
            : $"cluster: {_alive.Count} of cluster.min-workers = {remote.MinWorkers} gradient workers joined within cluster.wait-for-workers = {remote.EffectiveWait.TotalSeconds:0.###} s{refused}; start worker nodes (`worker --config FILE`) with this coordinator among their cluster.seed-nodes"));
    }
}
