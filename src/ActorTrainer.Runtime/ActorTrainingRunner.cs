using ActorTrainer.Kernels;
using Akka.Actor;
using Akka.Configuration;

namespace ActorTrainer.Runtime;

/// <summary>Runs a TrainingJob on Akka.NET actors (coordinator → batch generator, parameter server, gradient workers).</summary>
public static class ActorTrainingRunner
{
    /// <summary>Quiet logging for the private actor system a run creates (the serializer is bound by a setup, not HOCON).</summary>
    private static Config QuietLogging => ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.stdout-loglevel = WARNING
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        """);

    /// <summary>Setup of the private actor system a run creates when none is given: quiet logging plus the
    /// SerializationSetup binding every ITrainingMessage to TrainingMessageSerializer (never the JSON serializer).
    /// Pass it to ActorSystem.Create(name, setup).</summary>
    public static Akka.Actor.Setup.ActorSystemSetup DefaultConfig => CreateSetup(null);

    /// <summary>A new ActorSystem with the serializer bound and quiet logging; `config` (may be null) takes precedence
    /// over the defaults.</summary>
    public static ActorSystem CreateSystem(string name = "actor-trainer", Config? config = null) =>
        ActorSystem.Create(name, CreateSetup(config));

    private static Akka.Actor.Setup.ActorSystemSetup CreateSetup(Config? config) =>
        BootstrapSetup.Create().WithConfig(config is null ? QuietLogging : config.WithFallback(QuietLogging))
            .And(TrainingMessageSerializer.CreateSetup());

    /// <summary>Runs the job on a fresh ActorSystem (terminated afterwards) or on `system`. Sync mode gives weights
    /// bit-identical to the SyncStepper loop for any worker count. Cancellation finishes the current step, writes a
    /// checkpoint (when CheckpointDir is set) and returns Interrupted = true. Throws ArgumentException for an invalid
    /// job, CheckpointException for a checkpoint that does not match it, ResourceLimitException for buffers too large for
    /// one array, TrainingDivergedException for a non-finite loss or gradient, IOException when a checkpoint cannot be
    /// written, InvalidOperationException when a worker cannot start.</summary>
    public static async Task<TrainingResult> RunAsync(TrainingJob job, ITrainingObserver observer, CancellationToken ct,
        ActorSystem? system = null)
    {
        JobValidation.Validate(job);
        observer ??= NullTrainingObserver.Instance;
        if (job.Resume is { } r) job.Optimizer.LoadState(r.OptimizerIterations, r.OptimizerSlots);
        bool own = system is null;
        system ??= ActorSystem.Create("actor-trainer", DefaultConfig);
        var tcs = new TaskCompletionSource<TrainingResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        int previousDop = KernelSettings.MaxDegreeOfParallelism;
        KernelSettings.MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount / job.Options.EffectiveWorkers);
        try
        {
            var coordinator = system.ActorOf(Props.Create(() => new Coordinator(job, observer, tcs)),
                "trainer-" + Guid.NewGuid().ToString("N"));
            await using var registration = ct.Register(() => coordinator.Tell(new CancelTraining()));
            return await tcs.Task.ConfigureAwait(false);
        }
        finally
        {
            KernelSettings.MaxDegreeOfParallelism = previousDop;
            if (own) await system.Terminate().ConfigureAwait(false);
        }
    }
}
