using System.Diagnostics;
using ActorTrainer.Core;
using ActorTrainer.Interop;

namespace ActorTrainer.Daemon.Output;

/// <summary>Feeds the Prometheus endpoint from training progress and from the runtime itself: the weight version
/// (updates the parameter server applied), the workers alive under supervision, async gradients rejected as stale,
/// and (actor runtime) the parameter server's seconds.</summary>
public sealed class MetricsCallback(TrainingMetrics metrics) : Callback, IRuntimeCallback, IReadOnlyBatchHooks
{
    private readonly Stopwatch _clock = new();
    private IStepExecutor? _runtime;
    private long _steps, _staleSeen;

    /// <inheritdoc />
    public void SetExecutor(IStepExecutor executor)
    {
        _runtime = executor;
        _staleSeen = executor.StaleRejected;     // rejections of a resumed run were counted by that run
        Publish();
    }

    /// <inheritdoc />
    public override void OnEpochBegin(int epoch, int steps) { _clock.Restart(); _steps = 0; }

    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        _steps++;
        // under the metrics' gate, so a scrape sees a step's count, loss and weight version together; gauges first,
        // the step counter last, for readers of the single instruments (the Meter)
        lock (metrics.Gate)
        {
            Publish();
            if (logs.TryGetValue("loss", out var l)) metrics.Loss = l;
            if (logs.TryGetValue("accuracy", out var a)) metrics.Accuracy = a;
            var sec = _clock.Elapsed.TotalSeconds;
            if (sec > 0) metrics.StepsPerSecond = _steps / sec;
            metrics.LearningRate = Model.Optimizer.LearningRate;
            metrics.AddSteps();
        }
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        lock (metrics.Gate)
        {
            Publish();
            metrics.AddEpochs();
            if (logs.TryGetValue("val_loss", out var vl)) metrics.ValLoss = vl;
            if (logs.TryGetValue("val_accuracy", out var va)) metrics.ValAccuracy = va;
        }
    }

    private void Publish()
    {
        if (_runtime is not { } r) return;
        metrics.WorkersAlive = r.WorkersAlive;
        metrics.ParameterServerVersion = r.Version;
        if (r is ActorTrainer.Runtime.ActorStepExecutor actors) metrics.ParameterServerSecondsTotal = actors.ParameterServerSeconds;
        var stale = r.StaleRejected;
        if (stale > _staleSeen) metrics.AddStaleGradients(stale - _staleSeen);
        _staleSeen = stale;
    }
}
