using ActorTrainer.Core;
using Akka.Actor;

namespace ActorTrainer.Runtime;

/// <summary>Compiles the actor runtime's step path ahead of a run. .NET compiles each method on its first call: a run's
/// first actor executor took ~80 ms to start, its first step ~60 ms and its stop ~35 ms more than later ones, almost all
/// of it compilation (bench/RESULTS.md). `train` runs this on a spare core while it loads the data, after
/// <see cref="ComputeWarmup"/>, so the run's clock no longer pays for it. It trains a copy of `weights` and advances
/// `optimizer`'s state (pass a fresh model's, never a training run's); no result of a later run depends on it (its
/// actors are started and stopped again; nothing is shared but compiled code and the dispatcher's threads).</summary>
public static class RuntimeWarmup
{
    /// <summary>One epoch of two steps of `plan` on synthetic rows (an MNIST-like input, 20 % nonzero; labels or one-hot
    /// targets as the loss needs) through the one fit loop on the actor runtime <paramref name="options"/> describe (its
    /// workers, slices and mode; no checkpoints, no fault injection, CPU workers) on `system`, which is left running.
    /// rows ≥ 1: one batch's rows (at least one per shard is used). Blocks until done; throws what the run would throw
    /// (e.g. ArgumentException for invalid options).</summary>
    public static void Run(ActorSystem system, RuntimeOptions options, ModelPlan plan, float[][] weights, Optimizer optimizer, int rows)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), rows, "warm-up rows must be >= 1");
        var opts = options with
        {
            CheckpointDir = null, CheckpointEverySteps = 0, Faults = null, Remote = null, LocalCompute = null,
        };
        opts.Validate();
        int batch = Math.Max(rows, opts.IsAsync ? 1 : opts.ShardsPerBatch);
        var job = new TrainingJob(plan, weights, optimizer, Synthetic(plan, 2 * batch), null, 1, batch, 0, false, opts, "");
        ActorTrainingRunner.RunAsync(job, null, CancellationToken.None, system).GetAwaiter().GetResult();
    }

    /// <summary>Writes a small checkpoint into a new temporary directory with <see cref="CheckpointStore"/>, reads it
    /// back and deletes the directory: compiles the checkpoint path (~90 ms at a run's first epoch end otherwise).
    /// Throws IOException when the temporary directory cannot be written.</summary>
    public static void Checkpoints()
    {
        var dir = WarmupDirectories.New();
        try
        {
            float[][] values = [[1f, 2f], [3f]];
            float[][][] slots = [.. values.Select(v => new[] { v })];      // RMSprop: one slot per weight
            var state = new CheckpointState(0, 0, 0, 0, 0, 0, 0, values, "RMSprop", 0, slots, [], "", 0, "sync");
            CheckpointStore.Load(CheckpointStore.Save(dir, state, 1));
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>`count` synthetic rows for warm-ups: the plan's input width, every fifth value nonzero (an MNIST-like
    /// input, 20 % nonzero), labels r mod classes or their one-hot targets as the plan's loss needs.</summary>
    public static ArrayData Synthetic(ModelPlan plan, int count)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        int features = plan.InputDim, outputs = plan.OutputDim;
        var x = new float[count * features];
        for (int i = 0; i < x.Length; i += 5) x[i] = (i % 251) / 251f;
        var labels = Enumerable.Range(0, count).Select(r => r % Math.Max(1, outputs)).ToArray();
        if (plan.Loss.SparseTargets) return ArrayData.OfLabels(x, features, labels);
        var targets = new float[count * outputs];
        for (int r = 0; r < count; r++) targets[r * outputs + labels[r]] = 1f;
        return new ArrayData(x, features, null, targets, count);
    }
}
