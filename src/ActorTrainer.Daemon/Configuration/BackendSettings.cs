using ActorTrainer.Cuda;

namespace ActorTrainer.Daemon.Configuration;

/// <summary>Where the math runs: <c>trainer.backend</c> (cpu | cuda) and the GPU backend's <c>trainer.cuda.*</c> keys.
/// Read by <c>train</c> (through <see cref="TrainSettings"/>) and by <c>evaluate</c> / <c>predict</c>, which accept
/// only these keys with <c>--set</c> (<see cref="FromSets"/>).</summary>
/// <param name="Backend">trainer.backend: "cpu" or "cuda".</param>
/// <param name="Cuda">trainer.cuda.accelerator, trainer.cuda.device and trainer.cuda.tf32 (used when Backend is cuda).</param>
/// <param name="CpuWorkers">trainer.cuda.cpu-workers: CPU gradient workers next to the GPU worker on the actor runtime (async only).</param>
public sealed record BackendSettings(string Backend, CudaOptions Cuda, int CpuWorkers = 0)
{
    /// <summary>The keys of this record, the only ones <c>evaluate</c> and <c>predict</c> take with <c>--set</c>.</summary>
    public static readonly string[] Keys = ["trainer.backend", "trainer.cuda.accelerator", "trainer.cuda.device", "trainer.cuda.tf32"];

    /// <summary>True when trainer.backend = cuda.</summary>
    public bool IsCuda => Backend == "cuda";

    /// <summary>Reads and range-checks the keys; throws <see cref="ConfigException"/> naming the first bad key.</summary>
    public static BackendSettings Read(ConfigReader r)
    {
        var backend = r.OneOf("trainer.backend", "cpu", "cuda");
        var accelerator = CudaOptions.ParseAccelerator(r.OneOf("trainer.cuda.accelerator", "cuda", "cpu"));
        var device = r.Int("trainer.cuda.device", 0);
        var tf32 = r.Bool("trainer.cuda.tf32");
        var cpuWorkers = r.Int("trainer.cuda.cpu-workers", 0);
        return new BackendSettings(backend, new CudaOptions(accelerator, device, tf32), cpuWorkers);
    }

    /// <summary>trainer.runtime resolved: "auto" is "in-process" in sync mode without a cluster when the GPU trains
    /// alone (trainer.backend = cuda, no trainer.cuda.cpu-workers: the whole step stays on the device, 25–50× faster
    /// than a GPU worker behind the actor runtime) or when the CPU's worker layout (trainer.workers = auto,
    /// <see cref="ActorTrainer.Runtime.WorkerLayout.Choose"/>; trainer.ps-slices = 0) is the in-process executor's own
    /// partition of a step (<see cref="InProcessPartition"/>): then the actors compute exactly what its lanes compute and
    /// add only their hand-overs (README's `train` on the actor runtime took 1.09–1.11× the in-process time on the
    /// 2-core Xeon VM, 1.00–1.04× on the Zen 5 VM and 1.23× on one core; with one shard per batch, 1 worker × 2 threads,
    /// 1.46×; bench/RESULTS.md 2026-12-05); else "actors" (a worker count or trainer.ps-slices asked for, async, a
    /// cluster, or a layout the lanes do not give, e.g. 2 workers × 8 threads for 2 shards on 16 cores). "actors" and
    /// "in-process" stay as they are. `workers`: trainer.workers parsed (RuntimeOptions.AutoWorkers for auto); `cores`:
    /// the process's CPU count (Environment.ProcessorCount).</summary>
    public string ResolveRuntime(string configured, bool clusterEnabled, string mode, int workers, int threadsPerWorker,
                                 int shardsPerBatch, int psSlices, int cores) =>
        configured != "auto" ? configured
        : clusterEnabled || mode != "sync" ? "actors"
        : IsCuda ? (CpuWorkers == 0 ? "in-process" : "actors")
        : workers == ActorTrainer.Runtime.RuntimeOptions.AutoWorkers && psSlices == 0
          && ActorTrainer.Runtime.WorkerLayout.Choose(cores, workers, threadsPerWorker, shardsPerBatch, async: false) == InProcessPartition(shardsPerBatch, cores)
            ? "in-process"
        : "actors";

    /// <summary>How the in-process executor spreads a step over `cores` kernel threads, as a worker layout
    /// (<see cref="ActorTrainer.Core.SyncStepper.Lanes"/>): 2 or more shards on 2 or more cores run min(shards, cores) at a
    /// time, one per thread with single-threaded kernels; otherwise the shards run one after another with GEMMs on all
    /// the threads.</summary>
    public static ActorTrainer.Runtime.WorkerLayout InProcessPartition(int shardsPerBatch, int cores)
    {
        int lanes = ActorTrainer.Core.SyncStepper.Lanes(shardsPerBatch, cores);
        return lanes >= 2 ? new(lanes, 1) : new(1, Math.Max(1, cores));
    }

    /// <summary>Where the GPU backend can train: in-process (the whole step on the device) or on the actor runtime with
    /// one GPU gradient worker per device (trainer.workers must be auto or 1); not yet as a cluster coordinator, whose
    /// remote CPU workers would compute shards with other bits than the GPU's. Throws <see cref="ConfigException"/>
    /// naming the keys; returns these settings.</summary>
    public BackendSettings CheckRuntime(string runtime, bool clusterEnabled, string workers, string mode)
    {
        if (!IsCuda) return this;
        if (clusterEnabled)
            throw new ConfigException("config: trainer.backend = cuda cannot be combined with cluster.enabled = on yet (a sync run would mix " +
                                      "GPU and CPU shard gradients); turn cluster.enabled off (trainer.runtime = in-process or actors), or use trainer.backend = cpu");
        var w = workers.Trim();
        if (runtime == "actors" && !(w.Equals("auto", StringComparison.OrdinalIgnoreCase) || w == "1"))
            throw new ConfigException($"config: trainer.backend = cuda on trainer.runtime = actors runs one GPU gradient worker per device (plus " +
                                      $"trainer.cuda.cpu-workers CPU workers in async mode); set trainer.workers = auto or 1 (got '{w}'), or " +
                                      "trainer.runtime = in-process (the whole step on the device)");
        if (CpuWorkers > 0 && (runtime != "actors" || mode != "async"))
            throw new ConfigException($"config: trainer.cuda.cpu-workers = {CpuWorkers} adds CPU gradient workers next to the GPU worker, which needs " +
                                      $"trainer.runtime = actors and trainer.mode = async (got {runtime}, {mode}): in sync mode the GPU's and the CPU's " +
                                      "shard gradients would differ in their last bits from run to run");
        return this;
    }

    /// <summary>The backend of <c>evaluate</c> / <c>predict</c> from their <c>--set key=value</c> options (layered on
    /// reference.conf). A key train reads but these commands do not is refused naming it and the keys they take.</summary>
    public static BackendSettings FromSets(string command, IReadOnlyList<string> sets)
    {
        var config = ConfigLoader.LoadText(null, "", sets);       // unknown keys and bad syntax: its errors
        foreach (var set in sets)
        {
            var key = SetOption.Split(set).Key;
            if (Array.IndexOf(Keys, key) < 0)
                throw new ConfigException($"{command}: --set {set}: {command} does not read '{key}' (it takes only {string.Join(", ", Keys)})");
        }
        return Read(new ConfigReader(config));
    }
}
