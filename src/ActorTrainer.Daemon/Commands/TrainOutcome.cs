using ActorTrainer.Core;

namespace ActorTrainer.Daemon.Commands;

/// <summary>What a training run produced, whichever runtime ran it: per-key history (including epochs restored from
/// a checkpoint), global steps, whether it was interrupted, steps/s, workers, async gradients rejected.</summary>
public sealed record TrainOutcome(IReadOnlyDictionary<string, double[]> History, long Steps, bool Interrupted,
                                  double StepsPerSecond, int Workers, long StaleGradientsRejected)
{
    /// <summary>The outcome of fit: history keys "loss", each metric name, and "val_…" when every epoch was validated.</summary>
    public static TrainOutcome Of(FitResult r, IReadOnlyList<string> metricNames)
    {
        var epochs = r.Epochs;
        var history = new Dictionary<string, double[]> { ["loss"] = epochs.Select(h => h.Loss).ToArray() };
        foreach (var m in metricNames) history[m] = epochs.Select(h => h.Accuracy).ToArray();
        if (epochs.Length > 0 && epochs.All(h => h.ValLoss.HasValue))
        {
            history["val_loss"] = epochs.Select(h => h.ValLoss!.Value).ToArray();
            foreach (var m in metricNames) history["val_" + m] = epochs.Select(h => h.ValAccuracy ?? double.NaN).ToArray();
        }
        return new TrainOutcome(history, r.Steps, r.Interrupted, r.StepsPerSecond, r.Workers, r.StaleGradientsRejected);
    }
}
