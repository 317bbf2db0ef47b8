using Akka.Actor;

namespace ActorTrainer.Runtime;

/// <summary>Coordinator → parameter server: its slices (index order; sent before any worker starts) and the gradient
/// workers (told when a step's gradient buffers are free; sent again once they exist, before any work is handed out).
/// Coordinator → every slice (Workers empty): the slices, its peers in the sync vote.</summary>
public sealed record RegisterPeers(IActorRef[] Slices, IActorRef[] Workers) : ITrainingMessage;

/// <summary>Parameter server → every slice (async): apply this accepted gradient as update number Version with the
/// learning rate times LearningRateScale (the staleness policy's factor; 1 = none).</summary>
public sealed record ApplyGradient(ShardResult Result, long Version, float LearningRateScale) : ITrainingMessage;

/// <summary>Slice → parameter server: the slice is done with Step (at Epoch, StepInEpoch). Applied = its range was
/// updated; otherwise What says why not (non-finite loss or gradient). Loss sum, hits and count are the whole step's;
/// BusySeconds = the slice's time folding, checking and updating for this step.</summary>
public sealed record SliceApplied(long Step, int Epoch, int StepInEpoch, int Slice, bool Applied, string What,
    double LossSum, double Correct, int Count, double BusySeconds = 0) : ITrainingMessage;

/// <summary>Slice → every other slice (sync): every shard of Step has been folded over the slice's range; Finite = the
/// step's loss sum and the slice's range of the summed gradient are finite (the sum is NaN or ±∞ wherever a shard's
/// gradient is, so this also covers every shard). A slice holds its update until all its peers' votes are in, and
/// applies it only if every vote (its own included) is finite — so every slice applies its range, or none does.</summary>
public sealed record SliceChecked(long Step, int Slice, bool Finite) : ITrainingMessage;

/// <summary>Slice → worker (async pull): the slice's current values (flat, its range of the parameter vector) after
/// Version updates.</summary>
public sealed record SliceWeights(int Slice, long Version, float[] Values) : ITrainingMessage;

/// <summary>Parameter server → every slice: copy your range of Weights (full per-tensor arrays) into the weights;
/// the server's version becomes Version.</summary>
public sealed record LoadSlice(long Version, float[][] Weights) : ITrainingMessage;

/// <summary>Slice → parameter server: LoadSlice done.</summary>
public sealed record SliceLoaded(int Slice) : ITrainingMessage;

/// <summary>Parameter server → every slice: send your optimizer state (checkpoint). Recycled (optional): this slice's
/// SliceState.Slots of the snapshot before, which the server has copied out — ownership passes back to the slice, which
/// fills them; not serialized (as PullWeights.Recycled).</summary>
public sealed record SliceStateRequest(float[][]? Recycled = null) : ITrainingMessage;

/// <summary>Slice → parameter server: flat copies of each optimizer slot over the slice's range.</summary>
public sealed record SliceState(int Slice, float[][] Slots) : ITrainingMessage;
