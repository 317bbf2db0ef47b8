using ActorTrainer.Core;
using Akka.Actor;

namespace ActorTrainer.Runtime;

/// <summary>The actor runtime as a fit step runtime: `new FitOptions { Runtime = new ActorStepRuntime(options) }`
/// trains on a private ActorSystem (or on `system`, e.g. the hosted one) with options.EffectiveWorkers workers.</summary>
public sealed class ActorStepRuntime(RuntimeOptions options, ActorSystem? system = null) : IStepRuntime
{
    /// <summary>The runtime options (workers, mode, timeouts, fault injection).</summary>
    public RuntimeOptions Options => options;

    /// <inheritdoc/>
    public string Name => "actors";

    /// <inheritdoc/>
    public IStepExecutor Start(StepJob job, FitCheckpoint start) => new ActorStepExecutor(job, start, options, system, Cancellation);

    /// <summary>Fit's cancellation token (FitOptions.Cancellation): once requested, a step that cannot finish because
    /// every remote gradient worker is lost ends the run as interrupted instead of waiting for cluster.wait-for-workers.</summary>
    public CancellationToken Cancellation { get; init; }
}
