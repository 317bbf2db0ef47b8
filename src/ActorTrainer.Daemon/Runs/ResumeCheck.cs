using ActorTrainer.Core;
using ActorTrainer.Daemon.Configuration;

namespace ActorTrainer.Daemon.Runs;

/// <summary>
/// `train --resume` continues the same run only if everything that decides the sequence of batches and updates is
/// unchanged: the keys below are compared between the checkpoint's configuration and this invocation's, and a
/// difference is a <see cref="CheckpointException"/> (exit 2) naming the key and both values. trainer.epochs,
/// trainer.workers and outputs may change; the backend may not (the GPU's bits are not the CPU's, nor TF32's fp32's).
/// </summary>
public static class ResumeCheck
{
    /// <summary>The keys a resumed run must share with its checkpoint.</summary>
    public static readonly string[] RunDefiningKeys =
    [
        "trainer.seed", "trainer.batch-size", "trainer.per-shard-batch-size", "trainer.shuffle", "trainer.shards-per-batch", "trainer.mode",
        "data.dir", "data.train-limit", "data.validation", "data.validation-split",
        "model.input-shape", "model.layers", "optimizer", "loss", "trainer.backend", "trainer.cuda.tf32",
    ];

    /// <summary>Throws when <paramref name="current"/> differs from the configuration stored in the checkpoint.</summary>
    public static void Compare(string checkpointConfigText, Akka.Configuration.Config current, string resumeDir)
    {
        Akka.Configuration.Config saved;
        try
        {
            saved = GuardedHoconParser.Parse(checkpointConfigText, "the checkpoint's configuration");
        }
        catch (ConfigException e)
        {
            throw new CheckpointException($"--resume '{resumeDir}': {e.Message}");
        }
        foreach (var key in RunDefiningKeys)
        {
            var was = ConfigLoader.RenderPath(saved, key);
            var now = ConfigLoader.RenderPath(current, key);
            if (was is null || was == now) continue;
            throw new CheckpointException($"--resume '{resumeDir}': {key} is {Short(now)} but the checkpointed run used {Short(was)}; " +
                                         "resuming would not continue the same run (start a new run, or resume without changing it)");
        }
    }

    private static string Short(string? v) =>
        v is null ? "(unset)" : v.Length > 80 ? v[..77].Replace('\n', ' ') + "..." : v.Replace('\n', ' ');
}
