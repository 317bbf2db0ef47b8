using ActorTrainer.Daemon.Cli;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Runtime.Clustering;
using ActorTrainer.Runtime.Remoting;
using Akka.Actor;

namespace ActorTrainer.Daemon.Commands;

/// <summary><c>worker [--config FILE] [--set key=value]...</c>: a worker node of a training cluster. It serves its data
/// plane (worker.workers × worker.threads-per-worker) and joins cluster.seed-nodes with the role `worker`; the
/// coordinator finds it through the cluster and sends it shards. When its cluster membership ends (the coordinator's
/// run ended and it left, the coordinator died and the split-brain resolver downed this node, or it was partitioned
/// away; see WorkerNodeActor) it says why in one line naming the coordinator (<see cref="MembershipEnd"/>), starts a new
/// member and rejoins by itself, so the next or a restarted coordinator gets its workers back: the process ends only on
/// SIGTERM / Ctrl-C, which leave the cluster and exit 0. With
/// worker.backend = cuda the node computes on its GPU (one worker; async jobs only).</summary>
public static class WorkerCommand
{
    /// <summary>Usage text.</summary>
    public const string Usage =
        "worker [--config FILE] [--set key=value]...\n" +
        "  a worker node of a training cluster: joins cluster.seed-nodes and computes shards for the coordinator\n" +
        "  (`train` with cluster.enabled = on) until SIGTERM / Ctrl-C; see config/cluster-worker.conf";

    /// <summary>Usage text of `ps`.</summary>
    public const string PsUsage =
        "ps [--config FILE] [--set key=value]...\n" +
        "  a parameter-server node of a training cluster: joins cluster.seed-nodes and hosts parameter-server slices for a\n" +
        "  coordinator with cluster.ps-nodes >= 1 until SIGTERM / Ctrl-C; see config/cluster-ps.conf";

    private static readonly TimeSpan Rejoin = TimeSpan.FromSeconds(2);

    /// <summary>Runs the node until a signal; returns the exit code. `ps`: a parameter-server node (role ps): it hosts
    /// coordinators' slices (<see cref="SliceHost"/>) and offers no gradient workers.</summary>
    public static int Run(CommandLine cl, SignalGate signals, TextWriter log, bool ps = false)
    {
        var config = ConfigLoader.Load(cl.Get("config"), cl.All("set").ToList());
        string name = ps ? "ps" : "worker";
        var c = ClusterConfig.From(new ConfigReader(config), ps ? RemoteWorkers.PsRole : RemoteWorkers.WorkerRole);
        if (c.Settings.SeedNodes.Length == 0)
            throw new ConfigException($"config: cluster.seed-nodes must name the coordinator for a {(ps ? "parameter-server" : "worker")} node, e.g. [\"{c.Settings.Protocol}://{c.Settings.SystemName}@127.0.0.1:4053\"]");
        void Log(string m) { lock (log) log.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {name}: {m}"); }
        using var claim = signals.ClaimForTraining();
        using var gpu = ps ? null : OpenGpu(new ConfigReader(config), c.NodeWorkers, c.NodeHostsSlices);
        bool slices = ps || c.NodeHostsSlices;
        // the node waits for work between steps and epochs as long as it takes: no read deadline on its side
        var bind = ClusterBinding.Resolve(c.Settings.Hostname);
        using var server = ClusterBinding.DataPlane(c.Settings.Hostname, c.DataPlanePort, () => new WorkerNodeServer(bind, c.DataPlanePort, c.DataPlane with { IoTimeout = null },
            ps ? 0 : c.NodeWorkers, c.NodeThreads, Log, gpu is null ? null : ActorTrainer.Cuda.CudaShardCompute.Exclusive(gpu), gpu is null ? null : SyncRefusal, hostsSlices: slices));
        if (gpu is not null) Log($"computing on {GpuBackend.Describe(gpu)}; async jobs only");
        else if (!ps) StartWarmup(config, c.NodeThreads, Log);
        var info = new WorkerNodeInfo(c.AdvertisedHost, server.Endpoint.Port, Guid.NewGuid().ToString("N"), ps ? 0 : c.NodeWorkers, c.NodeThreads,
            c.DataPlane.MaxFrameBytes, HostsSlices: slices);
        while (!signals.Token.IsCancellationRequested)
        {
            var system = ClusterBinding.CreateNode(c.Settings, config);   // the rendered cluster keys win; akka.* of the config add to them
            var end = new MembershipEnd();
            system.ActorOf(WorkerNodeActor.Props(info, end), WorkerNodeActor.Name);
            Log($"node {Akka.Cluster.Cluster.Get(system).SelfAddress} joining {string.Join(", ", c.Settings.SeedNodes)}; data plane {info.Host}:{info.Port}{(server.UnixSocketPath is { } unix ? $" (from this host: {unix})" : "")}, {(ps ? "parameter-server slices" : $"{info.Workers} worker(s) × {(info.ThreadsPerWorker == 0 ? "default" : info.ThreadsPerWorker)} thread(s){(slices ? " and parameter-server slices" : "")}")}{(c.DataPlane.Tls is null ? "" : ", TLS")}");
            int which = Task.WaitAny(system.WhenTerminated, Task.Delay(Timeout.Infinite, signals.Token).ContinueWith(_ => { }));
            if (which == 0)
            {
                bool downed = CoordinatedShutdown.Get(system).ShutdownReason is CoordinatedShutdown.ClusterDowningReason;
                Log($"{end.Why(downed) ?? "cluster membership ended (the coordinator left or was lost, or this node was downed)"}; rejoining in {Rejoin.TotalSeconds:0} s");
                signals.Token.WaitHandle.WaitOne(Rejoin);
                continue;
            }
            Log("leaving the cluster");
            CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClusterLeavingReason.Instance).Wait(TimeSpan.FromSeconds(10));
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
        }
        Log(ps ? "stopped" : $"stopped after {server.ShardsComputed} shards");
        return ExitCodes.Ok;
    }

    /// <summary>Compiles the node's shard path for the model this node's config describes (reference.conf's model
    /// unless set) on a background thread while the node joins (<see cref="NodeWarmup"/>); best effort: a config that
    /// does not describe a model, or a failure, only skips it.</summary>
    private static void StartWarmup(Akka.Configuration.Config config, int threads, Action<string> log)
    {
        new Thread(() =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                var plan = TrainSettings.From(config).BuildModel().Plan;
                NodeWarmup.Run(plan, WarmupRows, threads, rounds: 40, passes: 4, pause: TimeSpan.FromMilliseconds(250));
                log($"warm-up: compiled the shard path (model of {plan.WeightSizes.Sum(n => (long)n):N0} parameters, {WarmupRows} rows) in {clock.Elapsed.TotalSeconds:0.00} s");
            }
            catch (Exception e) { log($"warm-up skipped ({e.GetType().Name}: {e.Message}); the first shards compile it instead"); }
        }) { IsBackground = true, Name = "ActorTrainer.NodeWarmup", Priority = ThreadPriority.BelowNormal }.Start();
    }

    /// <summary>Rows per warm-up shard: the weak-scaling recipe's per-shard batch.</summary>
    private const int WarmupRows = 128;

    /// <summary>What a GPU node answers a sync job (the coordinator logs it and does not use the node).</summary>
    public const string SyncRefusal =
        "this worker node computes on a GPU (worker.backend = cuda) and takes async jobs only: in a sync run the GPU's shard " +
        "gradients would differ in their last bits from a CPU worker's, so the weights would depend on which node computed " +
        "which shard; train with trainer.mode = async, or start the node with worker.backend = cpu";

    /// <summary>worker.backend: cpu (null) or cuda — the device of trainer.cuda.*, one gradient worker (worker.workers = 1).</summary>
    private static ActorTrainer.Cuda.CudaRuntime? OpenGpu(ConfigReader r, int workers, bool hostsSlices)
    {
        if (r.OneOf("worker.backend", "cpu", "cuda") != "cuda") return null;
        if (hostsSlices)
            throw new ConfigException("config: worker.hosts-slices = on needs worker.backend = cpu (the slices serve sync runs, which a GPU node refuses)");
        if (workers != 1)
            throw new ConfigException($"config: worker.backend = cuda offers the node's GPU as one gradient worker; set worker.workers = 1 (got {workers})");
        try
        {
            return GpuBackend.Open(BackendSettings.Read(r) with { Backend = "cuda" });
        }
        catch (ActorTrainer.Cuda.CudaUnavailableException e)      // a worker node's fallback is its own key
        {
            throw new ActorTrainer.Cuda.CudaUnavailableException(
                e.Message.Replace("trainer.backend = cuda", "worker.backend = cuda")
                    .Replace(ActorTrainer.Cuda.CudaUnavailableException.Fallback, GpuBackend.CpuFallback("worker")), e);
        }
    }
}
