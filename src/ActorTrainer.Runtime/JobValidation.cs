using ActorTrainer.Core;

namespace ActorTrainer.Runtime;

/// <summary>Checks a TrainingJob before any actor starts; every problem is an ArgumentException naming the field
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
    public static int WorkerRows(TrainingJob job)
    {
        int batch = Math.Max(1, Math.Min(job.BatchSize, job.Train?.Count ?? job.BatchSize));
        return job.Options.IsAsync ? batch : (batch + job.Options.ShardsPerBatch - 1) / job.Options.ShardsPerBatch + 1;
    }

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

    private static void CheckData(string what, ModelPlan plan, TrainingData d, bool allowEmpty)
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
        try { CheckWeights("checkpoint weights", job.Plan, r.Weights); }
        catch (ArgumentException e) { throw new CheckpointException(Plain(e) + " (the model layers differ from the checkpointed run's)"); }
        if (r.Seed != job.Seed)
            throw new CheckpointException($"checkpoint seed {r.Seed} differs from the job seed {job.Seed}; resuming would not continue the same run");
        if (r.OptimizerName != job.Optimizer.Name)
            throw new CheckpointException($"checkpoint optimizer '{r.OptimizerName}' differs from the job optimizer '{job.Optimizer.Name}'");
        int steps = Batching.batchCount(job.Train.Count, job.BatchSize);
        if (r.Epoch < 0 || r.StepInEpoch < 0 || r.StepInEpoch >= steps || r.GlobalStep < 0)
            throw new CheckpointException($"checkpoint position epoch {r.Epoch}, step {r.StepInEpoch} (global {r.GlobalStep}) is invalid for {steps} steps per epoch");
        for (int i = 0; i < r.OptimizerSlots.Length; i++)
            foreach (var slot in r.OptimizerSlots[i])
                if (i >= r.Weights.Length || slot.Length != r.Weights[i].Length)
                    throw new CheckpointException($"checkpoint optimizer slot of weight {i} has {slot.Length} elements but the weight has {(i < r.Weights.Length ? r.Weights[i].Length : 0)}");
        if (r.History.Count != r.Epoch)
            throw new CheckpointException($"checkpoint history has {r.History.Count} epochs but its position is epoch {r.Epoch}");
    }

    private static string Plain(ArgumentException e) => e.Message.Split(" (Parameter")[0];
}
