using Akka.Actor;
using Akka.Event;
using static Akka.Cluster.ClusterEvent;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>The coordinator's view of the worker nodes, from Akka.Cluster membership (no membership of our own): every
/// member with the `worker` or `ps` role that is up and reachable is asked to describe itself when it joins, becomes reachable
/// again, and every probe interval after that; each answer (<see cref="WorkerNodeInfo"/>) goes to the parent, which
/// starts workers for nodes it does not use yet.</summary>
internal sealed class ClusterWorkerDirectory : ReceiveActor, IWithTimers
{
    private sealed record Probe;
    private readonly HashSet<Address> _nodes = new();
    private readonly TimeSpan _interval;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public ITimerScheduler Timers { get; set; } = null!;

    public ClusterWorkerDirectory(TimeSpan probeInterval)
    {
        _interval = probeInterval;
        Receive<MemberUp>(m =>
        {
            if ((m.Member.HasRole(RemoteWorkers.WorkerRole) || m.Member.HasRole(RemoteWorkers.PsRole)) && _nodes.Add(m.Member.Address)) Describe(m.Member.Address);
        });
        Receive<ReachableMember>(m => { if (_nodes.Contains(m.Member.Address)) Describe(m.Member.Address); });
        Receive<MemberRemoved>(m => _nodes.Remove(m.Member.Address));
        Receive<IMemberEvent>(_ => { });
        Receive<IReachabilityEvent>(_ => { });
        Receive<Probe>(_ => { foreach (var a in _nodes) Describe(a); });
        Receive<WorkerNodeInfo>(m => Context.Parent.Forward(m));     // the parent may answer the node (WorkerNodeRefused)
    }

    protected override void PreStart()
    {
        Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, InitialStateAsEvents, typeof(IMemberEvent), typeof(IReachabilityEvent));
        Timers.StartPeriodicTimer("probe", new Probe(), _interval);
    }

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);

    private void Describe(Address node)
    {
        _log.Debug("asking worker node {0} to describe itself", node);
        Context.ActorSelection(new RootActorPath(node) / "user" / WorkerNodeActor.Name).Tell(new DescribeWorkerNode());
    }
}
