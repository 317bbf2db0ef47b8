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
/// the worker takes no more work. Refused: the node refused the job (<see cref="WorkerNodeRefusedException"/>), so it
/// gets no workers again in this run.</summary>
internal sealed record WorkerLost(int WorkerId, string Where, string Reason, bool Refused = false);

/// <summary>Executor → coordinator: the run gave up its step in flight (cancelled with no gradient worker left); worker
/// nodes that answer from now on get no workers.</summary>
internal sealed record StopRecruiting;
