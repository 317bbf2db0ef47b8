using Akka.Actor;

namespace ActorTrainer.Runtime;

/// <summary>The dispatcher the training actors run on (defined by <see cref="ActorTrainingRunner.RuntimeDefaults"/>):
/// dedicated threads, one per core.</summary>
public static class TrainingDispatcher
{
    /// <summary>Its configuration path.</summary>
    public const string Id = "actor-trainer.training-dispatcher";

    /// <summary>`props` on the training dispatcher when `options` compute on this machine's workers and `system` defines
    /// it, else unchanged (the default dispatcher). A cluster coordinator (options.Remote set) keeps the default: its
    /// training actors mostly wait for other processes, and dedicated threads, which spin briefly before they sleep,
    /// would take CPU from worker processes on the same cores (bench/RESULTS.md: −12 % steps/s with 2 worker processes
    /// on 2 cores).</summary>
    public static Props On(this Props props, ActorSystem system, RuntimeOptions options)
    {
        ArgumentNullException.ThrowIfNull(props);
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(options);
        return options.Remote is null && system.Dispatchers.HasDispatcher(Id) ? props.WithDispatcher(Id) : props;
    }
}
