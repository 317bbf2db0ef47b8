using ActorTrainer.Core;

namespace ActorTrainer.Runtime;

/// <summary>A training run: plan, initial weights (in plan.WeightShapes order; not modified), optimizer (its
/// state is advanced by the run), data, schedule and runtime options; Resume continues from a checkpoint.</summary>
/// <param name="Plan">The compiled model.</param>
/// <param name="InitialWeights">Starting weights in Plan.WeightShapes order, each flat float32 row-major (copied, not modified).</param>
/// <param name="Optimizer">The optimizer; its iterations and slots advance with the run.</param>
/// <param name="Train">The training data.</param>
/// <param name="Validation">Data evaluated at every epoch end (val_loss, val_accuracy), or null.</param>
/// <param name="Epochs">Epochs to train in total (a resumed run continues up to this count).</param>
/// <param name="BatchSize">Samples per optimizer step.</param>
/// <param name="Seed">Seed of shuffling and dropout.</param>
/// <param name="Shuffle">Reshuffle the samples every epoch (seeded by Seed and epoch).</param>
/// <param name="Options">How the runtime runs: workers, mode, checkpoints, cluster.</param>
/// <param name="ConfigText">The run's configuration text, stored in each checkpoint (the daemon compares it on resume).</param>
/// <param name="Resume">Continue from this checkpoint (null = start fresh).</param>
public sealed record TrainingJob(ModelPlan Plan, float[][] InitialWeights, Optimizer Optimizer, ArrayData Train,
    ArrayData? Validation, int Epochs, int BatchSize, int Seed, bool Shuffle, RuntimeOptions Options,
    string ConfigText, CheckpointState? Resume = null);

/// <summary>Outcome of a run: final weights, per-epoch history (including epochs restored from a checkpoint),
/// global steps done, whether it was cancelled, steps/s of this run, async gradients rejected as stale, workers, mode.</summary>
/// <param name="Weights">The final weights in Plan.WeightShapes order, each flat float32 row-major.</param>
/// <param name="History">Logs of every finished epoch, in order, those restored from a checkpoint included.</param>
/// <param name="Steps">Optimizer steps applied in total (global steps, a resumed run's earlier ones included).</param>
/// <param name="Interrupted">True when cancellation stopped the run before its last epoch finished.</param>
/// <param name="StepsPerSecond">Steps of this run per wall-clock second of this run.</param>
/// <param name="StaleGradientsRejected">Async gradients rejected as too stale (0 in sync mode).</param>
/// <param name="Workers">Gradient workers started.</param>
/// <param name="Mode">The run's mode, "sync" or "async".</param>
public sealed record TrainingResult(float[][] Weights, IReadOnlyList<EpochLogs> History, long Steps,
    bool Interrupted, double StepsPerSecond, long StaleGradientsRejected, int Workers, string Mode);
