namespace ActorTrainer.Runtime;

// Executor → coordinator commands. They never leave the process (the executor and its coordinator live together)
// and carry the task the coordinator completes, so they are not ITrainingMessages.

/// <summary>Start epoch Epoch at batch StartStep, whose global step is FirstGlobalStep.</summary>
internal sealed record BeginEpochCommand(int Epoch, int StartStep, long FirstGlobalStep);

/// <summary>Sync: open global step Step (batch StepInEpoch of Epoch) at the current weights.</summary>
internal sealed record StepCommand(long Step, int Epoch, int StepInEpoch);

/// <summary>Async: stop dispatching; Done gets the number of batches of this epoch run that were handed out, once
/// all of them resolved.</summary>
internal sealed record DrainCommand(TaskCompletionSource<int> Done);

/// <summary>Replace the parameter server's weights (values copied); Done gets the server's answer.</summary>
internal sealed record SetWeightsCommand(float[][] Weights, TaskCompletionSource<WeightsLoaded> Done);

/// <summary>Done gets the parameter server's full state (weights, optimizer iterations and slots; copies).</summary>
internal sealed record StateCommand(TaskCompletionSource<ServerState> Done);
