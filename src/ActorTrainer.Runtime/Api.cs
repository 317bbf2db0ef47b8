using ActorTrainer.Core;

namespace ActorTrainer.Runtime;

/// <summary>Training samples: X is Count×Features row-major; Labels (Count class ids) for sparse losses,
/// Targets (Count×OutputDim row-major) for the others.</summary>
public sealed record TrainingData(float[] X, int[]? Labels, float[]? Targets, int Count, int Features);

/// <summary>Fault injection for tests: the work item handed out with 0-based dispatch index ThrowOnShard makes its
/// worker throw, on its first ThrowTimes dispatches (default once; a run fails once an item failed 4 times); the
/// dispatch with index SleepOnShard makes its worker sleep SleepFor (default 2 s) once before answering.
/// -1 disables a fault. FailWorkerStart makes every gradient worker's constructor throw (a worker that cannot start
/// stops the run instead of being restarted forever).</summary>
public sealed record FaultInjection(int ThrowOnShard = -1, int SleepOnShard = -1, TimeSpan? SleepFor = null, int ThrowTimes = 1,
    bool FailWorkerStart = false)
{
    /// <summary>The sleep of the SleepOnShard fault (default 2 s).</summary>
    public TimeSpan EffectiveSleep => SleepFor ?? TimeSpan.FromSeconds(2);
}

/// <summary>Runtime options (config keys trainer.*). Workers = 0 means Environment.ProcessorCount;
/// WorkerTimeout defaults to 30 s; CheckpointEverySteps = 0 writes checkpoints only at epoch ends.</summary>
public sealed record RuntimeOptions(int Workers = 0, string Mode = "sync", int ShardsPerBatch = 4,
    int AsyncPullEvery = 1, int AsyncMaxStaleness = 4, TimeSpan? WorkerTimeout = null,
    int CheckpointEverySteps = 0, int CheckpointKeep = 3, string? CheckpointDir = null,
    FaultInjection? Faults = null)
{
    /// <summary>Number of gradient workers actually started (Workers, or the core count when 0).</summary>
    public int EffectiveWorkers => Workers == 0 ? Environment.ProcessorCount : Workers;

    /// <summary>The worker timeout actually used (30 s when unset).</summary>
    public TimeSpan EffectiveWorkerTimeout => WorkerTimeout ?? TimeSpan.FromSeconds(30);

    /// <summary>True for Mode = "async" (Downpour), false for "sync".</summary>
    public bool IsAsync => string.Equals(Mode, "async", StringComparison.Ordinal);

    /// <summary>Throws ArgumentException naming the config key of the first invalid option.</summary>
    public void Validate()
    {
        if (Workers < 0) throw new ArgumentException($"trainer.workers must be >= 0 (0 = number of cores), got {Workers}", nameof(Workers));
        if (Mode is not ("sync" or "async")) throw new ArgumentException($"trainer.mode must be 'sync' or 'async', got '{Mode}'", nameof(Mode));
        if (ShardsPerBatch < 1) throw new ArgumentException($"trainer.shards-per-batch must be >= 1, got {ShardsPerBatch}", nameof(ShardsPerBatch));
        if (AsyncPullEvery < 1) throw new ArgumentException($"trainer.async.pull-every must be >= 1, got {AsyncPullEvery}", nameof(AsyncPullEvery));
        if (AsyncMaxStaleness < 0) throw new ArgumentException($"trainer.async.max-staleness must be >= 0, got {AsyncMaxStaleness}", nameof(AsyncMaxStaleness));
        if (WorkerTimeout is { } t && t <= TimeSpan.Zero) throw new ArgumentException($"trainer.worker-timeout must be > 0, got {t}", nameof(WorkerTimeout));
        if (CheckpointEverySteps < 0) throw new ArgumentException($"trainer.checkpoint.every-steps must be >= 0 (0 = epoch ends only), got {CheckpointEverySteps}", nameof(CheckpointEverySteps));
        if (CheckpointKeep < 1) throw new ArgumentException($"trainer.checkpoint.keep must be >= 1, got {CheckpointKeep}", nameof(CheckpointKeep));
        if (CheckpointDir is not null && string.IsNullOrWhiteSpace(CheckpointDir)) throw new ArgumentException("trainer.checkpoint.dir must be a non-empty path when set", nameof(CheckpointDir));
        if (Faults is { SleepFor: { } s } && s < TimeSpan.Zero) throw new ArgumentException($"fault injection SleepFor must be >= 0, got {s}", nameof(Faults));
        if (Faults is { ThrowTimes: < 1 } f) throw new ArgumentException($"fault injection ThrowTimes must be >= 1, got {f.ThrowTimes}", nameof(Faults));
    }
}

/// <summary>A training run: plan, initial weights (in plan.WeightShapes order; not modified), optimizer (its
/// state is advanced by the run), data, schedule and runtime options; Resume continues from a checkpoint.</summary>
public sealed record TrainingJob(ModelPlan Plan, float[][] InitialWeights, Optimizer Optimizer, TrainingData Train,
    TrainingData? Validation, int Epochs, int BatchSize, int Seed, bool Shuffle, RuntimeOptions Options,
    string ConfigText, CheckpointState? Resume = null);

/// <summary>Metrics of one epoch (Epoch is 0-based): mean training loss and accuracy over the epoch's samples,
/// validation metrics when validation data was given, wall-clock seconds.</summary>
public sealed record EpochLogs(int Epoch, double Loss, double Accuracy, double? ValLoss, double? ValAccuracy, double Seconds);

/// <summary>Receives training progress (called on the coordinator's thread, one call at a time; epochs and steps are 0-based).</summary>
public interface ITrainingObserver
{
    /// <summary>An epoch starts (stepsInEpoch = ⌈N / batch⌉).</summary>
    void OnEpochBegin(int epoch, int stepsInEpoch);
    /// <summary>A step finished; stepInEpoch is its 0-based index; running mean loss and accuracy of the epoch.</summary>
    void OnBatchEnd(int epoch, int stepInEpoch, double epochLossSoFar, double epochAccuracySoFar);
    /// <summary>An epoch finished; weights is a copy the observer may keep.</summary>
    void OnEpochEnd(EpochLogs logs, float[][] weights);
    /// <summary>When true at an epoch end, training finishes cleanly (e.g. EarlyStopping).</summary>
    bool StopRequested { get; }
}

/// <summary>An observer that ignores everything.</summary>
public sealed class NullTrainingObserver : ITrainingObserver
{
    /// <summary>The shared instance.</summary>
    public static readonly NullTrainingObserver Instance = new();
    /// <inheritdoc/>
    public void OnEpochBegin(int epoch, int stepsInEpoch) { }
    /// <inheritdoc/>
    public void OnBatchEnd(int epoch, int stepInEpoch, double epochLossSoFar, double epochAccuracySoFar) { }
    /// <inheritdoc/>
    public void OnEpochEnd(EpochLogs logs, float[][] weights) { }
    /// <inheritdoc/>
    public bool StopRequested => false;
}

/// <summary>Outcome of a run: final weights, per-epoch history (including epochs restored from a checkpoint),
/// global steps done, whether it was cancelled, steps/s of this run, async gradients rejected as stale.</summary>
public sealed record TrainingResult(float[][] Weights, IReadOnlyList<EpochLogs> History, long Steps,
    bool Interrupted, double StepsPerSecond, long StaleGradientsRejected, int Workers, string Mode);

/// <summary>A batch produced a non-finite loss or gradient; training stopped before applying it
/// (the last checkpoint written is the last good state).</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception for (0-based) epoch and global step.</summary>
    public TrainingDivergedException(int epoch, long step, int stepInEpoch, string what)
        : base($"training diverged at epoch {epoch}, step {stepInEpoch} of the epoch (global step {step}; 0-based): {what}")
    {
        Epoch = epoch;
        Step = step;
        StepInEpoch = stepInEpoch;
    }

    /// <summary>0-based epoch of the bad batch.</summary>
    public int Epoch { get; }
    /// <summary>Global step of the bad batch.</summary>
    public long Step { get; }
    /// <summary>0-based step within the epoch of the bad batch.</summary>
    public int StepInEpoch { get; }
}

/// <summary>A worker failed the same work item repeatedly (a deterministic error such as bad data).</summary>
public sealed class WorkerFailedException : Exception
{
    /// <summary>Creates the exception for a work item.</summary>
    public WorkerFailedException(long step, int shard, int attempts, string error)
        : base($"gradient worker failed {attempts} times on global step {step}, shard {shard}: {error}") { }
}
