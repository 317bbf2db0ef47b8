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
/// the same worker processes serve one `train` after another.</summary>
public sealed class WorkerNodeActor : ReceiveActor
{
    /// <summary>The actor's name under /user.</summary>
    public const string Name = "worker-node";

    /// <summary>Describes `info` to whoever asks; logs a coordinator's refusal (<see cref="WorkerNodeRefused"/>); leaves the
    /// cluster after its coordinator.</summary>
    public WorkerNodeActor(WorkerNodeInfo info)
    {
        Receive<DescribeWorkerNode>(_ => Sender.Tell(info));
        Receive<WorkerNodeRefused>(m => Context.GetLogger().Error("the coordinator {0} refused this node: {1}", Sender.Path.Address, m.Reason));
        Receive<ClusterEvent.MemberRemoved>(m =>
        {
            if (!m.Member.HasRole(SplitBrainSettings.CoordinatorRole)) return;
            var cluster = Cluster.Get(Context.System);
            if (cluster.IsTerminated || cluster.SelfMember.Status is MemberStatus.Leaving or MemberStatus.Exiting) return;
            Context.GetLogger().Info("the coordinator {0} left the cluster ({1}); this node leaves too and joins the next one", m.Member.Address, m.PreviousStatus);
            CoordinatedShutdown.Get(Context.System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
        });
    }

    /// <inheritdoc/>
    protected override void PreStart() => Cluster.Get(Context.System).Subscribe(Self, typeof(ClusterEvent.MemberRemoved));

    /// <inheritdoc/>
    protected override void PostStop() => Cluster.Get(Context.System).Unsubscribe(Self);

    /// <summary>Props for the actor.</summary>
    public static Props Props(WorkerNodeInfo info) => ActorProps.Of(() => new WorkerNodeActor(info));
}
