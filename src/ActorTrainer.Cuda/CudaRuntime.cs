using ActorTrainer.Core;

namespace ActorTrainer.Cuda;

/// <summary>The GPU step runtime (<c>trainer.backend = cuda</c>): weights, optimizer state, the training set and the
/// activations live on the device for the whole run; each step is a handful of fused ILGPU kernels plus cuBLAS GEMMs
/// on one stream, with one small copy back (the batch's loss and hits). Also the inference backend of
/// predict/evaluate. One runtime owns one device; dispose it to free the device.</summary>
public sealed class CudaRuntime : IStepRuntime, IInferenceBackend, IDisposable
{
    private readonly DeviceContext _device;

    /// <summary>Opens the configured device; throws <see cref="CudaUnavailableException"/> (one line naming what is
    /// missing and the fallback) when there is no driver, no such device or no cuBLAS.</summary>
    public CudaRuntime(CudaOptions options)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
        _device = DeviceContext.Open(options);
    }

    /// <summary>The options the device was opened with.</summary>
    public CudaOptions Options { get; }

    /// <summary>The device, e.g. "NVIDIA H200 (SM_90, 139.8 GiB)" or "ILGPU CPU accelerator".</summary>
    public string DeviceName => _device.DeviceName;

    /// <summary>The GEMM implementation, e.g. "cuBLAS (TF32 off)" or "ILGPU GEMM kernel".</summary>
    public string BlasName => _device.Blas.Name;

    /// <summary>"cuda".</summary>
    public string Name => "cuda";

    internal DeviceContext Device => _device;

    /// <inheritdoc/>
    public IStepExecutor Start(StepJob job, FitCheckpoint start) => CudaStepExecutor.Create(_device, job, start);

    /// <inheritdoc/>
    public float[] Predict(ModelPlan plan, float[][] weights, float[] x, int rows, int batchSize) =>
        CudaInference.Predict(_device, plan, weights, x, rows, batchSize);

    /// <inheritdoc/>
    public ShardStats Evaluate(ModelPlan plan, float[][] weights, ArrayData data, int batchSize) =>
        CudaInference.Evaluate(_device, plan, weights, data, batchSize);

    /// <summary>Frees the device.</summary>
    public void Dispose() => _device.Dispose();
}
