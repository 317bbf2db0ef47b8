using Akka.Actor;
using Akka.Cluster;

namespace ActorTrainer.Runtime.Remoting;

/// <summary>Tells a node's <see cref="PeerLossLogFilter"/> which members went away (unreachable, downed, removed) and
/// which came back (reachable again, up), so that Akka's association failures with a lost node are not logged while
/// it is gone. Started by <see cref="ClusterNode.Create"/>.</summary>
internal sealed class PeerLossWatcher : ReceiveActor
{
    /// <summary>The actor's name under /user.</summary>
    public const string Name = "peer-loss-watcher";

    /// <summary>A watcher feeding `filter`.</summary>
    public PeerLossWatcher(PeerLossLogFilter filter)
    {
        Receive<ClusterEvent.UnreachableMember>(m => filter.Gone(m.Member.Address.ToString()));
        Receive<ClusterEvent.MemberRemoved>(m => filter.Gone(m.Member.Address.ToString()));
        Receive<ClusterEvent.MemberDowned>(m => filter.Gone(m.Member.Address.ToString()));
        Receive<ClusterEvent.ReachableMember>(m => filter.Back(m.Member.Address.ToString()));
        Receive<ClusterEvent.MemberJoined>(m => filter.Back(m.Member.Address.ToString()));
        Receive<ClusterEvent.MemberUp>(m => filter.Back(m.Member.Address.ToString()));
        ReceiveAny(_ => { });
    }

    /// <inheritdoc/>
    protected override void PreStart() => Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
        typeof(ClusterEvent.IReachabilityEvent), typeof(ClusterEvent.IMemberEvent));

    /// <inheritdoc/>
    protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);
}
