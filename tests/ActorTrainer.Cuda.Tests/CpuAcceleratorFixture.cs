using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace ActorTrainer.Cuda.Tests;

/// <summary>ILGPU CPU accelerators shared by a test class (creating contexts is slow): the default CPU device (groups
/// of at most 16 threads, as DeviceContext opens it) and one simulating an NVIDIA GPU (groups up to 1024 threads,
/// so the GEMM kernel runs with the 16×16 groups it uses on a GPU).</summary>
public sealed class CpuAcceleratorFixture : IDisposable
{
    private readonly Context _context;
    private readonly Context _gpuLike;

    public CpuAcceleratorFixture()
    {
        _context = Context.Create(b => b.CPU());
        _gpuLike = Context.Create(b => b.CPU(CPUDeviceKind.Nvidia));
        Accelerator = _context.CreateCPUAccelerator(0);
        GpuLike = _gpuLike.CreateCPUAccelerator(0);
    }

    /// <summary>The default CPU accelerator.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>A CPU accelerator with GPU-sized groups.</summary>
    public Accelerator GpuLike { get; }

    /// <summary>Copies `data` to a new device buffer.</summary>
    public static MemoryBuffer1D<float, Stride1D.Dense> Upload(Accelerator accelerator, float[] data)
    {
        var buffer = accelerator.Allocate1D<float>(data.Length);
        buffer.CopyFromCPU(data);
        return buffer;
    }

    public void Dispose()
    {
        Accelerator.Dispose();
        GpuLike.Dispose();
        _context.Dispose();
        _gpuLike.Dispose();
    }
}
