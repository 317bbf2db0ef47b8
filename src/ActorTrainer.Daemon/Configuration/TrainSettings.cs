using Akka.Configuration;
using Akka.Configuration.Hocon;
using ActorTrainer.Core;

namespace ActorTrainer.Daemon.Configuration;

/// <summary>Every setting of a training run, read and range-checked from the layered HOCON config. The model,
/// optimizer, loss and metrics are the Keras JSON node <see cref="KerasConfig"/> (see <see cref="ModelSchema"/>),
/// validated by Core's ModelConfig parser, the same that reads a saved model's config.json. <see cref="Layers"/> are
/// the Core layers that parser constructs (not built: no weights); <see cref="BuildModel"/> makes fresh ones.</summary>
public sealed record TrainSettings(
    int Seed, int Epochs, int BatchSize, bool Shuffle, int ShardsPerBatch, string Runtime, int Workers, string Mode,
    TimeSpan WorkerTimeout, int AsyncPullEvery, int AsyncMaxStaleness, int CheckpointEverySteps, int CheckpointKeep,
    int Verbose, string DataDir, int TrainLimit, int TestLimit, string Validation, double ValidationSplit,
    string ModelName, int[] InputShape, IReadOnlyList<Layer> Layers, string OptimizerType,
    string Loss, IReadOnlyList<string> Metrics, int MetricsPort, bool Plots, bool TensorBoard, int TensorBoardEverySteps,
    bool SaveModel, string LogFormat, System.Text.Json.Nodes.JsonObject KerasConfig, Config Config,
    int PsSlices = 0, int ThreadsPerWorker = 0, string AsyncStaleness = "none",
    int PerShardBatchSize = 0, string LearningRateScaling = "none", double WarmupEpochs = 0, ClusterConfig? Cluster = null,
    BackendSettings? Compute = null)
{
    /// <summary>trainer.backend: "cpu" (the default) or "cuda".</summary>
    public string Backend => Compute?.Backend ?? "cpu";

    /// <summary>Reads and validates every key; throws <see cref="ConfigException"/> naming the first bad key.</summary>
    public static TrainSettings From(Config config)
    {
        var r = new ConfigReader(config);
        var seed = r.Int("trainer.seed");
        var (metricNames, port) = ReadMetrics(config);
        var keras = ModelSchema.ToKerasJson(config, seed, metricNames);
        var spec = ModelSchema.Parse(keras);
        var (optimizer, lossName, metrics) = spec.Compile.Value;
        var loss = ActorTrainer.Core.Loss.Parse(lossName);
        var validation = r.OneOf("data.validation", "test", "split", "none");
        var batch = WeakScaling.Read(r);
        var cluster = ClusterConfig.From(r, ActorTrainer.Runtime.Remoting.SplitBrainSettings.CoordinatorRole);
        var mode = r.OneOf("trainer.mode", "sync", "async");
        int workers = ReadWorkers(r), threadsPerWorker = r.Int("trainer.threads-per-worker", 0), shards = r.Int("trainer.shards-per-batch", 1), psSlices = ReadPsSlices(r);
        var (runtime, compute) = ReadRuntime(r, cluster.Enabled, mode, workers, threadsPerWorker, shards, psSlices);
        var settings = new TrainSettings(
            Seed: seed,
            Epochs: r.Int("trainer.epochs", 1),
            BatchSize: batch.GlobalBatch,
            Shuffle: r.Bool("trainer.shuffle"),
            ShardsPerBatch: shards,
            Runtime: runtime,
            Workers: workers,
            Mode: mode,
            WorkerTimeout: r.Duration("trainer.worker-timeout"),
            AsyncPullEvery: r.Int("trainer.async.pull-every", 1),
            AsyncMaxStaleness: r.Int("trainer.async.max-staleness", 0),
            CheckpointEverySteps: r.Int("trainer.checkpoint.every-steps", 0),
            CheckpointKeep: r.Int("trainer.checkpoint.keep", 1),
            Verbose: r.Int("trainer.verbose", 0, 2),
            DataDir: ReadDataDir(r),
            TrainLimit: r.Int("data.train-limit", 0),
            TestLimit: r.Int("data.test-limit", 0),
            Validation: validation,
            ValidationSplit: r.Double("data.validation-split", 0, 1, exclusiveMin: true, exclusiveMax: true),
            ModelName: spec.Name,
            InputShape: spec.InputShape,
            Layers: spec.Layers,
            OptimizerType: optimizer.Name.ToLowerInvariant(),
            Loss: loss.Name,
            Metrics: metrics.Select(m => Core.Metrics.resolve(loss, m)).Distinct().ToList(),
            MetricsPort: port,
            Plots: r.Bool("output.plots"),
            TensorBoard: r.Bool("output.tensorboard"),
            TensorBoardEverySteps: r.Int("output.tensorboard-every-steps", 0),
            SaveModel: r.Bool("output.save-model"),
            LogFormat: r.OneOf("output.log-format", "text", "json"),
            KerasConfig: keras,
            Config: config,
            PsSlices: psSlices,
            ThreadsPerWorker: threadsPerWorker,
            AsyncStaleness: r.OneOf("trainer.async.staleness", "none", "inverse"),
            PerShardBatchSize: batch.PerShardBatchSize,
            LearningRateScaling: batch.LearningRateScaling,
            WarmupEpochs: batch.WarmupEpochs,
            Cluster: cluster,
            Compute: compute);
        if (cluster is { Enabled: true, Remote.PsNodes: > 0 }) CheckPsNodes(settings);
        return settings;
    }

    /// <summary>cluster.ps-nodes against the other keys (sync mode, no local workers, enough slices): ConfigException
    /// naming them, before anything starts.</summary>
    private static void CheckPsNodes(TrainSettings s)
    {
        try { s.ToRuntimeOptions().Validate(); }
        catch (ArgumentException e)
        {
            throw new ConfigException("config: " + (e.ParamName is { } p ? e.Message.Replace($" (Parameter '{p}')", "") : e.Message));
        }
    }

    /// <summary>trainer.runtime (auto resolved, <see cref="BackendSettings.ResolveRuntime"/>) and trainer.backend, checked
    /// against each other, the cluster and the mode; throws <see cref="ConfigException"/> naming the keys.</summary>
    private static (string Runtime, BackendSettings Compute) ReadRuntime(ConfigReader r, bool clusterEnabled, string mode, int workers,
                                                                         int threadsPerWorker, int shards, int psSlices)
    {
        var backend = BackendSettings.Read(r);
        var runtime = backend.ResolveRuntime(r.OneOf("trainer.runtime", "auto", "actors", "in-process"), clusterEnabled, mode,
                                             workers, threadsPerWorker, shards, psSlices, Environment.ProcessorCount);
        var compute = backend.CheckRuntime(runtime, clusterEnabled, r.String("trainer.workers"), mode);
        if (clusterEnabled && runtime != "actors")
            throw new ConfigException($"config: cluster.enabled = on trains on the actor runtime; set trainer.runtime = actors or auto (got '{runtime}')");
        if (mode == "async" && runtime == "in-process")
            throw new ConfigException("config: trainer.mode = async needs trainer.runtime = actors (asynchronous workers and a parameter server); the in-process runtime trains synchronously — set trainer.mode = sync or trainer.runtime = actors");
        return (runtime, compute);
    }

    /// <summary>The GPU backend's options (trainer.cuda.* keys; the defaults when the record was built without them).</summary>
    public ActorTrainer.Cuda.CudaOptions ToCudaOptions() => Compute?.Cuda ?? new ActorTrainer.Cuda.CudaOptions();

    /// <summary>Gradient workers this process runs: 1 in-process; on the actor runtime one GPU worker plus
    /// trainer.cuda.cpu-workers with trainer.backend = cuda, else the layout's workers.</summary>
    public int LocalWorkers =>
        Runtime != "actors" ? 1 : Backend == "cuda" ? 1 + (Compute?.CpuWorkers ?? 0) : ToRuntimeOptions().EffectiveWorkers;

    /// <summary>Where the steps of a CPU run go, for the log: in-process "S shards per step, min(S, T) side by side on T
    /// threads" (T: the kernel threads); on the actor runtime "W workers x T threads, N parameter-server slices" (the
    /// layout of <see cref="ToRuntimeOptions"/>); null for a GPU run and a cluster coordinator, which log their own.</summary>
    public string? DescribeLayout(int[] weightSizes)
    {
        if (Backend != "cpu" || Cluster is { Enabled: true }) return null;
        if (Runtime == "actors")
        {
            var o = ToRuntimeOptions();
            int slices = o.SliceLayout(weightSizes).Count;
            return $"{o.Layout}, {slices} parameter-server slice{(slices == 1 ? "" : "s")}";
        }
        int threads = ActorTrainer.Kernels.KernelSettings.MaxDegreeOfParallelism, shards = Math.Max(1, ShardsPerBatch);
        int lanes = ActorTrainer.Core.SyncStepper.Lanes(shards, threads);
        string t = threads == 1 ? "1 thread" : $"{threads} threads";
        return shards == 1 ? $"1 shard per step on {t}"
            : lanes == 1 ? $"{shards} shards per step, one after another on {t}"
            : $"{shards} shards per step, {lanes} side by side on {t}";
    }

    /// <summary>The actor runtime's options (trainer.* keys); with an opened GPU backend, one GPU gradient worker (plus
    /// trainer.cuda.cpu-workers CPU workers with trainer.threads-per-worker threads, at least 1).</summary>
    public ActorTrainer.Runtime.RuntimeOptions ToRuntimeOptions(ActorTrainer.Cuda.CudaRuntime? gpu = null) =>
        new(gpu is null ? Workers : LocalWorkers, Mode, ShardsPerBatch, AsyncPullEvery, AsyncMaxStaleness, WorkerTimeout, CheckpointEverySteps, CheckpointKeep,
            PsSlices: PsSlices, ThreadsPerWorker: gpu is null ? ThreadsPerWorker : Math.Max(1, ThreadsPerWorker), Staleness: ActorTrainer.Runtime.StalenessPolicies.Parse(AsyncStaleness),
            Remote: Cluster is { Enabled: true } c ? c.Remote : null,
            LocalCompute: gpu is null ? null : ActorTrainer.Cuda.CudaShardCompute.Factory(gpu));

    /// <summary>trainer.ps-slices: an integer in [0, ParameterSlices.MaxSlices] (0 = auto); more slices would make each step's
    /// all-to-all vote of the slices (slices² messages) take minutes.</summary>
    private static int ReadPsSlices(ConfigReader r)
    {
        int n = r.Int("trainer.ps-slices", 0);
        const int max = ActorTrainer.Runtime.ParameterSlices.MaxSlices;
        if (n > max)
            throw new ConfigException($"config: trainer.ps-slices = {n} is above its limit of {max}: the slices vote with each other every " +
                                      $"step (slices² messages), so {n} slices would take minutes per step; use 0 (auto: one per core) or at most {max}");
        return n;
    }

    /// <summary>data.dir: "" is the bundled MNIST; blanks only (`" "`, which HOCON reads as "") are refused, not taken
    /// for the bundled copy.</summary>
    private static string ReadDataDir(ConfigReader r)
    {
        var dir = r.String("data.dir");
        if (BlankValues.IsBlank(r.Config, "data.dir"))
            throw new ConfigException("config: data.dir is blank (white space only); give the directory of the four MNIST-format IDX files, " +
                                      "or \"\" for the bundled MNIST");
        return dir;
    }

    /// <summary>trainer.workers: "auto" (RuntimeOptions.AutoWorkers) or an integer >= 0.</summary>
    private static int ReadWorkers(ConfigReader r)
    {
        var raw = r.String("trainer.workers").Trim();
        if (raw.Equals("auto", StringComparison.OrdinalIgnoreCase)) return ActorTrainer.Runtime.RuntimeOptions.AutoWorkers;
        return IntegerValue.TryParse(raw, out int n) && n >= 0
            ? n : throw new ConfigException($"config: trainer.workers must be 'auto' or an integer >= 0 (0 = one per core), got '{raw}'");
    }

    /// <summary>The metric names (a list, or <c>metrics.names</c> of the object form; null = [accuracy] when the object
    /// has no names; [] = none) and <c>metrics.port</c>. Names are checked against the loss by Core.</summary>
    private static (IList<HoconValue>?, int) ReadMetrics(Config config)
    {
        var v = config.GetValue("metrics");
        if (v is not null && v.IsArray()) return (v.GetArray(), 0);
        if (ConfigLoader.IsEmptyList(v)) return ([], 0);
        if (v is null || !v.IsObject())
            throw new ConfigException($"config: metrics must be a list such as [accuracy] or [] or an object {{ names = [accuracy], port = 9100 }}, got '{v?.GetString()}'");
        var o = v.GetObject().Items;
        var port = 0;
        if (o.TryGetValue("port", out var p) && (!IntegerValue.TryParse(p.GetString(), out port) || port < 0 || port > 65535))
            throw new ConfigException($"config: metrics.port must be an integer in [0, 65535] (0 = off), got '{p.GetString()}'");
        if (!o.TryGetValue("names", out var n)) return (null, port);
        if (ConfigLoader.IsEmptyList(n)) return ([], port);
        return n.IsArray() ? (n.GetArray(), port) : throw new ConfigException($"config: metrics.names must be a list such as [accuracy] or [], got '{n.GetString()}'");
    }

    /// <summary>The training engine's plan of the model (what <c>Sequential.Plan</c> gives once it is built) from the
    /// unbuilt <see cref="Layers"/>: sizes only (the frames a cluster sends), no weights made.</summary>
    public ModelPlan PlanOfLayers()
    {
        var shape = InputShape;
        var layers = new List<PlanLayer>();
        foreach (var layer in Layers)
        {
            if (!layer.IdentityOnFlatRows) layers.Add(layer.Plan(shape));
            shape = layer.ComputeOutputShape(shape);
        }
        return new ModelPlan(InputShape.Aggregate(1, (a, b) => a * b), layers.ToArray(), ActorTrainer.Core.Loss.Parse(Loss));
    }

    /// <summary>The Keras Sequential model these settings describe, built (weights initialised from the seed) and
    /// compiled: fresh layers and optimizer from <see cref="KerasConfig"/> on every call, as Sequential.Load does.</summary>
    public Sequential BuildModel()
    {
        var spec = ModelSchema.Parse(KerasConfig);
        var model = new Sequential(spec.Layers, spec.Name, spec.InputShape, spec.Seed);
        model.Build(spec.InputShape);
        var (optimizer, loss, metrics) = spec.Compile.Value;
        model.Compile(optimizer, loss, metrics);
        return model;
    }
}
