using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ActorTrainer.Kernels;

/// <summary>
/// Large, long-lived arrays (a training set, its decoded bytes): uninitialized, and on Linux pinned, with their memory
/// advised as transparent huge pages (<c>madvise(MADV_HUGEPAGE)</c>, which the kernel honours when
/// <c>/sys/kernel/mm/transparent_hugepage/enabled</c> is <c>madvise</c> or <c>always</c>). Their first writes then fault
/// 2 MiB pages instead of 512 pages of 4 KiB (MNIST's 188 MB of float32 on a 2-vCPU VM: 0.59 → 0.35 s, bench/RESULTS.md;
/// the training steps that gather its rows ran no faster or slower). Below <see cref="MinBytes"/>, elsewhere, when libc's madvise cannot
/// be found or with <see cref="KernelSettings.HugePages"/> off, a plain uninitialized array. The advice never changes
/// an array's contents.
/// </summary>
public static unsafe class LargeArrays
{
    /// <summary>Arrays of at least this many bytes (4 MiB) are advised; smaller ones gain nothing.</summary>
    public const long MinBytes = 4L << 20;

    private const long HugePage = 2L << 20;
    private const int MadvHugepage = 14;   // <sys/mman.h>, Linux

    private static readonly delegate* unmanaged<nint, nuint, int, int> s_madvise = FindMadvise();

    /// <summary>Whether large arrays are advised now (Linux, madvise found, <see cref="KernelSettings.HugePages"/> on).</summary>
    public static bool Advises => s_madvise is not null && KernelSettings.HugePages;

    /// <summary>An uninitialized array of `length` elements (≥ 0), advised as huge pages when it is large (see the type).</summary>
    public static T[] Allocate<T>(int length) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        long bytes = (long)length * sizeof(T);
        if (bytes < MinBytes || !Advises) return GC.AllocateUninitializedArray<T>(length);
        // pinned (the pinned object heap never moves it), so that the advice stays on the array's own pages
        var array = GC.AllocateUninitializedArray<T>(length, pinned: true);
        long start = (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        long from = (start + HugePage - 1) & ~(HugePage - 1), to = (start + bytes) & ~(HugePage - 1);
        if (to > from) _ = s_madvise((nint)from, (nuint)(to - from), MadvHugepage);   // advisory: a refusal changes nothing
        return array;
    }

    private static delegate* unmanaged<nint, nuint, int, int> FindMadvise()
    {
        if (!OperatingSystem.IsLinux()) return null;
        foreach (var name in new[] { "libc.so.6", "libc" })
            if (NativeLibrary.TryLoad(name, out var lib) && NativeLibrary.TryGetExport(lib, "madvise", out var f))
                return (delegate* unmanaged<nint, nuint, int, int>)f;
        return null;
    }
}

public static partial class KernelSettings
{
    // 0: not read yet; 1: on; 2: off
    private static int _hugePages;

    /// <summary>Whether <see cref="LargeArrays"/> advises large arrays as transparent huge pages (Linux). Default on; the
    /// environment variable ACTORTRAINER_HUGE_PAGES = 0 | false | off turns it off (to measure the difference),
    /// 1 | true | on keeps it on; any other value throws <see cref="KernelSettingException"/> at the first read.</summary>
    public static bool HugePages
    {
        get => ReadSwitch(ref _hugePages, HugePagesVariable, true);
        set => Volatile.Write(ref _hugePages, value ? 1 : 2);
    }

    /// <summary>The environment variable read by <see cref="HugePages"/>.</summary>
    public const string HugePagesVariable = "ACTORTRAINER_HUGE_PAGES";
}
