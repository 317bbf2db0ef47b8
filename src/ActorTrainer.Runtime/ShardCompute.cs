using ActorTrainer.Core;

namespace ActorTrainer.Runtime;

/// <summary>A remote worker node is unreachable, closed its connection, broke the protocol or missed its per-step
/// deadline; the work item is handed to another worker.</summary>
public class WorkerNodeLostException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>A worker node answered the Job with an Error frame: it will not serve this run as it is (a GPU node offered a
/// sync job, a plan it cannot read, ...), and asking it again would get the same answer. The coordinator uses no
/// worker of that node incarnation again in this run (one log line, no retry). Message: the node's reason.</summary>
public sealed class WorkerNodeRefusedException(string message) : WorkerNodeLostException(message);

/// <summary>A shard computation that may need to know which shard it computes (a worker node that pushes the gradient to
/// `ps` nodes itself): the worker tells it before each Compute.</summary>
public interface IShardRoute
{
    /// <summary>True when the computation delivers the gradient to the parameter-server slices itself (their `ps`
    /// nodes): the worker then sends the slices no ShardResult.</summary>
    bool DeliversGradients { get; }

    /// <summary>The next Compute is shard `shard` of `shardCount` of global step `step` (epoch, step in epoch), for worker `workerId`.</summary>
    void Route(long step, int shard, int shardCount, int epoch, int stepInEpoch, int workerId);
}
