using ActorTrainer.Cuda.Blas;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace ActorTrainer.Cuda;

/// <summary>One opened device: the ILGPU context and accelerator and the GEMM implementation on its default stream
/// (cuBLAS on CUDA; on the CPU accelerator our CPU GEMM on the host buffers — the ILGPU GEMM kernel is tested there
/// on its own).</summary>
internal sealed class DeviceContext : IDisposable
{
    private DeviceContext(Context context, Accelerator accelerator, IDeviceBlas blas, string deviceName)
    {
        Context = context;
        Accelerator = accelerator;
        Blas = blas;
        DeviceName = deviceName;
    }

    public Context Context { get; }
    public Accelerator Accelerator { get; }
    public IDeviceBlas Blas { get; }
    public string DeviceName { get; }

    private Kernels.DeviceKernels? _kernels;

    /// <summary>The backend's kernels, compiled for this accelerator on first use.</summary>
    public Kernels.DeviceKernels Kernels => _kernels ??= new Kernels.DeviceKernels(Accelerator);

    /// <summary>Makes this device current on the calling thread (CUDA contexts are per thread; ILGPU binds an
    /// accelerator to the thread that created it). Every entry point that may run on another thread — a fit loop on
    /// the caller's thread, an actor's GPU worker on a pool thread — calls it first; cheap when already current.</summary>
    public void Enter()
    {
        if (!ReferenceEquals(Accelerator.Current, Accelerator)) Accelerator.Bind();
    }

    /// <summary>Opens the device `options` names; throws <see cref="CudaUnavailableException"/> naming what is missing.</summary>
    public static DeviceContext Open(CudaOptions options)
    {
        if (options.Device < 0)
            throw new CudaUnavailableException($"trainer.cuda.device must be >= 0, got {options.Device}");
        return options.Accelerator == DeviceKind.Cpu ? OpenCpu() : OpenCuda(options);
    }

    /// <summary>ILGPU's CPU accelerator with our CPU GEMM on its host buffers, or (gemmKernel, for tests) with the ILGPU
    /// GEMM kernel the GPU would run if it had no cuBLAS.</summary>
    internal static DeviceContext OpenCpu(bool gemmKernel = false)
    {
        var context = Context.Create(b => b.CPU().EnableAlgorithms().Profiling());
        try
        {
            var acc = context.CreateCPUAccelerator(0);
            IDeviceBlas blas = gemmKernel ? new IlgpuBlas(acc) : new HostBlas(acc);
            return new DeviceContext(context, acc, blas, "ILGPU CPU accelerator");
        }
        catch { context.Dispose(); throw; }
    }

    private static DeviceContext OpenCuda(CudaOptions options)
    {
        Context context;
        try { context = Context.Create(b => b.Cuda().EnableAlgorithms().Profiling()); }
        catch (Exception e)
        {
            throw new CudaUnavailableException($"trainer.backend = cuda: the CUDA driver could not be initialised ({e.Message}); {CudaUnavailableException.Fallback}", e);
        }
        try
        {
            var devices = new List<CudaDevice>();
            foreach (var d in context.GetCudaDevices()) devices.Add(d);
            if (devices.Count == 0)
                throw new CudaUnavailableException("trainer.backend = cuda: no CUDA device found (no NVIDIA driver, libcuda.so.1, or no GPU visible to this process); " +
                                                   CudaUnavailableException.Fallback);
            if (options.Device >= devices.Count)
                throw new CudaUnavailableException($"trainer.cuda.device = {options.Device}, but this machine has {devices.Count} CUDA device(s) " +
                                                   $"({string.Join(", ", Enumerable.Range(0, devices.Count).Select(i => $"{i}: {devices[i].Name}"))}); choose one of them or {CudaUnavailableException.Fallback}");
            var device = devices[options.Device];
            var acc = (CudaAccelerator)device.CreateAccelerator(context);
            try
            {
                var blas = Cublas.Create(acc, options.Tf32);
                var name = $"{device.Name} ({device.Architecture}, {device.MemorySize / (1024.0 * 1024 * 1024):0.0} GiB)";
                return new DeviceContext(context, acc, blas, name);
            }
            catch { acc.Dispose(); throw; }
        }
        catch { context.Dispose(); throw; }
    }

    /// <summary>Frees the accelerator and the context.</summary>
    public void Dispose()
    {
        Enter();
        Blas.Dispose();
        Accelerator.Dispose();
        Context.Dispose();
    }
}
