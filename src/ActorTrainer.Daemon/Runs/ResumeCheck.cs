using ActorTrainer.Core;
using ActorTrainer.Daemon.Configuration;
using Akka.Configuration.Hocon;

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

    /// <summary>trainer.epochs may grow on resume but not fall below where the checkpoint is: a checkpoint inside epoch
    /// e (1-based) needs epochs &gt;= e, one at the end of epoch e needs epochs &gt;= e — else a
    /// <see cref="CheckpointException"/> (exit 2) naming the key, the value and the checkpoint's position.</summary>
    public static void Epochs(ActorTrainer.Runtime.CheckpointState state, int epochs, string resumeDir)
    {
        var needed = state.StepInEpoch > 0 ? state.Epoch + 1 : state.Epoch;
        if (epochs >= needed) return;
        var where = state.StepInEpoch > 0
            ? $"inside epoch {state.Epoch + 1} (step {state.StepInEpoch})"
            : $"at the end of epoch {state.Epoch}";
        throw new CheckpointException($"--resume '{resumeDir}': trainer.epochs = {epochs} but the checkpoint is {where}; " +
                                      $"set trainer.epochs >= {needed} (a run cannot be resumed to fewer epochs than it has trained)");
    }

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
            if (!saved.HasPath(key)) continue;      // a checkpoint written before the key existed
            var was = ConfigLoader.RenderPath(saved, key);
            var now = ConfigLoader.RenderPath(current, key);
            if (was == now) continue;
            var changes = new List<string>();
            Differences(key, saved.GetValue(key), current.HasPath(key) ? current.GetValue(key) : null, changes);
            if (changes.Count == 0) changes.Add($"{key} is {Short(now)} but the checkpointed run used {Short(was)}");
            var shown = changes.Count > MaxShown ? changes.Take(MaxShown).Append($"and {changes.Count - MaxShown} more") : changes;
            throw new CheckpointException($"--resume '{resumeDir}': {string.Join("; ", shown)}; " +
                                         "resuming would not continue the same run (start a new run, or resume without changing it)");
        }
    }

    private const int MaxShown = 5;

    /// <summary>Adds "path is NOW but the checkpointed run used WAS" for every leaf that differs: objects by key, lists
    /// by index (path.0, path.1, ...), an element or key present on one side only as "(unset)" on the other.</summary>
    private static void Differences(string path, HoconValue? was, HoconValue? now, List<string> changes)
    {
        if (was is not null && now is not null && was.IsObject() && now.IsObject())
        {
            var w = was.GetObject().Items;
            var n = now.GetObject().Items;
            foreach (var k in w.Keys.Concat(n.Keys.Where(k => !w.ContainsKey(k))))
                Differences($"{path}.{k}", w.GetValueOrDefault(k), n.GetValueOrDefault(k), changes);
            return;
        }
        if (was is not null && now is not null && IsList(was) && IsList(now))
        {
            var w = was.GetArray();
            var n = now.GetArray();
            for (var i = 0; i < Math.Max(w.Count, n.Count); i++)
                Differences($"{path}.{i}", i < w.Count ? w[i] : null, i < n.Count ? n[i] : null, changes);
            return;
        }
        var before = was is null ? null : ConfigLoader.RenderItem(was);
        var after = now is null ? null : ConfigLoader.RenderItem(now);
        if (before != after) changes.Add($"{path} is {Short(after)} but the checkpointed run used {Short(before)}");
    }

    private static bool IsList(HoconValue v) => v.IsArray() || ConfigLoader.IsEmptyList(v);

    private static string Short(string? v) =>
        v is null ? "(unset)" : v.Length > 80 ? v[..77].Replace('\n', ' ') + "..." : v.Replace('\n', ' ');
}
