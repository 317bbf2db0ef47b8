using Akka.Actor;
using Akka.Hosting;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Runtime;
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
    private readonly IHost _host;

    private ActorHost(IHost host, ActorStepRuntime runtime)
    {
        _host = host;
        Runtime = runtime;
    }

    /// <summary>The step runtime to put in FitOptions.Runtime.</summary>
    public ActorStepRuntime Runtime { get; }

    /// <summary>Starts the host for the settings' trainer.* runtime options.</summary>
    public static ActorHost Start(TrainSettings s, ILoggerFactory loggerFactory)
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
        return new ActorHost(host, new ActorStepRuntime(s.ToRuntimeOptions(), host.Services.GetRequiredService<ActorSystem>()));
    }

    /// <summary>Stops the host (and its ActorSystem).</summary>
    public void Dispose()
    {
        _host.StopAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        _host.Dispose();
    }
}
