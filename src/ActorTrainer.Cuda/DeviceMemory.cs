using ILGPU;
using ILGPU.Runtime;
using System.Runtime.CompilerServices;

namespace ActorTrainer.Cuda;

/// <summary>Device allocations that fail with a message naming what was asked for: the buffer's purpose, its size
/// and the device's memory (<see cref="CudaOutOfMemoryException"/>); and the backend's host↔device copies, with the
/// host memory pinned.</summary>
internal static class DeviceMemory
{
    // ILGPU 1.5's CopyToCPU(ref T, n) / CopyFromCPU(ref T, n) take the address of `ref T` without pinning it: when the
    // ref points into a managed array, a GC during the copy (another thread's, or the one ILGPU's own allocation of a
    // pointer wrapper triggers) moves the array and the copy reads or writes where it used to be — wrong values, or a
    // corrupted heap. Every copy of this backend goes through Upload / Download, which pin the span for the copy.

    /// <summary>device[0..src.Length) ← src (host → device), waiting for the copy; src is pinned while it runs.</summary>
    public static unsafe void Upload<T>(ArrayView<T> device, ReadOnlySpan<T> src) where T : unmanaged
    {
        if (src.IsEmpty) return;
        fixed (T* p = src) device.SubView(0, src.Length).CopyFromCPU(ref Unsafe.AsRef<T>(p), src.Length);
    }

    /// <summary>dst ← device[0..dst.Length) (device → host), waiting for the queued work and the copy; dst is pinned
    /// while it runs.</summary>
    public static unsafe void Download<T>(ArrayView<T> device, Span<T> dst) where T : unmanaged
    {
        if (dst.IsEmpty) return;
        fixed (T* p = dst) device.SubView(0, dst.Length).CopyToCPU(ref Unsafe.AsRef<T>(p), dst.Length);
    }

    /// <summary>A zeroed device buffer of `count` elements (at least 1, so views are never empty) for `what`.</summary>
    public static MemoryBuffer1D<T, Stride1D.Dense> Allocate<T>(Accelerator acc, long count, string what) where T : unmanaged
    {
        var n = Math.Max(1L, count);
        var bytes = n * Unsafe.SizeOf<T>();
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
                CudaOutOfMemoryException.Advice, e);
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
