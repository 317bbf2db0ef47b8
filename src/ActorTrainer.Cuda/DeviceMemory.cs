using ILGPU;
using ILGPU.Runtime;

namespace ActorTrainer.Cuda;

/// <summary>Device allocations that fail with a message naming what was asked for: the buffer's purpose, its size
/// and the device's memory (<see cref="CudaOutOfMemoryException"/>).</summary>
internal static class DeviceMemory
{
    /// <summary>A zeroed device buffer of `count` elements (at least 1, so views are never empty) for `what`.</summary>
    public static MemoryBuffer1D<T, Stride1D.Dense> Allocate<T>(Accelerator acc, long count, string what) where T : unmanaged
    {
        var n = Math.Max(1L, count);
        var bytes = n * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        try
        {
            var buffer = acc.Allocate1D<T>(n);
            buffer.MemSetToZero();
            return buffer;
        }
        catch (Exception e) when (IsOutOfMemory(e))
        {
            throw new CudaOutOfMemoryException(
                $"out of device memory: {what} needs {Size(bytes)} ({n} × {bytes / n} B) on {acc.Name}, which has {Size(acc.MemorySize)} in all; " +
                "use a smaller trainer.batch-size or model, or train on the CPU with --set trainer.backend=cpu", e);
        }
    }

    private static bool IsOutOfMemory(Exception e) =>
        e is OutOfMemoryException ||
        e.Message.Contains("OUT_OF_MEMORY", StringComparison.OrdinalIgnoreCase) ||
        e.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase);

    /// <summary>"1.6 MB", "139.8 GiB": a byte count for messages.</summary>
    public static string Size(long bytes) =>
        bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.0} GiB" : bytes >= 1L << 20 ? $"{bytes / (double)(1L << 20):0.0} MiB" : $"{bytes} B";
}
