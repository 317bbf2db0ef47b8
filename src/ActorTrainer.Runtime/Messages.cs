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
/// <param name="WorkerId">The asking worker's id.</param>
/// <param name="CompletedStep">Global step of the item just finished (−1 = none).</param>
/// <param name="CompletedShard">Shard of that item (−1 = none).</param>
/// <param name="Ready">Send the next item now (false while an async worker pulls weights first).</param>
public sealed record RequestWork(int WorkerId, long CompletedStep, int CompletedShard, bool Ready = true) : ITrainingMessage;

/// <summary>Worker → generator: the worker crashed on (Step, Shard); the item is re-queued. WorkerLost: the worker's
/// compute node is gone — the worker takes no more work, and the hand-back does not count against the item's attempts
/// (it was not the item's fault).</summary>
/// <param name="WorkerId">The failing worker's id.</param>
/// <param name="Step">Global step of the failed item.</param>
/// <param name="Shard">Its shard.</param>
/// <param name="Error">What went wrong (the exception's message).</param>
/// <param name="WorkerLost">The worker's compute node is gone; the hand-back does not count against the item.</param>
public sealed record WorkFailed(int WorkerId, long Step, int Shard, string Error, bool WorkerLost = false) : ITrainingMessage;

/// <summary>Generator → worker: compute the gradient of Rows samples (X Rows×features, Labels/Targets) that belong
/// to a batch of BatchRows samples, at weights Version (Weights null in async mode: the worker's pulled copy).
/// ShardCount = number of non-empty shards of the batch; SleepMillis is used by InjectedFault.Sleep. In-process
/// the rows are named, not copied (Source: the worker gathers them itself, in parallel with the other workers, and
/// X/Labels/Targets are null); the serializer writes the gathered rows, so a remote worker receives X.</summary>
/// <param name="Step">Global step of the batch.</param>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="StepInEpoch">0-based batch within the epoch.</param>
/// <param name="Shard">0-based shard of the batch.</param>
/// <param name="ShardCount">Non-empty shards of the batch.</param>
/// <param name="Version">Weight version the gradient is to be computed at.</param>
/// <param name="Weights">The weights at Version (null in async mode: the worker's pulled copy).</param>
/// <param name="X">The shard's rows, (Rows × features) float32 row-major (null while Source names them).</param>
/// <param name="Labels">Integer labels, (Rows), for a sparse loss, else null.</param>
/// <param name="Targets">Float targets, (Rows × output width) row-major, else null.</param>
/// <param name="Rows">Samples in the shard.</param>
/// <param name="BatchRows">Samples in the whole batch (the loss is its mean).</param>
/// <param name="DropoutSeed">Seed of the shard's dropout masks (Batching.dropoutSeed of the run's seed, step and shard).</param>
/// <param name="Fault">Fault the worker simulates (test hook).</param>
/// <param name="SleepMillis">The sleep of InjectedFault.Sleep, in ms.</param>
/// <param name="Source">Where the rows are, in-process (null when X carries them).</param>
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
/// <param name="Data">The training data (not modified while the epoch runs).</param>
/// <param name="Order">The epoch's permutation of the sample indices.</param>
/// <param name="First">Position in Order of the shard's first sample.</param>
/// <param name="TargetWidth">Values per target row (the plan's output width).</param>
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
/// <param name="Step">Global step of the batch.</param>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="StepInEpoch">0-based batch within the epoch.</param>
/// <param name="Shard">0-based shard of the batch.</param>
/// <param name="ShardCount">Non-empty shards of the batch.</param>
/// <param name="BatchRows">Samples in the whole batch.</param>
/// <param name="Version">Weight version the gradient was computed at.</param>
/// <param name="WorkerId">The computing worker's id.</param>
/// <param name="LossSum">Sum of the shard's per-sample losses.</param>
/// <param name="Correct">Samples of the shard the accuracy counts as right.</param>
/// <param name="Count">Samples in the shard.</param>
/// <param name="Gradients">The shard's part of the batch gradient, one array per weight in plan order (the worker's buffers).</param>
/// <param name="GradientsFinite">No NaN/Inf in Gradients (always true in sync mode).</param>
public sealed record ShardResult(long Step, int Epoch, int StepInEpoch, int Shard, int ShardCount, int BatchRows, long Version, int WorkerId,
    double LossSum, double Correct, int Count, float[][] Gradients, bool GradientsFinite = true) : ITrainingMessage;

/// <summary>Parameter server → worker: every slice is done with the gradients the worker sent for Step (and, when
/// AndEarlier, for every earlier step): the worker may reuse those buffers.</summary>
/// <param name="Step">The step whose gradient buffers may be reused.</param>
/// <param name="AndEarlier">Also every earlier step's.</param>
public sealed record ReleaseGradients(long Step, bool AndEarlier) : ITrainingMessage;

/// <summary>Worker → parameter server → every slice (async): send me your current weights (SliceWeights). Recycled
/// (optional, index = slice): buffers the worker hands back from its last pull — ownership of Recycled[i] passes to
/// slice i, which fills it and sends it back as its SliceWeights.Values, so a pull allocates nothing; the buffers'
/// contents are not part of the message (not serialized: a deserialized pull has none, and the slices allocate).</summary>
/// <param name="WorkerId">The pulling worker's id.</param>
/// <param name="Recycled">Buffers from the last pull, one per slice (index = slice), or null.</param>
public sealed record PullWeights(int WorkerId, float[]?[]? Recycled = null) : ITrainingMessage;

/// <summary>Coordinator → generator: a new epoch; its permutation is computed. Async: dispatch batches
/// StartStepInEpoch.. on demand; sync: wait for OpenStep.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="StartStepInEpoch">First batch to run (0, or later when resuming).</param>
/// <param name="FirstGlobalStep">Global step of that batch.</param>
/// <param name="Async">Async mode: dispatch on demand.</param>
public sealed record StartEpoch(int Epoch, int StartStepInEpoch, long FirstGlobalStep, bool Async) : ITrainingMessage;

/// <summary>Coordinator → generator (sync): split step StepInEpoch of Epoch into shards at weights Version.</summary>
/// <param name="Step">Global step.</param>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="StepInEpoch">0-based batch within the epoch.</param>
/// <param name="Version">Weight version of Weights.</param>
/// <param name="Weights">The weights to compute the step at.</param>
public sealed record OpenStep(long Step, int Epoch, int StepInEpoch, long Version, float[][] Weights) : ITrainingMessage;

/// <summary>Executor → generator (sync): once step Step is applied (StepApplied), open the step after it in the epoch
/// (weights at the version the parameter server reports) without waiting for an OpenStep.</summary>
/// <param name="Step">The step after whose application the next one opens.</param>
public sealed record OpenNextStep(long Step) : ITrainingMessage;

/// <summary>Parameter server → generator (sync): step Step was applied by every slice; the weights are at Version.</summary>
/// <param name="Step">The applied global step.</param>
/// <param name="Version">Weight version after it.</param>
public sealed record StepApplied(long Step, long Version) : ITrainingMessage;

/// <summary>Coordinator → generator (async): stop handing out new batches.</summary>
public sealed record StopDispatch() : ITrainingMessage;

/// <summary>Generator → coordinator (async): dispatch stopped; NextStepInEpoch batches were handed out.</summary>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="NextStepInEpoch">Batches of the epoch handed out.</param>
public sealed record DispatchStopped(int Epoch, int NextStepInEpoch) : ITrainingMessage;

/// <summary>Generator → itself: look for work items whose worker exceeded the timeout.</summary>
public sealed record CheckTimeouts() : ITrainingMessage;

/// <summary>Generator → coordinator: an item failed too often; the run fails.</summary>
/// <param name="Step">Global step of the item.</param>
/// <param name="Shard">Its shard.</param>
/// <param name="Attempts">Times it failed.</param>
/// <param name="Error">The last failure's message.</param>
public sealed record WorkItemAbandoned(long Step, int Shard, int Attempts, string Error) : ITrainingMessage;

/// <summary>Parameter server → coordinator: step resolved. Applied = the gradient updated the weights
/// (false: rejected as stale, async). Weights/Version are the server's current ones after the step; Iterations is
/// the optimizer's iteration count after it; ServerSeconds = the parameter server's time so far (per step, the
/// busiest slice's fold + update time).</summary>
/// <param name="Step">Global step.</param>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="StepInEpoch">0-based batch within the epoch.</param>
/// <param name="Applied">The gradient updated the weights (false: rejected as stale, async).</param>
/// <param name="Version">The server's weight version after the step.</param>
/// <param name="Weights">The server's current weights.</param>
/// <param name="LossSum">Sum of the batch's per-sample losses.</param>
/// <param name="Correct">Samples of the batch the accuracy counts as right.</param>
/// <param name="Count">Samples in the batch.</param>
/// <param name="Rejected">Stale gradients rejected so far.</param>
/// <param name="Iterations">The optimizer's iteration count after the step.</param>
/// <param name="ServerSeconds">The parameter server's time so far (per step, the busiest slice's fold + update time).</param>
public sealed record StepResolved(long Step, int Epoch, int StepInEpoch, bool Applied, long Version, float[][] Weights,
    double LossSum, double Correct, int Count, long Rejected, long Iterations, double ServerSeconds = 0) : ITrainingMessage;

/// <summary>Parameter server → coordinator: non-finite loss or gradient at Step; nothing was applied.</summary>
/// <param name="Step">Global step.</param>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="StepInEpoch">0-based batch within the epoch.</param>
/// <param name="What">What was not finite (the loss sum or the gradients).</param>
public sealed record StepDiverged(long Step, int Epoch, int StepInEpoch, string What) : ITrainingMessage;

/// <summary>Coordinator → parameter server: send the optimizer state (checkpoint; the weights are the step's). Recycled
/// (optional): the slots of the ServerState before, which their receiver is done with — ownership passes to the server,
/// which fills them and sends them back as the new ServerState.Slots, so a checkpoint allocates no fresh memory for them;
/// not part of the message's bytes (not serialized: a deserialized request has none, and the server allocates).</summary>
/// <param name="Recycled">The slots of the previous ServerState, for reuse, or null.</param>
public sealed record SnapshotRequest(float[][][]? Recycled = null) : ITrainingMessage;

/// <summary>Parameter server → coordinator: weight version, optimizer iterations and slots (copies), stale rejections.</summary>
/// <param name="Version">Weight version.</param>
/// <param name="Iterations">Optimizer iterations.</param>
/// <param name="Slots">Optimizer slots (copies): [weight][slot][element].</param>
/// <param name="Rejected">Stale gradients rejected so far.</param>
public sealed record ServerState(long Version, long Iterations, float[][][] Slots, long Rejected) : ITrainingMessage;

/// <summary>Coordinator → parameter server: replace the weights with these values (copied; shapes as the plan's).</summary>
/// <param name="Weights">The new weights in plan order (copied).</param>
public sealed record LoadWeights(float[][] Weights) : ITrainingMessage;

/// <summary>Parameter server → coordinator: the weights were replaced; Weights/Version are the server's current ones.</summary>
/// <param name="Version">The server's weight version.</param>
/// <param name="Weights">The server's current weights.</param>
public sealed record WeightsLoaded(long Version, float[][] Weights) : ITrainingMessage;
