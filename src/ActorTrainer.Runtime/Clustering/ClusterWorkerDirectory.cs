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
        Receive<MemberRemoved>(m =>
        {
            _nodes.Remove(m.Member.Address);
            if (m.Member.HasRole(RemoteWorkers.PsRole)) Context.Parent.Tell(new PsNodeUnreachable(m.Member.Address, "it left the cluster"));
        });
        // a ps node's slices cannot be handed to another node: the parent ends a run that uses it (a frozen process keeps
        // its connections open, so only the failure detector sees it)
        Receive<UnreachableMember>(m =>
        {
            if (m.Member.HasRole(RemoteWorkers.PsRole)) Context.Parent.Tell(new PsNodeUnreachable(m.Member.Address, "the cluster's failure detector marked it unreachable (frozen, overloaded or cut off)"));
        });
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

/// <summary>Directory → coordinator: the `ps` member at Address is unreachable or gone (Why).</summary>
internal sealed record PsNodeUnreachable(Address Address, string Why) : INoSerializationVerificationNeeded;
