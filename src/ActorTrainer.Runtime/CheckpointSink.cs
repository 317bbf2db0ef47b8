using ActorTrainer.Core;

namespace ActorTrainer.Runtime;

/// <summary>Writes the fit loop's checkpoints with <see cref="CheckpointStore"/> into Dir (newest Keep kept), adding
/// the run's config text and mode; converts between the file's CheckpointState and the loop's FitCheckpoint.</summary>
public sealed class CheckpointSink(string dir, int keep, string configText, string mode) : ICheckpointSink
{
    /// <summary>The checkpoint directory.</summary>
    public string Dir => dir;

    /// <summary>Path of the last checkpoint written (null before the first).</summary>
    public string? LastPath { get; private set; }

    /// <inheritdoc/>
    public void Save(FitCheckpoint c)
    {
        try
        {
            LastPath = CheckpointStore.Save(dir, ToState(c, configText, mode), keep);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot write the checkpoint of global step {c.GlobalStep} into '{dir}': {e.Message} " +
                                  "(the checkpoints already there are intact)", e);
        }
    }

    /// <summary>The file form of a loop checkpoint.</summary>
    public static CheckpointState ToState(FitCheckpoint c, string configText, string mode) =>
        new(c.Seed, c.Epoch, c.StepInEpoch, c.GlobalStep, c.EpochStats.LossSum, c.EpochStats.Correct, c.EpochStats.Count,
            c.Weights, c.OptimizerName, c.OptimizerIterations, c.OptimizerSlots, c.History, configText,
            c.StaleGradientsRejected, mode);

    /// <summary>The loop form of a checkpoint read from a file.</summary>
    public static FitCheckpoint ToFit(CheckpointState s) =>
        new(s.Seed, s.Epoch, s.StepInEpoch, s.GlobalStep,
            new ShardStats(s.EpochLossSum, s.EpochCorrect, checked((int)s.EpochCount)),
            s.Weights, s.OptimizerName, s.OptimizerIterations, s.OptimizerSlots, s.History.ToArray(), s.StaleGradientsRejected);
}
