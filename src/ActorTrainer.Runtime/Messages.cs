namespace ActorTrainer.Runtime;

/// <summary>Marker of every message of the training runtime; all are bound to <see cref="TrainingMessageSerializer"/>.</summary>
public interface ITrainingMessage { }

/// <summary>Fault a work item asks its worker to simulate (test hook).</summary>
public enum InjectedFault : byte
{
    /// <summary>No fault.</summary>
    None = 0,
    /// <summary>Throw before computing.</summary>
    Throw = 1,
    /// <summary>Sleep before computing (the answer arrives late).</summary>
    Sleep = 2,
}

/// <summary>Worker → generator: CompletedStep/CompletedShard name the item just finished (−1 = none); Ready = send me
/// the next item (false while an async worker pulls weights first).</summary>
public sealed record RequestWork(int WorkerId, long CompletedStep, int CompletedShard, bool Ready = true) : ITrainingMessage;

/// <summary>Worker → generator: the worker crashed on (Step, Shard); the item is re-queued. WorkerLost: the worker's
/// compute node is gone — the worker takes no more work, and the hand-back does not count against the item's attempts
/// (it was not the item's fault).</summary>
public sealed record WorkFailed(int WorkerId, long Step, int Shard, string Error, bool WorkerLost = false) : ITrainingMessage;

/// <summary>Generator → worker: compute the gradient of Rows samples (X Rows×features, Labels/Targets) that belong
/// to a batch of BatchRows samples, at weights Version (Weights null in async mode: the worker's pulled copy).
/// ShardCount = number of non-empty shards of the batch; SleepMillis is used by InjectedFault.Sleep. In-process
/// the rows are named, not copied (Source: the worker gathers them itself, in parallel with the other workers, and
/// X/Labels/Targets are null); the serializer writes the gathered rows, so a remote worker receives X.</summary>
public sealed record ShardWork(long Step, int Epoch, int StepInEpoch, int Shard, int ShardCount, long Version,
    float[][]? Weights, float[]? X, int[]? Labels, float[]? Targets, int Rows, int BatchRows, long DropoutSeed,
    InjectedFault Fault, int SleepMillis, ShardSource? Source = null) : ITrainingMessage
{
    /// <summary>This item with X, Labels and Targets gathered from Source (itself when it already has them).</summary>
    public ShardWork Materialize()
    {
        if (Source is not { } src) return this;
        var x = new float[Rows * src.Data.Features];
        int[]? labels = src.Data.Labels is null ? null : new int[Rows];
        float[]? targets = src.Data.Targets is null ? null : new float[Rows * src.TargetWidth];
        src.Gather(Rows, x, labels, targets);
        return this with { X = x, Labels = labels, Targets = targets, Source = null };
    }
}

/// <summary>Where a shard's rows are: samples Order[First .. First + rows) of Data (the epoch's permutation; neither
/// is modified while the epoch runs). TargetWidth = values per target row (the plan's output width).</summary>
public sealed record ShardSource(ActorTrainer.Core.ArrayData Data, int[] Order, int First, int TargetWidth)
{
    /// <summary>Copies the rows (and labels / targets when the data has them) into the given buffers.</summary>
    public void Gather(int rows, Span<float> x, Span<int> labels, Span<float> targets)
    {
        ActorTrainer.Core.Batching.gather(Data.X, Data.Features, Order, First, rows, x);
        if (Data.Labels is not null) ActorTrainer.Core.Batching.gatherLabels(Data.Labels, Order, First, rows, labels);
        if (Data.Targets is not null) ActorTrainer.Core.Batching.gather(Data.Targets, TargetWidth, Order, First, rows, targets);
    }
}

/// <summary>Worker → parameter-server slices (sync; async: → parameter server): loss sum, hits, count and gradients
/// of one shard of a batch of BatchRows samples, computed at Version; GradientsFinite = no NaN/Inf in Gradients
/// (checked by async workers, whose gradients the server accepts or rejects whole; in sync mode always true: every
/// slice checks its range of the summed gradient and the server applies the step on all slices or none). The gradient arrays stay
/// the worker's: it reuses them only after a ReleaseGradients for this step.</summary>
public sealed record ShardResult(long Step, int Epoch, int StepInEpoch, int Shard, int ShardCount, int BatchRows, long Version, int WorkerId,
    double LossSum, double Correct, int Count, float[][] Gradients, bool GradientsFinite = true) : ITrainingMessage;

/// <summary>Parameter server → worker: every slice is done with the gradients the worker sent for Step (and, when
/// AndEarlier, for every earlier step): the worker may reuse those buffers.</summary>
public sealed record ReleaseGradients(long Step, bool AndEarlier) : ITrainingMessage;

/// <summary>Worker → parameter server → every slice (async): send me your current weights (SliceWeights). Recycled
/// (optional, index = slice): buffers the worker hands back from its last pull — ownership of Recycled[i] passes to
/// slice i, which fills it and sends it back as its SliceWeights.Values, so a pull allocates nothing; the buffers'
/// contents are not part of the message (not serialized: a deserialized pull has none, and the slices allocate).</summary>
public sealed record PullWeights(int WorkerId, float[]?[]? Recycled = null) : ITrainingMessage;

/// <summary>Coordinator → generator: a new epoch; its permutation is computed. Async: dispatch batches
/// StartStepInEpoch.. on demand; sync: wait for OpenStep.</summary>
public sealed record StartEpoch(int Epoch, int StartStepInEpoch, long FirstGlobalStep, bool Async) : ITrainingMessage;

/// <summary>Coordinator → generator (sync): split step StepInEpoch of Epoch into shards at weights Version.</summary>
public sealed record OpenStep(long Step, int Epoch, int StepInEpoch, long Version, float[][] Weights) : ITrainingMessage;

/// <summary>Executor → generator (sync): once step Step is applied (StepApplied), open the step after it in the epoch
/// (weights at the version the parameter server reports) without waiting for an OpenStep.</summary>
public sealed record OpenNextStep(long Step) : ITrainingMessage;

/// <summary>Parameter server → generator (sync): step Step was applied by every slice; the weights are at Version.</summary>
public sealed record StepApplied(long Step, long Version) : ITrainingMessage;

/// <summary>Coordinator → generator (async): stop handing out new batches.</summary>
public sealed record StopDispatch() : ITrainingMessage;

/// <summary>Generator → coordinator (async): dispatch stopped; NextStepInEpoch batches were handed out.</summary>
public sealed record DispatchStopped(int Epoch, int NextStepInEpoch) : ITrainingMessage;

/// <summary>Generator → itself: look for work items whose worker exceeded the timeout.</summary>
public sealed record CheckTimeouts() : ITrainingMessage;

/// <summary>Generator → coordinator: an item failed too often; the run fails.</summary>
public sealed record WorkItemAbandoned(long Step, int Shard, int Attempts, string Error) : ITrainingMessage;

/// <summary>Parameter server → coordinator: step resolved. Applied = the gradient updated the weights
/// (false: rejected as stale, async). Weights/Version are the server's current ones after the step; Iterations is
/// the optimizer's iteration count after it; ServerSeconds = the parameter server's time so far (per step, the
/// busiest slice's fold + update time).</summary>
public sealed record StepResolved(long Step, int Epoch, int StepInEpoch, bool Applied, long Version, float[][] Weights,
    double LossSum, double Correct, int Count, long Rejected, long Iterations, double ServerSeconds = 0) : ITrainingMessage;

/// <summary>Parameter server → coordinator: non-finite loss or gradient at Step; nothing was applied.</summary>
public sealed record StepDiverged(long Step, int Epoch, int StepInEpoch, string What) : ITrainingMessage;

/// <summary>Coordinator → parameter server: send the optimizer state (checkpoint; the weights are the step's). Recycled
/// (optional): the slots of the ServerState before, which their receiver is done with — ownership passes to the server,
/// which fills them and sends them back as the new ServerState.Slots, so a checkpoint allocates no fresh memory for them;
/// not part of the message's bytes (not serialized: a deserialized request has none, and the server allocates).</summary>
public sealed record SnapshotRequest(float[][][]? Recycled = null) : ITrainingMessage;

/// <summary>Parameter server → coordinator: weight version, optimizer iterations and slots (copies), stale rejections.</summary>
public sealed record ServerState(long Version, long Iterations, float[][][] Slots, long Rejected) : ITrainingMessage;

/// <summary>Coordinator → parameter server: replace the weights with these values (copied; shapes as the plan's).</summary>
public sealed record LoadWeights(float[][] Weights) : ITrainingMessage;

/// <summary>Parameter server → coordinator: the weights were replaced; Weights/Version are the server's current ones.</summary>
public sealed record WeightsLoaded(long Version, float[][] Weights) : ITrainingMessage;
