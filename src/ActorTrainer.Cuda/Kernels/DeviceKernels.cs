using ILGPU;
using ILGPU.Runtime;

namespace ActorTrainer.Cuda.Kernels;

/// <summary>The backend's kernels loaded (compiled) once per accelerator; each delegate launches on the
/// accelerator's default stream with the given number of threads (asynchronously on a GPU).</summary>
internal sealed class DeviceKernels
{
    public DeviceKernels(Accelerator acc)
    {
        GatherRows = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, int, int, ArrayView<float>>(LayerKernels.GatherRows);
        GatherInts = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, int, ArrayView<int>>(LayerKernels.GatherInts);
        BiasActivation = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int, ArrayView<float>>(LayerKernels.BiasActivation);
        BiasSoftmaxRows = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, ArrayView<float>>(LayerKernels.BiasSoftmaxRows);
        ActivationBackward = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(LayerKernels.ActivationBackward);
        SoftmaxBackwardRows = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(LayerKernels.SoftmaxBackwardRows);
        ColumnSum = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, int, ArrayView<float>>(LayerKernels.ColumnSum);
        Copy = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(LayerKernels.Copy);
        Multiply = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(LayerKernels.Multiply);
        DropoutMask = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<long>, int, int, int, int, double, float, ArrayView<float>>(DropoutKernel.Mask);
        LossRows = acc.LoadAutoGroupedStreamKernel<Index1D, LossArgs, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>>(LossKernels.Rows);
        CheckFinite = acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>>(OptimizerKernels.CheckFinite);
        Update = acc.LoadAutoGroupedStreamKernel<Index1D, OptArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<int>>(OptimizerKernels.Update);
    }

    public Action<Index1D, ArrayView<float>, ArrayView<int>, int, int, ArrayView<float>> GatherRows { get; }
    public Action<Index1D, ArrayView<int>, ArrayView<int>, int, ArrayView<int>> GatherInts { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, int, int, int, ArrayView<float>> BiasActivation { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, int, int, ArrayView<float>> BiasSoftmaxRows { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, int> ActivationBackward { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, int> SoftmaxBackwardRows { get; }
    public Action<Index1D, ArrayView<float>, int, int, ArrayView<float>> ColumnSum { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>> Copy { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> Multiply { get; }
    public Action<Index1D, ArrayView<long>, int, int, int, int, double, float, ArrayView<float>> DropoutMask { get; }
    public Action<Index1D, LossArgs, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ArrayView<int>> LossRows { get; }
    public Action<Index1D, ArrayView<float>, ArrayView<int>> CheckFinite { get; }
    public Action<Index1D, OptArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>> Update { get; }
}
