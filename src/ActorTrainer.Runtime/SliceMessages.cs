using Akka.Actor;

namespace ActorTrainer.Runtime;

/// <summary>Coordinator → parameter server: its slices (index order; sent before any worker starts) and the gradient
/// workers (told when a step's gradient buffers are free; sent again once they exist, before any work is handed out).
/// Coordinator → every slice (Workers empty): the slices, its peers in the sync vote.</summary>
/// <param name="Slices">The parameter-server slices, in index order.</param>
/// <param name="Workers">The gradient workers (empty when sent to a slice).</param>
public sealed record RegisterPeers(IActorRef[] Slices, IActorRef[] Workers) : ITrainingMessage;

/// <summary>Parameter server → every slice (async): apply this accepted gradient as update number Version with the
/// learning rate times LearningRateScale (the staleness policy's factor; 1 = none).</summary>
/// <param name="Result">The accepted gradient.</param>
/// <param name="Version">Its update number.</param>
/// <param name="LearningRateScale">Factor of the learning rate (the staleness policy's; 1 = none).</param>
public sealed record ApplyGradient(ShardResult Result, long Version, float LearningRateScale) : ITrainingMessage;

/// <summary>Slice → parameter server: the slice is done with Step (at Epoch, StepInEpoch). Applied = its range was
/// updated; otherwise What says why not (non-finite loss or gradient). Loss sum, hits and count are the whole step's;
/// BusySeconds = the slice's time folding, checking and updating for this step.</summary>
/// <param name="Step">Global step.</param>
/// <param name="Epoch">0-based epoch.</param>
/// <param name="StepInEpoch">0-based batch within the epoch.</param>
/// <param name="Slice">The slice's index.</param>
/// <param name="Applied">The slice's range was updated.</param>
/// <param name="What">Why not, when not applied (non-finite loss or gradient); else empty.</param>
/// <param name="LossSum">Sum of the whole step's per-sample losses.</param>
/// <param name="Correct">Samples of the step the accuracy counts as right.</param>
/// <param name="Count">Samples in the step.</param>
/// <param name="BusySeconds">The slice's time folding, checking and updating for this step.</param>
public sealed record SliceApplied(long Step, int Epoch, int StepInEpoch, int Slice, bool Applied, string What,
    double LossSum, double Correct, int Count, double BusySeconds = 0) : ITrainingMessage;

/// <summary>Slice → every other slice (sync): every shard of Step has been folded over the slice's range; Finite = the
/// step's loss sum and the slice's range of the summed gradient are finite (the sum is NaN or ±∞ wherever a shard's
/// gradient is, so this also covers every shard). A slice holds its update until all its peers' votes are in, and
/// applies it only if every vote (its own included) is finite — so every slice applies its range, or none does.</summary>
/// <param name="Step">Global step.</param>
/// <param name="Slice">The voting slice's index.</param>
/// <param name="Finite">The step's loss sum and the slice's range of the summed gradient are finite.</param>
public sealed record SliceChecked(long Step, int Slice, bool Finite) : ITrainingMessage;

/// <summary>Slice → worker (async pull): the slice's current values (flat, its range of the parameter vector) after
/// Version updates.</summary>
/// <param name="Slice">The slice's index.</param>
/// <param name="Version">Updates applied.</param>
/// <param name="Values">The slice's range of the flat parameter vector.</param>
public sealed record SliceWeights(int Slice, long Version, float[] Values) : ITrainingMessage;

/// <summary>Parameter server → every slice: copy your range of Weights (full per-tensor arrays) into the weights;
/// the server's version becomes Version.</summary>
/// <param name="Version">The server's new weight version.</param>
/// <param name="Weights">The full weights, per-tensor arrays in plan order.</param>
public sealed record LoadSlice(long Version, float[][] Weights) : ITrainingMessage;

/// <summary>Slice → parameter server: LoadSlice done.</summary>
/// <param name="Slice">The slice's index.</param>
public sealed record SliceLoaded(int Slice) : ITrainingMessage;

/// <summary>Parameter server → every slice: send your optimizer state (checkpoint). Recycled (optional): this slice's
/// SliceState.Slots of the snapshot before, which the server has copied out — ownership passes back to the slice, which
/// fills them; not serialized (as PullWeights.Recycled).</summary>
/// <param name="Recycled">This slice's slot arrays of the snapshot before, for reuse, or null.</param>
public sealed record SliceStateRequest(float[][]? Recycled = null) : ITrainingMessage;

/// <summary>Slice → parameter server: flat copies of each optimizer slot over the slice's range.</summary>
/// <param name="Slice">The slice's index.</param>
/// <param name="Slots">Flat copy of each optimizer slot over the slice's range.</param>
public sealed record SliceState(int Slice, float[][] Slots) : ITrainingMessage;
