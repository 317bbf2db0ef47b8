using ActorTrainer.Core;
using ILGPU;
using ILGPU.Runtime;

namespace ActorTrainer.Cuda;

/// <summary>Inference passes on the device (predict, evaluate, validation during fit): chunks of up to the model's
/// MaxRows samples read straight from a device-resident dataset, one copy back per chunk.</summary>
internal static class CudaInference
{
    /// <summary>y = model(x): x (rows × plan.InputDim) → (rows × plan.OutputDim), in chunks of batchSize rows.</summary>
    public static float[] Predict(DeviceContext dev, ModelPlan plan, float[][] weights, float[] x, int rows, int batchSize)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "predict: batch size must be >= 1");
        dev.Enter();
        if ((long)rows * plan.InputDim > x.Length)
            throw new ShapeException($"predict: {rows} rows × {plan.InputDim} features need {(long)rows * plan.InputDim} values but x has {x.Length}");
        int ow = plan.OutputDim;
        var result = new float[(long)rows * ow];
        if (rows == 0) return result;
        using var model = new DeviceModel(dev, dev.Kernels, plan, Math.Min(batchSize, rows));
        using var w = UploadWeights(dev, model, weights);
        using var xd = DeviceMemory.Allocate<float>(dev.Accelerator, (long)rows * plan.InputDim, $"predict inputs ({rows} × {plan.InputDim})");
        DeviceMemory.Upload(xd.View, x.AsSpan(0, rows * plan.InputDim));
        for (int start = 0; start < rows; start += model.MaxRows)
        {
            int n = Math.Min(model.MaxRows, rows - start);
            var y = model.Forward(w.View, xd.View.SubView((long)start * plan.InputDim, (long)n * plan.InputDim), n, false, null);
            DeviceMemory.Download(y, result.AsSpan(start * ow, n * ow));
        }
        return result;
    }

    /// <summary>Σ loss, Σ hits and count over all samples of data, in chunks of batchSize rows (inference mode).</summary>
    public static ShardStats Evaluate(DeviceContext dev, ModelPlan plan, float[][] weights, ArrayData data, int batchSize)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "evaluate: batch size must be >= 1");
        dev.Enter();
        using var model = new DeviceModel(dev, dev.Kernels, plan, Math.Max(1, Math.Min(batchSize, data.Count)));
        using var w = UploadWeights(dev, model, weights);
        using var d = new DeviceDataset(dev, plan, data, "evaluate data");
        return Run(model, w.View, d);
    }

    /// <summary>Σ loss, Σ hits and count of a device-resident dataset at device weights w (flat, plan order).</summary>
    public static ShardStats Run(DeviceModel model, ArrayView<float> w, DeviceDataset d)
    {
        var plan = model.Plan;
        int ow = plan.OutputDim;
        var host = model.NewStatsBuffer();
        var stats = new ShardStats(0.0, 0.0, 0);
        for (int start = 0; start < d.Count; start += model.MaxRows)
        {
            int n = Math.Min(model.MaxRows, d.Count - start);
            var x = d.X.SubView((long)start * d.Features, (long)n * d.Features);
            model.Forward(w, x, n, false, null);
            var labels = plan.Loss.SparseTargets ? d.Labels.SubView(start, n) : d.Labels;
            var targets = plan.Loss.SparseTargets ? d.Targets : d.Targets.SubView((long)start * ow, (long)n * ow);
            model.Loss(x, n, n, labels, targets, false);
            stats += model.ReadStats(host, n, out _);
        }
        return stats;
    }

    /// <summary>The weights (plan order) as one flat device vector, checked against the plan's shapes.</summary>
    public static MemoryBuffer1D<float, Stride1D.Dense> UploadWeights(DeviceContext dev, DeviceModel model, float[][] weights)
    {
        var flat = Flatten(model, weights, "weights");
        var w = DeviceMemory.Allocate<float>(dev.Accelerator, model.ParameterCount, $"the weights ({model.ParameterCount} parameters)");
        DeviceMemory.Upload(w.View, flat.AsSpan());
        return w;
    }

    /// <summary>The weights concatenated in plan order; throws naming `what` when a count or size differs.</summary>
    public static float[] Flatten(DeviceModel model, float[][] weights, string what)
    {
        var flat = new float[model.ParameterCount];
        FlattenInto(model, weights, flat, what);
        return flat;
    }

    /// <summary>flat[0..ParameterCount) ← the weights concatenated in plan order (checked as <see cref="Flatten"/>).</summary>
    public static void FlattenInto(DeviceModel model, float[][] weights, Span<float> flat, string what)
    {
        if (weights is null || weights.Length != model.Sizes.Length)
            throw new ShapeException($"{what}: the model has {model.Sizes.Length} weight arrays but {weights?.Length ?? 0} were given");
        for (int i = 0; i < weights.Length; i++)
        {
            if (weights[i] is null || weights[i].Length != model.Sizes[i])
                throw new ShapeException($"{what}: weight {i} has {model.Sizes[i]} values but {weights[i]?.Length ?? 0} were given");
            weights[i].AsSpan().CopyTo(flat.Slice(model.Offsets[i], model.Sizes[i]));
        }
    }
}
