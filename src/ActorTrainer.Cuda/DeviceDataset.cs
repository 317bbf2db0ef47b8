using ActorTrainer.Core;
using ILGPU;
using ILGPU.Runtime;

namespace ActorTrainer.Cuda;

/// <summary>A dataset resident on the device: samples (Count × Features), and labels (sparse losses) or targets
/// (Count × outputs), copied once and checked against the plan on the way (features, label range).</summary>
internal sealed class DeviceDataset : IDisposable
{
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _x, _targets;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _labels;

    public DeviceDataset(DeviceContext dev, ModelPlan plan, ArrayData data, string what)
    {
        Source = data;
        Count = data.Count;
        Features = data.Features;
        int ow = plan.OutputDim;
        if (data.Features != plan.InputDim)
            throw new ShapeException($"{what}: the model takes {plan.InputDim} features per sample but the data has {data.Features}");
        if (plan.Loss.SparseTargets)
        {
            if (data.Labels is null) throw new ArgumentException($"{what}: the loss {plan.Loss.Name} needs integer labels");
            for (int r = 0; r < Count; r++)
                if ((uint)data.Labels[r] >= (uint)ow)
                    throw new ArgumentOutOfRangeException("labels", data.Labels[r], $"{what}: label {data.Labels[r]} of sample {r} is outside [0, {ow}) for an output of {ow} classes");
        }
        else if (data.Targets is null || data.Targets.Length < (long)Count * ow)
            throw new ArgumentException($"{what}: the loss {plan.Loss.Name} needs targets of {Count} × {ow} values");
        var acc = dev.Accelerator;
        _x = DeviceMemory.Allocate<float>(acc, (long)Count * Features, $"{what} ({Count} × {Features} samples)");
        _labels = DeviceMemory.Allocate<int>(acc, plan.Loss.SparseTargets ? Count : 0, $"{what} labels");
        _targets = DeviceMemory.Allocate<float>(acc, plan.Loss.SparseTargets ? 0 : (long)Count * ow, $"{what} targets");
        DeviceMemory.Upload(_x.View, data.X.AsSpan(0, Count * Features));
        if (plan.Loss.SparseTargets) DeviceMemory.Upload(_labels.View, data.Labels.AsSpan(0, Count));
        if (!plan.Loss.SparseTargets) DeviceMemory.Upload(_targets.View, data.Targets.AsSpan(0, Count * ow));
    }

    /// <summary>The host data this copy was made from.</summary>
    public ArrayData Source { get; }
    public int Count { get; }
    public int Features { get; }
    public ArrayView<float> X => _x.View;
    public ArrayView<int> Labels => _labels.View;
    public ArrayView<float> Targets => _targets.View;

    /// <summary>Frees the buffers.</summary>
    public void Dispose()
    {
        _x.Dispose(); _labels.Dispose(); _targets.Dispose();
    }
}
