using ActorTrainer.Core;

namespace ActorTrainer.Runtime;

/// <summary>Checks a TrainingJob before any actor starts (the resume checks are the fit loop's, FitResume.validate); every problem is an ArgumentException naming the field
/// (config key, data set, weight index) and the offending value, or a CheckpointException (an input error) when the
/// checkpoint to resume does not match the job.</summary>
public static class JobValidation
{
    /// <summary>Throws ArgumentException for the first invalid part of the job.</summary>
    public static void Validate(TrainingJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Plan is null) throw new ArgumentException("training job: Plan is null", nameof(job));
        if (job.Optimizer is null) throw new ArgumentException("training job: Optimizer is null", nameof(job));
        if (job.Options is null) throw new ArgumentException("training job: Options is null", nameof(job));
        job.Options.Validate();
        if (job.Epochs < 0) throw new ArgumentException($"epochs must be >= 0, got {job.Epochs}", nameof(job));
        if (job.BatchSize < 1) throw new ArgumentException($"batch_size must be >= 1, got {job.BatchSize}", nameof(job));
        CheckWeights("initial weights", job.Plan, job.InitialWeights);
        CheckBuffers(job);
        CheckData("training data", job.Plan, job.Train, allowEmpty: false);
        if (job.Validation is not null) CheckData("validation data", job.Plan, job.Validation, allowEmpty: true);
        if (job.Resume is { } r) CheckResume(job, r);
    }

    /// <summary>Rows a gradient worker's buffers hold: a sync shard (plus one) or an async batch, never more than the
    /// training set (a batch larger than the data is the whole data, as in Keras).</summary>
    public static int WorkerRows(int batchSize, int trainCount, int shardsPerBatch, bool async)
    {
        int batch = Math.Max(1, Math.Min(batchSize, trainCount));
        return async ? batch : (batch + shardsPerBatch - 1) / shardsPerBatch + 1;
    }

    private static int WorkerRows(TrainingJob job) =>
        WorkerRows(job.BatchSize, job.Train?.Count ?? job.BatchSize, job.Options.ShardsPerBatch, job.Options.IsAsync);

    private static void CheckBuffers(TrainingJob job)
    {
        long rows = WorkerRows(job);
        long width = job.Plan.WeightShapes.SelectMany(s => s).Append(job.Plan.InputDim).Max();
        if (rows * width > Array.MaxLength)
            throw new ResourceLimitException($"batch_size {job.BatchSize}: a worker buffer of {rows} rows x {width} values needs {rows * width * 4L} bytes, " +
                                             $"more than one array holds ({Array.MaxLength} values); use a smaller batch size");
    }

    private static void CheckWeights(string what, ModelPlan plan, float[][]? weights)
    {
        var shapes = plan.WeightShapes;
        if (weights is null) throw new ArgumentException($"{what}: null", nameof(weights));
        if (weights.Length != shapes.Length)
            throw new ArgumentException($"{what}: the model expects {shapes.Length} weight arrays but got {weights.Length}", nameof(weights));
        for (int i = 0; i < shapes.Length; i++)
        {
            int want = shapes[i].Aggregate(1, (a, b) => a * b);
            if (weights[i] is null || weights[i].Length != want)
                throw new ArgumentException($"{what}: weight {i} has {weights[i]?.Length.ToString() ?? "null"} elements but shape ({string.Join(", ", shapes[i])}) needs {want}", nameof(weights));
        }
    }

    private static void CheckData(string what, ModelPlan plan, ArrayData d, bool allowEmpty)
    {
        if (d.Count < (allowEmpty ? 0 : 1)) throw new ArgumentException($"{what}: Count must be >= {(allowEmpty ? 0 : 1)}, got {d.Count}", nameof(d));
        if (d.Features != plan.InputDim)
            throw new ArgumentException($"{what}: {d.Features} features per sample but the model input has {plan.InputDim}", nameof(d));
        if (d.X is null || (long)d.X.Length != (long)d.Count * d.Features)
            throw new ArgumentException($"{what}: X has {d.X?.Length.ToString() ?? "null"} values but shape ({d.Count}, {d.Features}) needs {(long)d.Count * d.Features}", nameof(d));
        bool sparse = plan.Loss.IsSparseCategoricalCrossentropy;
        if (sparse)
        {
            if (d.Labels is null || d.Labels.Length != d.Count)
                throw new ArgumentException($"{what}: loss {plan.Loss} needs Labels of length {d.Count}, got {d.Labels?.Length.ToString() ?? "null"}", nameof(d));
            int classes = plan.OutputDim;
            for (int i = 0; i < d.Labels.Length; i++)
                if ((uint)d.Labels[i] >= (uint)classes)
                    throw new ArgumentException($"{what}: label {d.Labels[i]} at sample {i} is outside [0, {classes})", nameof(d));
        }
        else if (d.Targets is null || (long)d.Targets.Length != (long)d.Count * plan.OutputDim)
            throw new ArgumentException($"{what}: loss {plan.Loss} needs Targets of shape ({d.Count}, {plan.OutputDim}), got {d.Targets?.Length.ToString() ?? "null"} values", nameof(d));
    }

    private static void CheckResume(TrainingJob job, CheckpointState r)
    {
        var stepJob = new StepJob(job.Plan, job.InitialWeights, job.Optimizer, job.Train, job.BatchSize,
            job.Options.ShardsPerBatch, job.Seed, job.Shuffle);
        FitResume.validate(stepJob, CheckpointSink.ToFit(r));
    }
}
