using Akka.Actor;

namespace ActorTrainer.Runtime;

/// <summary>The dispatcher the training actors run on (defined by <see cref="ActorTrainingRunner.RuntimeDefaults"/>):
/// dedicated threads, one per core.</summary>
public static class TrainingDispatcher
{
    /// <summary>Its configuration path.</summary>
    public const string Id = "actor-trainer.training-dispatcher";

    /// <summary>`props` on the training dispatcher when `system` defines it, else unchanged (the default dispatcher). A
    /// cluster coordinator uses it too, its slices in its own process or on ps nodes: with its gradient workers in other
    /// processes on the same cores, the dedicated threads' quick hand-overs still win over the thread pool's
    /// (bench/RESULTS.md, 2026-12-05: 1.19× the steps/s through shared memory, 1.07–1.19× through Unix sockets, 0.99–1.32×
    /// over TCP, 2 worker processes on 2 cores; with a ps node, median 1.03×, faster in 8 of 10 pairs).</summary>
    public static Props On(this Props props, ActorSystem system)
    {
        ArgumentNullException.ThrowIfNull(props);
        ArgumentNullException.ThrowIfNull(system);
        return system.Dispatchers.HasDispatcher(Id) ? props.WithDispatcher(Id) : props;
    }
}
