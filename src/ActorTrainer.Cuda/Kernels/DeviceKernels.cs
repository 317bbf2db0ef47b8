using ILGPU;
using ILGPU.Runtime;

namespace ActorTrainer.Cuda.Kernels;

/// <summary>The backend's kernels loaded (compiled) once per accelerator, in parallel (ILGPU's compiler is thread-safe;
/// on a GPU most of the start-up is this compilation); each delegate launches on the accelerator's default stream with
/// the given number of threads (asynchronously on a GPU).</summary>
internal sealed class DeviceKernels
{
    public DeviceKernels(Accelerator acc)
    {
        var gatherRows = Compile(acc, () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, int, int, ArrayView<float>>(LayerKernels.GatherRows));
        var gatherInts = Compile(acc, () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, int, ArrayView<int>>(LayerKernels.GatherInts));
        var biasActivation = Compile(acc, () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int, ArrayView<float>>(LayerKernels.BiasActivation));
        var biasSoftmaxRows = Compile(acc, () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, ArrayView<float>>(LayerKernels.BiasSoftmaxRows));
        var activationBackward = Compile(acc, () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(LayerKernels.ActivationBackward));
        var softmaxBackwardRows = Compile(acc, () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(LayerKernels.SoftmaxBackwardRows));
        var columnSum = Compile(acc, () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, int, ArrayView<float>>(LayerKernels.ColumnSum));
        var copy = Compile(acc, () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(LayerKernels.Copy));
        var multiply = Compile(acc, () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(LayerKernels.Multiply));
        var dropoutMask = Compile(acc, () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<long>, int, int, int, int, double, float, ArrayView<float>>(DropoutKernel.Mask));
        var lossRows = Compile(acc, () => acc.LoadAutoGroupedStreamKernel<Index1D, LossArgs, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>>(LossKernels.Rows));
        var checkFinite = Compile(acc, () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>>(OptimizerKernels.CheckFinite));
        var carryFlag = Compile(acc, () => acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>>(OptimizerKernels.CarryFlag));
        var update = Compile(acc, () => acc.LoadAutoGroupedStreamKernel<Index1D, OptArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<int>>(OptimizerKernels.Update));
        GatherRows = gatherRows.GetAwaiter().GetResult();
        GatherInts = gatherInts.GetAwaiter().GetResult();
        BiasActivation = biasActivation.GetAwaiter().GetResult();
        BiasSoftmaxRows = biasSoftmaxRows.GetAwaiter().GetResult();
        ActivationBackward = activationBackward.GetAwaiter().GetResult();
        SoftmaxBackwardRows = softmaxBackwardRows.GetAwaiter().GetResult();
        ColumnSum = columnSum.GetAwaiter().GetResult();
        Copy = copy.GetAwaiter().GetResult();
        Multiply = multiply.GetAwaiter().GetResult();
        DropoutMask = dropoutMask.GetAwaiter().GetResult();
        LossRows = lossRows.GetAwaiter().GetResult();
        CheckFinite = checkFinite.GetAwaiter().GetResult();
        CarryFlag = carryFlag.GetAwaiter().GetResult();
        Update = update.GetAwaiter().GetResult();
    }

    /// <summary>Loads one kernel on a pool thread with the accelerator bound to it (CUDA contexts are per thread).</summary>
    private static Task<T> Compile<T>(Accelerator acc, Func<T> load) => Task.Run(() =>
    {
        acc.Bind();
        return load();
    });

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
    public Action<Index1D, ArrayView<int>> CarryFlag { get; }
    public Action<Index1D, OptArgs, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>> Update { get; }
}
