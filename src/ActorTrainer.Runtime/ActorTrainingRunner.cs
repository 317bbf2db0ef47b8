using ActorTrainer.Core;
using Akka.Actor;
using Akka.Configuration;

namespace ActorTrainer.Runtime;

/// <summary>Runs a TrainingJob on Akka.NET actors (coordinator → batch generator, parameter server, gradient workers).</summary>
public static class ActorTrainingRunner
{
    /// <summary>Quiet logging for the private actor system a run creates (the serializer is bound by a setup, not HOCON),
    /// plus <see cref="RuntimeDefaults"/>.</summary>
    private static Config QuietLogging => ConfigurationFactory.ParseString("""
        akka.loglevel = WARNING
        akka.stdout-loglevel = WARNING
        akka.log-dead-letters = off
        akka.log-dead-letters-during-shutdown = off
        """).WithFallback(RuntimeDefaults);

    /// <summary>Settings the runtime's actors use in any actor system (add them as a fallback to a system of your own;
    /// Akka.Hosting's AddActorTrainer does): the training dispatcher — the coordinator, batch generator, parameter
    /// server, its slices and the local gradient workers run on dedicated threads, one per core (Akka's
    /// fork-join-executor), so a step's hand-overs between them reach a thread that has just gone idle instead of
    /// waiting for the .NET thread pool to wake one (the 2-core figures in bench/RESULTS.md: 1.0× the in-process steps/s
    /// instead of 0.7–0.9×; a cluster coordinator's too, see <see cref="TrainingDispatcher.On"/>);
    /// and the pinned dispatcher of remote gradient workers, which wait on sockets: a thread of its own per worker, ended
    /// as soon as the worker has stopped (shutdown-timeout = 0s: Akka's default, 1 s, kept every stopped worker's thread
    /// a second longer, and a busy node gets a new worker at every try; a pinned dispatcher serves one actor and is never
    /// reused, so there is nothing to wait for). A system without them runs those actors on its default dispatcher.</summary>
    public static Config RuntimeDefaults => ConfigurationFactory.ParseString($$"""
        {{TrainingDispatcher.Id}} {
          type = Dispatcher
          executor = fork-join-executor
          fork-join-executor {
            parallelism-min = 2
            parallelism-factor = 1.0
            parallelism-max = 256
          }
        }
        actor-trainer.remote-worker-dispatcher {
          type = PinnedDispatcher
          executor = thread-pool-executor
          shutdown-timeout = 0s
        }
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

    /// <summary>Runs the job with the one fit loop on the actor runtime (a fresh ActorSystem, terminated afterwards, or
    /// `system`). Sync mode gives weights bit-identical to the in-process executor for any worker count. Callbacks get
    /// Keras events (logs "loss", "accuracy", "val_loss", "val_accuracy"); their Model has the weights but no Save.
    /// Cancellation finishes the current step, writes a checkpoint (when CheckpointDir is set) and returns
    /// Interrupted = true. Throws ArgumentException for an invalid job, CheckpointException for a checkpoint that does
    /// not match it, ResourceLimitException for buffers too large for one array, TrainingDivergedException for a
    /// non-finite loss or gradient, IOException when a checkpoint cannot be written, InvalidOperationException when a
    /// worker cannot start.</summary>
    public static Task<TrainingResult> RunAsync(TrainingJob job, IEnumerable<ICallback>? callbacks, CancellationToken ct,
        ActorSystem? system = null)
    {
        JobValidation.Validate(job);
        // the fit loop blocks between steps: give it its own thread, never one of the pool threads the actors run on
        return Task.Factory.StartNew(() => Run(job, callbacks, ct, system), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private static TrainingResult Run(TrainingJob job, IEnumerable<ICallback>? callbacks, CancellationToken ct, ActorSystem? system)
    {
        var o = job.Options;
        var options = new FitOptions
        {
            Epochs = job.Epochs, BatchSize = job.BatchSize, Shuffle = job.Shuffle, Seed = job.Seed,
            ShardsPerBatch = o.ShardsPerBatch, Validation = job.Validation, Verbose = 0,
            Checkpoints = o.CheckpointDir is null ? null : new CheckpointSink(o.CheckpointDir, o.CheckpointKeep, job.ConfigText, o.Mode, background: true),
            CheckpointEverySteps = o.CheckpointEverySteps, Cancellation = ct,
            Resume = job.Resume is null ? null! : CheckpointSink.ToFit(job.Resume),
            Runtime = new ActorStepRuntime(o, system) { Cancellation = ct },   // a cluster run stops waiting for workers when cancelled
        };
        // the run's own home for the weights (the job's InitialWeights stay as they are)
        var stepJob = new StepJob(job.Plan, Weights.copy(job.InitialWeights), job.Optimizer, job.Train, job.BatchSize, o.ShardsPerBatch, job.Seed, job.Shuffle);
        var trainee = new WeightsTrainee(job.Optimizer);
        var r = FitLoop.Run(stepJob, options, ["accuracy"], trainee, callbacks ?? []);
        return new TrainingResult(trainee.FinalWeights, r.Epochs, r.Steps, r.Interrupted, r.StepsPerSecond,
            r.StaleGradientsRejected, r.Workers, o.Mode);
    }
}
