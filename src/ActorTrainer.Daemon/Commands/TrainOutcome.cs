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
        var logs = r.Epochs.Select(e => LogsOf(e, metricNames)).ToArray();
        var keys = logs.Length > 0 ? logs[0].Keys.Where(k => logs.All(l => l.ContainsKey(k))) : metricNames.Prepend("loss");
        var history = keys.ToDictionary(k => k, k => logs.Select(l => l[k]).ToArray());
        return new TrainOutcome(history, r.Steps, r.Interrupted, r.StepsPerSecond, r.Workers, r.StaleGradientsRejected);
    }

    /// <summary>The logs fit gave callbacks at the end of epoch <paramref name="e"/>: loss and each metric (the
    /// accuracy), then val_loss and val_ each metric when the epoch was validated — in that order.</summary>
    public static Dictionary<string, double> LogsOf(EpochLogs e, IReadOnlyList<string> metricNames)
    {
        var logs = new Dictionary<string, double> { ["loss"] = e.Loss };
        foreach (var m in metricNames) logs[m] = e.Accuracy;
        if (!e.ValLoss.HasValue) return logs;
        logs["val_loss"] = e.ValLoss.Value;
        foreach (var m in metricNames) logs["val_" + m] = e.ValAccuracy ?? double.NaN;
        return logs;
    }
}
