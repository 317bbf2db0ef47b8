using ActorTrainer.Core;
using Akka.Actor;
using Akka.Hosting;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Runtime;
using ActorTrainer.Runtime.Remoting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorTrainer.Daemon.Commands;

/// <summary>A host lifetime that leaves signals to the trainer's own cancellation token.</summary>
internal sealed class TrainerLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>The actor runtime of a `train` run: a generic host with the ActorSystem (Akka.Hosting, the run's akka
/// config, Akka's logs through Microsoft.Extensions.Logging) and the step runtime fit uses on it. A local runtime's host
/// starts on a thread-pool thread as soon as the settings are known (<see cref="Begin"/>), so that starting the
/// ActorSystem overlaps loading the data and building the model; <see cref="Attach"/> waits for it.</summary>
public sealed class ActorHost : IDisposable
{
    private readonly TrainSettings _settings;
    private readonly ILoggerFactory _logs;
    private readonly Task<IHost>? _starting;
    private ActorSystem? _clusterSystem;
    private ActorStepRuntime? _runtime;
    private volatile bool _attached;     // a run has its runtime: a warm-up not yet begun is skipped

    private ActorHost(TrainSettings settings, ILoggerFactory logs, Task<IHost>? starting)
    {
        _settings = settings;
        _logs = logs;
        _starting = starting;
    }

    /// <summary>Begins starting the runtime for the settings' trainer.* options: a local host starts now in the
    /// background; a cluster coordinator (cluster.enabled) starts in <see cref="Attach"/>.</summary>
    public static ActorHost Begin(TrainSettings s, ILoggerFactory loggerFactory) =>
        new(s, loggerFactory, s.Cluster is { Enabled: true } ? null : Task.Run(() => StartHost(s, loggerFactory)));

    /// <summary>The step runtime to put in FitOptions.Runtime, once the host has started (rethrows its start
    /// failure); with `gpu` (the opened GPU backend, trainer.backend = cuda) the local workers are one GPU worker
    /// plus trainer.cuda.cpu-workers CPU workers. `cancel`: fit's cancellation, which a cluster coordinator also
    /// honours while every worker is lost (see <see cref="ActorStepRuntime.Cancellation"/>).</summary>
    public ActorStepRuntime Attach(ActorTrainer.Cuda.CudaRuntime? gpu = null, CancellationToken cancel = default)
    {
        if (_runtime is not null) return _runtime;
        if (_starting is null)
        {
            Listen();
            return _runtime = new ActorStepRuntime(_settings.ToRuntimeOptions(), _clusterSystem!) { Cancellation = cancel };
        }
        var host = _starting.GetAwaiter().GetResult();
        _attached = true;
        return _runtime = new ActorStepRuntime(_settings.ToRuntimeOptions(gpu), host.Services.GetRequiredService<ActorSystem>());
    }

    /// <summary>A cluster coordinator (cluster.enabled) joins its cluster now — its listener bound, so that a port in use
    /// or a host name that does not resolve is refused (exit 2) before the run directory is written; a local host goes on
    /// starting in the background.</summary>
    public void Listen()
    {
        if (_starting is null && _clusterSystem is null)
            _clusterSystem = StartCoordinator(_settings, _settings.Cluster!, _logs.CreateLogger("cluster"));
    }

    /// <summary>Runs <see cref="RuntimeWarmup"/> for the run's runtime options on the local host's ActorSystem once it has
    /// started, unless the run has already attached (it then compiles its actor path at its first steps itself) or is a
    /// cluster coordinator (no local host yet). The run never waits for it: one under way when the run starts finishes
    /// beside it (on 2 cores waiting cost ~0.2 s of a 2-epoch run's clock: bench/RESULTS.md, 2026-12-06). `weights`
    /// and `optimizer` belong to a model of the warm-up's own; a failure only loses the head start (logged at debug
    /// level).</summary>
    public void WarmUp(ModelPlan plan, float[][] weights, Optimizer optimizer, int rows, ILogger log)
    {
        try
        {
            if (_starting is null || _attached) return;
            var system = _starting.GetAwaiter().GetResult().Services.GetRequiredService<ActorSystem>();
            if (!_attached) RuntimeWarmup.Run(system, _settings.ToRuntimeOptions(), plan, weights, optimizer, rows);
        }
        catch (Exception e) { log.LogDebug(e, "actor runtime warm-up failed (the run compiles its actor path at its first steps)"); }
    }

    private static IHost StartHost(TrainSettings s, ILoggerFactory loggerFactory)
    {
        var host = new HostBuilder()
            .ConfigureServices(services =>
            {
                services.AddSingleton(loggerFactory);
                // SIGTERM / Ctrl-C belong to the trainer (finish the step, checkpoint, exit 0), not to the host's
                // console lifetime, which would tear the actor system down mid-step.
                services.AddSingleton<IHostLifetime, TrainerLifetime>();
                services.AddActorTrainer("actor-trainer", b => b
                    .AddHocon(s.Config, HoconAddMode.Prepend)
                    .ConfigureLoggers(l =>
                    {
                        l.ClearLoggers();
                        l.AddLoggerFactory();   // Akka's own log events go through Microsoft.Extensions.Logging
                    }));
            })
            .Build();
        host.Start();
        return host;
    }

    /// <summary>cluster.enabled: this process joins the cluster as its coordinator (forming it when cluster.seed-nodes
    /// is empty) and trains on the worker nodes' gradient workers.</summary>
    private static ActorSystem StartCoordinator(TrainSettings s, ClusterConfig cluster, ILogger log)
    {
        var system = ClusterBinding.CreateNode(cluster.Settings, s.Config.WithFallback(ActorTrainingRunner.RuntimeDefaults));
        var self = Akka.Cluster.Cluster.Get(system);
        if (cluster.Settings.SeedNodes.Length == 0) self.Join(self.SelfAddress);
        log.LogInformation("cluster coordinator {Address}; waiting for {Min} gradient worker(s) (cluster.min-workers{Local}, up to cluster.wait-for-workers = {Wait})",
            self.SelfAddress, cluster.Remote.MinWorkers,
            cluster.Remote.LocalWorkers ? $", counting the {s.ToRuntimeOptions().EffectiveWorkers} local one(s) of cluster.local-workers" : "",
            cluster.Remote.EffectiveWait);
        return system;
    }

    /// <summary>Stops the host (and its ActorSystem), waiting for a start still under way; a start that failed
    /// leaves nothing to stop.</summary>
    public void Dispose()
    {
        if (_clusterSystem is { } system)
        {
            // leave the cluster properly, so the workers see the coordinator go at once. A member that is unreachable
            // (a killed worker node) is downed: until it is, the cluster cannot converge on the leaving and the
            // shutdown would wait out its timeout (10 s). One that becomes unreachable while the coordinator leaves (a
            // node killed after its last shard, when no data-plane read could fail) is downed as soon as it does
            var cluster = Akka.Cluster.Cluster.Get(system);
            void DownUnreachable(object? _) { foreach (var m in cluster.State.Unreachable) cluster.Down(m.Address); }
            using (new Timer(DownUnreachable, null, TimeSpan.Zero, TimeSpan.FromMilliseconds(200)))
                CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClusterLeavingReason.Instance).Wait(TimeSpan.FromSeconds(10));
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
            return;
        }
        if (_starting is null) return;
        IHost host;
        try { host = _starting.GetAwaiter().GetResult(); }
        catch (Exception) { return; }   // the start failed (Attach reported it, or an earlier error ended the run)
        host.StopAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        host.Dispose();
    }
}
