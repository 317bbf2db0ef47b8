namespace ActorTrainer.Runtime;

// Executor → coordinator commands. They never leave the process (the executor and its coordinator live together)
// and carry the task the coordinator completes, so they are not ITrainingMessages.

/// <summary>Epoch Epoch starts at batch StartStep, whose global step is FirstGlobalStep (bookkeeping for the drain).</summary>
internal sealed record BeginEpochCommand(int Epoch, int StartStep, long FirstGlobalStep);

/// <summary>Async: stop dispatching; Done gets the number of batches of this epoch run that were handed out, once
/// all of them resolved.</summary>
internal sealed record DrainCommand(TaskCompletionSource<int> Done);

/// <summary>Replace the parameter server's weights (values copied); Done gets the server's answer.</summary>
internal sealed record SetWeightsCommand(float[][] Weights, TaskCompletionSource<WeightsLoaded> Done);

/// <summary>Done gets the parameter server's optimizer state (iterations and slot copies; Recycled: the slots of the
/// state before, handed back for the server to refill, see SnapshotRequest).</summary>
internal sealed record StateCommand(TaskCompletionSource<ServerState> Done, float[][][]? Recycled = null);

/// <summary>Worker → its coordinator (same process): the node computing this worker's shards is gone (Where, Reason);
/// the worker takes no more work (and stops once the generator retired it, <see cref="RetireWorker"/>). Refused: the
/// node refused the job (<see cref="WorkerNodeRefusedException"/>), so it gets no workers again in this run. Busy: the
/// node answered busy (<see cref="ActorTrainer.Core.ShardComputeBusyException"/>): asked again with a growing delay.</summary>
internal sealed record WorkerLost(int WorkerId, string Where, string Reason, bool Refused = false, bool Busy = false)
    : Akka.Actor.INoSerializationVerificationNeeded;

/// <summary>Worker → its coordinator (same process): the worker's computation is open (a remote worker's data-plane
/// connection: the node took the job), so it counts as a worker from now on (cluster.min-workers, the run's workers).</summary>
internal sealed record WorkerConnected(int WorkerId) : Akka.Actor.INoSerializationVerificationNeeded;

/// <summary>A lost worker → the batch generator (same process): hand me no more work; answered with
/// <see cref="WorkerRetired"/>, after which the generator sends the worker nothing, so the worker may stop.</summary>
internal sealed record RetireWorker(int WorkerId) : Akka.Actor.INoSerializationVerificationNeeded;

/// <summary>Generator → a worker that asked to retire: every item it was handed is in its mailbox before this message
/// (one sender, one receiver: in order), and no other will come.</summary>
internal sealed record WorkerRetired : Akka.Actor.INoSerializationVerificationNeeded
{
    /// <summary>The one instance.</summary>
    public static readonly WorkerRetired Instance = new();
}

/// <summary>Executor → coordinator: the run gave up its step in flight (cancelled with no gradient worker left); worker
/// nodes that answer from now on get no workers.</summary>
internal sealed record StopRecruiting;
