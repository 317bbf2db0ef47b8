using ActorTrainer.Core;
using ActorTrainer.Runtime;

namespace ActorTrainer.Daemon.Output;

/// <summary>
/// The in-process runtime's stop on divergence, the same as the actor runtime's: a non-finite training loss after a
/// batch, or a non-finite weight at an epoch end, throws <see cref="TrainingDivergedException"/> naming the epoch and
/// step, before any later callback (TensorBoard histograms, checkpoints) sees the bad values.
/// </summary>
public sealed class DivergenceGuard : Callback
{
    private int _epoch, _steps;

    /// <inheritdoc />
    public override void OnEpochBegin(int epoch, int steps) => (_epoch, _steps) = (epoch, steps);

    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (logs.TryGetValue("loss", out var loss) && !double.IsFinite(loss))
            throw new TrainingDivergedException(_epoch, GlobalStep() - 1, batch, $"the training loss is {Describe(loss)}");
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        var weights = Model.GetWeights();
        for (var i = 0; i < weights.Length; i++)
            foreach (var w in weights[i])
                if (!float.IsFinite(w))
                    throw new TrainingDivergedException(epoch, GlobalStep() - 1, Math.Max(0, _steps - 1), $"weight array {i} holds {Describe(w)} after the epoch");
    }

    private long GlobalStep() => Model.Optimizer?.Iterations ?? 0;

    private static string Describe(double v) => double.IsNaN(v) ? "NaN" : v > 0 ? "+Infinity" : "-Infinity";
}
