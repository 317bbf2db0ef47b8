using ActorTrainer.Core;

namespace ActorTrainer.Runtime;

/// <summary>Runtime options (config keys trainer.*). Workers = AutoWorkers (−1, the default) lets
/// <see cref="WorkerLayout"/> choose workers × threads per worker, 0 means Environment.ProcessorCount; ThreadsPerWorker = 0 is the layout's choice;
/// PsSlices = 0 is ParameterSlices.Auto. ShardsPerBatch defaults to Batching.DefaultShardsPerBatch (the one default of
/// fit and the config); WorkerTimeout defaults to 30 s; CheckpointEverySteps = 0 writes checkpoints only at epoch ends.
/// Remote (config cluster.*): also use the gradient workers of the cluster's worker nodes (the ActorSystem must be a
/// cluster member). LocalCompute: how local workers compute their shards (null: the CPU GradientEngine; the GPU
/// backend's factory makes GPU workers).</summary>
/// <param name="Workers">Gradient workers (trainer.workers): AutoWorkers (−1, default) lets the layout choose, 0 = one per core, n = n.</param>
/// <param name="Mode">"sync" (default: each batch's shard gradients summed into one step) or "async" (Downpour) (trainer.mode).</param>
/// <param name="ShardsPerBatch">Fixed split of each batch for the gradient sum (trainer.shards-per-batch, ≥ 1; part of the determinism contract).</param>
/// <param name="AsyncPullEvery">Async: a worker pulls fresh weights after every this many batches it computed (trainer.async.pull-every, default 1).</param>
/// <param name="AsyncMaxStaleness">Async: a gradient computed on weights more than this many versions old is rejected (trainer.async.max-staleness, default 4).</param>
/// <param name="WorkerTimeout">A work item not answered within this is handed to another worker (trainer.worker-timeout; null = 30 s).</param>
/// <param name="CheckpointEverySteps">Also checkpoint every this many global steps (trainer.checkpoint.every-steps; 0 = epoch ends only).</param>
/// <param name="CheckpointKeep">Newest checkpoints kept in CheckpointDir (trainer.checkpoint.keep, ≥ 1, default 3).</param>
/// <param name="CheckpointDir">Directory the run writes its checkpoints into (trainer.checkpoint.dir; null = no checkpoints).</param>
/// <param name="Faults">Fault injection for tests (null = none).</param>
/// <param name="PsSlices">Parameter-server slices (trainer.ps-slices; 0 = ParameterSlices.Auto).</param>
/// <param name="ThreadsPerWorker">GEMM threads of each gradient worker (trainer.threads-per-worker; 0 = the layout's choice).</param>
/// <param name="Staleness">Async: the learning-rate factor of a stale gradient (trainer.async.staleness; default None = full rate).</param>
/// <param name="Remote">Also use the gradient workers of the cluster's worker nodes (config cluster.*; null = this process only).</param>
/// <param name="LocalCompute">How local workers compute their shards (null = the CPU GradientEngine; the GPU backend's factory makes GPU workers).</param>
public sealed record RuntimeOptions(int Workers = RuntimeOptions.AutoWorkers, string Mode = "sync", int ShardsPerBatch = Batching.DefaultShardsPerBatch,
    int AsyncPullEvery = 1, int AsyncMaxStaleness = 4, TimeSpan? WorkerTimeout = null,
    int CheckpointEverySteps = 0, int CheckpointKeep = 3, string? CheckpointDir = null,
    FaultInjection? Faults = null, int PsSlices = 0, int ThreadsPerWorker = 0, StalenessPolicy Staleness = StalenessPolicy.None,
    Clustering.RemoteWorkers? Remote = null, ShardComputeFactory? LocalCompute = null)
{
    /// <summary>Workers value meaning "choose workers and threads per worker from the cores" (config: auto).</summary>
    public const int AutoWorkers = -1;

    /// <summary>Workers and GEMM threads per worker actually used on this machine (see <see cref="WorkerLayout"/>).</summary>
    public WorkerLayout Layout => WorkerLayout.Choose(Environment.ProcessorCount, Workers, ThreadsPerWorker, ShardsPerBatch, IsAsync);

    /// <summary>Number of gradient workers actually started.</summary>
    public int EffectiveWorkers => Layout.Workers;

    /// <summary>The worker timeout actually used (30 s when unset).</summary>
    public TimeSpan EffectiveWorkerTimeout => WorkerTimeout ?? TimeSpan.FromSeconds(30);

    /// <summary>True for Mode = "async" (Downpour), false for "sync".</summary>
    public bool IsAsync => string.Equals(Mode, "async", StringComparison.Ordinal);

    /// <summary>Parameter-server slices for a model of `parameters` elements (PsSlices, or the auto rule when 0; with
    /// cluster.ps-nodes at least one per ps node).</summary>
    public int EffectivePsSlices(long parameters) => PsSlices > 0 ? PsSlices
        : Math.Max(ParameterSlices.Auto(Environment.ProcessorCount, parameters), Math.Min(Remote?.PsNodes ?? 0, ParameterSlices.MaxSlices));

    /// <summary>Threads each in-process parameter-server slice may update its range on: a sync run's local workers'
    /// GEMM threads per worker (idle, their kernel helpers still spinning, while the slices fold and update), else 1
    /// (async workers keep computing beside the updates; without local workers no helpers are warm). A slice then
    /// updates in Optimizer.UpdateParts(its length, these threads) parts.</summary>
    public int SliceUpdateThreads => IsAsync || Remote is { LocalWorkers: false } ? 1 : Layout.ThreadsPerWorker;

    /// <summary>The parameter-server layout for weight tensors of these element counts.</summary>
    public ParameterSlices SliceLayout(int[] sizes) => ParameterSlices.Split(sizes, EffectivePsSlices(sizes.Sum(n => (long)n)));

    /// <summary>Throws ArgumentException naming the config key of the first invalid option.</summary>
    public void Validate()
    {
        if (Workers < AutoWorkers) throw new ArgumentException($"trainer.workers must be 'auto' or an integer >= 0 (0 = number of cores), got {Workers}", nameof(Workers));
        if (ThreadsPerWorker < 0) throw new ArgumentException($"trainer.threads-per-worker must be >= 0 (0 = auto), got {ThreadsPerWorker}", nameof(ThreadsPerWorker));
        if (PsSlices < 0) throw new ArgumentException($"trainer.ps-slices must be >= 0 (0 = auto), got {PsSlices}", nameof(PsSlices));
        if (PsSlices > ParameterSlices.MaxSlices)
            throw new ArgumentException($"trainer.ps-slices must be at most {ParameterSlices.MaxSlices}, got {PsSlices}", nameof(PsSlices));
        if (!Enum.IsDefined(Staleness)) throw new ArgumentException($"trainer.async.staleness must be 'none' or 'inverse', got {Staleness}", nameof(Staleness));
        if (Mode is not ("sync" or "async")) throw new ArgumentException($"trainer.mode must be 'sync' or 'async', got '{Mode}'", nameof(Mode));
        if (ShardsPerBatch < 1) throw new ArgumentException($"trainer.shards-per-batch must be >= 1, got {ShardsPerBatch}", nameof(ShardsPerBatch));
        if (AsyncPullEvery < 1) throw new ArgumentException($"trainer.async.pull-every must be >= 1, got {AsyncPullEvery}", nameof(AsyncPullEvery));
        if (AsyncMaxStaleness < 0) throw new ArgumentException($"trainer.async.max-staleness must be >= 0, got {AsyncMaxStaleness}", nameof(AsyncMaxStaleness));
        if (WorkerTimeout is { } t && t <= TimeSpan.Zero) throw new ArgumentException($"trainer.worker-timeout must be > 0, got {t}", nameof(WorkerTimeout));
        if (CheckpointEverySteps < 0) throw new ArgumentException($"trainer.checkpoint.every-steps must be >= 0 (0 = epoch ends only), got {CheckpointEverySteps}", nameof(CheckpointEverySteps));
        if (CheckpointKeep < 1) throw new ArgumentException($"trainer.checkpoint.keep must be >= 1, got {CheckpointKeep}", nameof(CheckpointKeep));
        if (CheckpointDir is not null && string.IsNullOrWhiteSpace(CheckpointDir)) throw new ArgumentException("trainer.checkpoint.dir must be a non-empty path when set", nameof(CheckpointDir));
        if (Faults is { SleepFor: { } s } && s < TimeSpan.Zero) throw new ArgumentException($"fault injection SleepFor must be >= 0, got {s}", nameof(Faults));
        Remote?.Validate();
        if (Remote is { PsNodes: > 0 } ps)
        {
            if (IsAsync) throw new ArgumentException($"cluster.ps-nodes = {ps.PsNodes} serves sync runs only (trainer.mode = sync): an async worker pulls the whole weights through the coordinator", nameof(Remote));
            if (ps.LocalWorkers) throw new ArgumentException($"cluster.ps-nodes = {ps.PsNodes}: the coordinator's own gradient workers would send every gradient through its link; set trainer.workers = 0 (cluster.local-workers = off)", nameof(Remote));
            if (PsSlices > 0 && PsSlices < ps.PsNodes) throw new ArgumentException($"trainer.ps-slices = {PsSlices} is fewer than cluster.ps-nodes = {ps.PsNodes}: each ps node hosts at least one slice", nameof(PsSlices));
        }
        if (Faults is { ThrowTimes: < 1 } f) throw new ArgumentException($"fault injection ThrowTimes must be >= 1, got {f.ThrowTimes}", nameof(Faults));
    }
}
