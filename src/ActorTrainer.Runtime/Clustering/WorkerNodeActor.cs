using Akka.Actor;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>A worker node's Akka face, at /user/<see cref="Name"/>: answers <see cref="DescribeWorkerNode"/> with the
/// node's data-plane endpoint and capacity. The shards themselves go over the data plane (<see cref="WorkerNodeServer"/>).</summary>
public sealed class WorkerNodeActor : ReceiveActor
{
    /// <summary>The actor's name under /user.</summary>
    public const string Name = "worker-node";

    /// <summary>Describes `info` to whoever asks.</summary>
    public WorkerNodeActor(WorkerNodeInfo info) => Receive<DescribeWorkerNode>(_ => Sender.Tell(info));

    /// <summary>Props for the actor.</summary>
    public static Props Props(WorkerNodeInfo info) => Akka.Actor.Props.Create(() => new WorkerNodeActor(info));
}
