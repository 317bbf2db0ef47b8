using ActorTrainer.Core;

namespace ActorTrainer.Runtime;

/// <summary>A training run: plan, initial weights (in plan.WeightShapes order; not modified), optimizer (its
/// state is advanced by the run), data, schedule and runtime options; Resume continues from a checkpoint.</summary>
public sealed record TrainingJob(ModelPlan Plan, float[][] InitialWeights, Optimizer Optimizer, ArrayData Train,
    ArrayData? Validation, int Epochs, int BatchSize, int Seed, bool Shuffle, RuntimeOptions Options,
    string ConfigText, CheckpointState? Resume = null);

/// <summary>Outcome of a run: final weights, per-epoch history (including epochs restored from a checkpoint),
/// global steps done, whether it was cancelled, steps/s of this run, async gradients rejected as stale, workers, mode.</summary>
public sealed record TrainingResult(float[][] Weights, IReadOnlyList<EpochLogs> History, long Steps,
    bool Interrupted, double StepsPerSecond, long StaleGradientsRejected, int Workers, string Mode);
