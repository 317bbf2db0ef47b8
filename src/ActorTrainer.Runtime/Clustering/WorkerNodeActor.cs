using ActorTrainer.Runtime.Remoting;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>A worker node's Akka face, at /user/<see cref="Name"/>: answers <see cref="DescribeWorkerNode"/> with the
/// node's data-plane endpoint and capacity. The shards themselves go over the data plane (<see cref="WorkerNodeServer"/>).
/// When the cluster's coordinator member is removed — its run ended and it left, or it was downed — the node leaves
/// too (Akka's coordinated shutdown, which terminates this member's ActorSystem): a member cannot join the next
/// coordinator's new cluster, so the `worker` command then starts a new member that joins the seed nodes again, and
/// the same worker processes serve one `train` after another. What it sees of the coordinator goes into a
/// <see cref="MembershipEnd"/>, which tells the command why the membership ended.</summary>
public sealed class WorkerNodeActor : ReceiveActor
{
    /// <summary>The actor's name under /user.</summary>
    public const string Name = "worker-node";

    /// <summary>Describes `info` to whoever asks; logs a coordinator's refusal (<see cref="WorkerNodeRefused"/>); leaves the
    /// cluster after its coordinator; tells `end` (when given) the coordinator's address, reachability and removal.</summary>
    public WorkerNodeActor(WorkerNodeInfo info, MembershipEnd? end = null)
    {
        end ??= new MembershipEnd();
        Receive<DescribeWorkerNode>(_ => Sender.Tell(info));
        Receive<WorkerNodeRefused>(m => Context.GetLogger().Error("the coordinator {0} refused this node: {1}", Sender.Path.Address, m.Reason));
        Receive<ClusterEvent.MemberUp>(m => { if (IsCoordinator(m.Member)) end.Reachable(m.Member.Address, true); });
        Receive<ClusterEvent.UnreachableMember>(m => { if (IsCoordinator(m.Member)) end.Reachable(m.Member.Address, false); });
        Receive<ClusterEvent.ReachableMember>(m => { if (IsCoordinator(m.Member)) end.Reachable(m.Member.Address, true); });
        Receive<ClusterEvent.MemberRemoved>(m =>
        {
            if (!IsCoordinator(m.Member)) return;
            // a member that shuts down (downed, or leaving) sees every member removed: only a removal this member saw
            // while it lived is the coordinator's
            var cluster = Cluster.Get(Context.System);
            if (cluster.IsTerminated || cluster.SelfMember.Status is MemberStatus.Leaving or MemberStatus.Exiting or MemberStatus.Down or MemberStatus.Removed) return;
            end.Removed(m.Member.Address, m.PreviousStatus);
            Context.GetLogger().Info("the coordinator {0} left the cluster ({1}); this node leaves too and joins the next one", m.Member.Address, m.PreviousStatus);
            CoordinatedShutdown.Get(Context.System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
        });
    }

    private static bool IsCoordinator(Member m) => m.HasRole(SplitBrainSettings.CoordinatorRole);

    /// <inheritdoc/>
    protected override void PreStart() => Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
        typeof(ClusterEvent.MemberUp), typeof(ClusterEvent.MemberRemoved), typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.ReachableMember));

    /// <inheritdoc/>
    protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);

    /// <summary>Props for the actor; `end` (optional) learns what the node saw of its coordinator.</summary>
    public static Props Props(WorkerNodeInfo info, MembershipEnd? end = null) => ActorProps.Of(() => new WorkerNodeActor(info, end));
}

/// <summary>Why a worker or ps node's cluster membership ended, naming the coordinator: the `worker` and `ps` commands
/// print it in the one line before they rejoin. Its <see cref="WorkerNodeActor"/> tells it the coordinator's address,
/// whether the failure detector finds it reachable, and its removal while this member lived.</summary>
public sealed class MembershipEnd
{
    private readonly object _gate = new();
    private Address? _coordinator;
    private bool _unreachable;
    private string? _removed;

    /// <summary>The coordinator at `address` is (again) reachable, or unreachable.</summary>
    public void Reachable(Address address, bool reachable)
    {
        lock (_gate) (_coordinator, _unreachable) = (address, !reachable);
    }

    /// <summary>The coordinator's member was removed while this member lived: it left (its run ended), or it was
    /// downed (lost). The first removal is the cause.</summary>
    public void Removed(Address address, MemberStatus previous)
    {
        lock (_gate)
            _removed ??= previous == MemberStatus.Down
                ? $"the coordinator {address} was downed (lost: killed, frozen or cut off)"
                : $"the coordinator {address} left the cluster (its run ended)";
    }

    /// <summary>The cause, or null when this node does not know it. `downed`: this member's shutdown was Akka's downing
    /// of it (<see cref="CoordinatedShutdown.ClusterDowningReason"/>) — by the coordinator while it was reachable (its
    /// run lost this node's data-plane connection or workers), else by this side's split-brain resolver.</summary>
    public string? Why(bool downed)
    {
        lock (_gate)
        {
            if (_removed is not null || !downed) return _removed;
            if (_coordinator is not { } c) return "this node was downed (no coordinator in its view of the cluster)";
            return _unreachable
                ? $"the coordinator {c} became unreachable (it ended or was killed, or this node was frozen or cut off from it) and the split-brain resolver downed this node"
                : $"the coordinator {c} downed this node (its run lost this node's data-plane connection or workers; the coordinator's log says why)";
        }
    }
}
