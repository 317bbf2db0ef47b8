using ActorTrainer.Core;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Runtime.Clustering;

namespace ActorTrainer.Daemon.Runs;

/// <summary>
/// Size checks before anything large is allocated: every weight array and per-batch buffer must fit one .NET array
/// (<see cref="Array.MaxLength"/> elements), and the estimated memory of a run must fit the memory available to the
/// process. Failures are <see cref="ResourceLimitException"/>s naming the key and the bytes.
/// </summary>
public static class ResourceCheck
{
    /// <summary>Bytes the process may use (the GC's view: physical memory or the container limit).</summary>
    public static long AvailableBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>The batch size training actually uses: Keras takes the whole data set as one batch when batch_size is
    /// larger, and so do we (the arithmetic is identical).</summary>
    public static int EffectiveBatch(int batchSize, int samples) => Math.Max(1, Math.Min(batchSize, samples));

    /// <summary>Parameter count of the model the settings describe, and the widest layer output; throws when a weight
    /// array cannot be one .NET array.</summary>
    public static (long Parameters, long MaxWidth) Model(TrainSettings s)
    {
        long width = s.InputShape.Aggregate(1L, (a, b) => a * b), maxWidth = width, total = 0;
        for (var i = 0; i < s.Layers.Count; i++)
        {
            if (s.Layers[i] is not Dense l) continue;
            long kernel = width * l.Units;
            if (kernel > Array.MaxLength)
                throw new ResourceLimitException($"config: model.layers[{i}]: a {width}x{l.Units} kernel has {kernel} weights " +
                                                 $"({kernel * 4} bytes, {Bytes(kernel * 4)}); one weight array holds at most {Array.MaxLength}");
            total += kernel + (l.UseBias ? l.Units : 0);
            width = l.Units;
            maxWidth = Math.Max(maxWidth, width);
        }
        return (total, maxWidth);
    }

    /// <summary>Checks the buffers and estimated memory of training <paramref name="s"/> with batches of
    /// <paramref name="batch"/> rows on <paramref name="workers"/> workers.</summary>
    public static void Training(TrainSettings s, int batch, int workers)
    {
        var (parameters, maxWidth) = Model(s);
        long rowBuffer = (long)batch * maxWidth;
        if (rowBuffer > Array.MaxLength)
            throw new ResourceLimitException($"config: trainer.batch-size = {s.BatchSize}: a batch of {batch} rows of a " +
                                             $"{maxWidth}-wide layer needs {rowBuffer} values ({Bytes(rowBuffer * 4)}) in one buffer; " +
                                             $"one buffer holds at most {Array.MaxLength}; use a smaller trainer.batch-size");
        long slots = s.OptimizerType is "sgd" or "adagrad" ? 1 : 3;
        long widths = s.Layers.Count + 1;
        // weights, gradients, optimizer slots, a checkpoint snapshot of both, and per worker a gradient buffer and the
        // activations and their gradients of one batch
        long bytes = parameters * 4 * (3 + 2 * slots + 2L * workers) + rowBuffer * 4 * 3 * widths * workers;
        var available = AvailableBytes;
        if (bytes > available)
            throw new ResourceLimitException($"config: training this model ({parameters} parameters, batches of {batch} rows, " +
                                             $"{workers} worker(s)) needs about {bytes} bytes ({Bytes(bytes)}) but {available} bytes " +
                                             $"({Bytes(available)}) are available; use fewer units, a smaller trainer.batch-size or fewer trainer.workers");
    }

    /// <summary>A cluster coordinator (cluster.enabled) sends every worker node the weights and a shard's rows and gets
    /// their gradient in one data-plane frame each: a cluster.data-plane.max-frame-mib below the largest of those frames
    /// (<see cref="NodeFrames.Largest(ModelPlan, int, int, int, bool)"/> for batches over <paramref name="trainCount"/>
    /// samples) is a <see cref="ConfigException"/> (exit 2) before anything is written, not a failure at the first step.
    /// It advises the figure a worker node's refusal gives for the same model (<see cref="NodeFrames.MinimumMib"/>).</summary>
    public static void ClusterFrames(TrainSettings s, int trainCount)
    {
        if (s.Cluster is not { Enabled: true } c) return;
        var bytes = NodeFrames.Largest(s.PlanOfLayers(), s.BatchSize, trainCount, s.ShardsPerBatch, s.Mode == "async");
        if (bytes <= c.DataPlane.MaxFrameBytes) return;
        throw new ConfigException($"config: cluster.data-plane.max-frame-mib = {c.DataPlane.MaxFrameBytes >> 20}: this model's data-plane frames " +
                                  $"(its {Model(s).Parameters} float32 weights and a shard's rows) need up to {bytes} bytes ({Bytes(bytes)}); " +
                                  $"set it to at least {NodeFrames.MinimumMib(bytes)} on the coordinator and on every worker node");
    }

    /// <summary>Checks one evaluation/prediction batch of <paramref name="rows"/> rows against the array limit.</summary>
    public static void EvaluationBatch(long rows, long maxWidth, string what)
    {
        if (rows * maxWidth > Array.MaxLength)
            throw new ResourceLimitException($"{what} = {rows}: a batch of {rows} rows of a {maxWidth}-wide layer needs " +
                                             $"{rows * maxWidth} values ({Bytes(rows * maxWidth * 4)}) in one buffer; use a smaller batch size");
    }

    /// <summary>Human-readable size.</summary>
    public static string Bytes(long b) => b >= 1L << 30 ? $"{b / (double)(1L << 30):0.#} GiB" : b >= 1L << 20 ? $"{b / (double)(1L << 20):0.#} MiB" : $"{b} B";
}
