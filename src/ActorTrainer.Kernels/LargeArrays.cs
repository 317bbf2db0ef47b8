using System.Runtime.InteropServices;

namespace ActorTrainer.Kernels;

/// <summary>
/// Allocation of large, long-lived arrays (a dataset's values): uninitialized, and from
/// <see cref="HugePageThreshold"/> bytes up pinned and, on Linux, advised to use transparent huge pages
/// (madvise MADV_HUGEPAGE over the whole 2 MB pages inside the array) before anything writes them — so that
/// filling them takes one page fault per 2 MB instead of per 4 KB (MNIST's 219 MB of float32 pixels: ~53 000 faults,
/// ~0.6 s of system time on a VM whose faults trap to the hypervisor), and random row reads miss the TLB less. Where
/// huge pages are off (transparent_hugepage = never) or the call fails, the array is an ordinary pinned array.
/// </summary>
internal static partial class LargeArrays
{
    /// <summary>Smallest array, in bytes, that is pinned and advised (16 MB: at least a few whole huge pages).</summary>
    internal const long HugePageThreshold = 16L << 20;

    private const nint HugePage = 2 << 20;
    private const int MadvHugePage = 14;

    /// <summary>A new array of `length` elements whose contents are undefined (the caller writes every one).</summary>
    internal static unsafe T[] AllocateUninitialized<T>(int length) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        long bytes = (long)length * sizeof(T);
        if (bytes < HugePageThreshold) return GC.AllocateUninitializedArray<T>(length);
        var array = GC.AllocateUninitializedArray<T>(length, pinned: true);
        if (OperatingSystem.IsLinux())
        {
            fixed (T* p = array)
            {
                nint start = ((nint)p + HugePage - 1) & ~(HugePage - 1);
                nint end = ((nint)p + (nint)bytes) & ~(HugePage - 1);
                if (end > start) Advise(start, (nuint)(end - start));
            }
        }
        return array;
    }

    /// <summary>madvise(MADV_HUGEPAGE): advisory, so any failure (no such call, huge pages off) changes nothing.</summary>
    private static void Advise(nint start, nuint length)
    {
        try { _ = Madvise(start, length, MadvHugePage); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = false)]
    private static partial int Madvise(nint address, nuint length, int advice);
}
