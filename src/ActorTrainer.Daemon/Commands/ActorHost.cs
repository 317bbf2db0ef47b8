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
/// config, Akka's logs through Microsoft.Extensions.Logging) and the step runtime fit uses on it.</summary>
public sealed class ActorHost : IDisposable
{
    private readonly IHost? _host;
    private readonly ActorSystem? _clusterSystem;

    private ActorHost(IHost? host, ActorSystem? clusterSystem, ActorStepRuntime runtime)
    {
        _host = host;
        _clusterSystem = clusterSystem;
        Runtime = runtime;
    }

    /// <summary>The step runtime to put in FitOptions.Runtime.</summary>
    public ActorStepRuntime Runtime { get; }

    /// <summary>Starts the host for the settings' trainer.* runtime options; with `gpu` (the opened GPU backend,
    /// trainer.backend = cuda) the local workers are one GPU worker plus trainer.cuda.cpu-workers CPU workers.</summary>
    public static ActorHost Start(TrainSettings s, ILoggerFactory loggerFactory, ActorTrainer.Cuda.CudaRuntime? gpu = null)
    {
        if (s.Cluster is { Enabled: true } cluster) return StartCoordinator(s, cluster, loggerFactory.CreateLogger("cluster"));
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
        return new ActorHost(host, null, new ActorStepRuntime(s.ToRuntimeOptions(gpu), host.Services.GetRequiredService<ActorSystem>()));
    }

    /// <summary>cluster.enabled: this process joins the cluster as its coordinator (forming it when cluster.seed-nodes
    /// is empty) and trains on the worker nodes' gradient workers.</summary>
    private static ActorHost StartCoordinator(TrainSettings s, ClusterConfig cluster, ILogger log)
    {
        var system = ClusterNode.Create(cluster.Settings, s.Config.WithFallback(ActorTrainingRunner.RuntimeDefaults));
        var self = Akka.Cluster.Cluster.Get(system);
        if (cluster.Settings.SeedNodes.Length == 0) self.Join(self.SelfAddress);
        log.LogInformation("cluster coordinator {Address}; waiting for {Min} gradient worker(s) (cluster.min-workers, up to cluster.wait-for-workers = {Wait})",
            self.SelfAddress, cluster.Remote.MinWorkers, cluster.Remote.EffectiveWait);
        return new ActorHost(null, system, new ActorStepRuntime(s.ToRuntimeOptions(), system));
    }

    /// <summary>Stops the host (and its ActorSystem).</summary>
    public void Dispose()
    {
        if (_clusterSystem is { } system)
        {
            // leave the cluster properly, so the workers see the coordinator go at once
            CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClusterLeavingReason.Instance).Wait(TimeSpan.FromSeconds(10));
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
            return;
        }
        var host = _host!;
        host.StopAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        host.Dispose();
    }
}
