using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ActorTrainer.Kernels;

/// <summary>
/// Large, long-lived arrays (a training set, its decoded bytes): uninitialized, and on Linux with their pages faulted
/// in by one <c>madvise(MADV_POPULATE_WRITE)</c> call (Linux 5.14+) before the caller fills them — the kernel zeroes and
/// maps all of them in one pass instead of taking one page fault per 4 KiB page on the first writes (MNIST's 188 MB
/// of float32 on a 2-vCPU VM: 0.50 → 0.26 s to allocate and fill, bench/RESULTS.md). The pages stay ordinary 4 KiB
/// pages. Optionally (<see cref="KernelSettings.HugePages"/>, off by default) the array is pinned and its memory advised
/// as transparent huge pages first (<c>MADV_HUGEPAGE</c>, honoured when
/// <c>/sys/kernel/mm/transparent_hugepage/enabled</c> is <c>madvise</c> or <c>always</c>): no faster than prefaulting,
/// and it leaves the advice on memory the GC later hands to other objects. Below <see cref="MinBytes"/>, elsewhere,
/// when libc's madvise cannot be found, on a kernel that refuses the advice or with both switches off, a plain
/// uninitialized array. Neither step ever changes an array's contents.
/// </summary>
public static unsafe class LargeArrays
{
    /// <summary>Arrays of at least this many bytes (4 MiB) are prefaulted or advised; smaller ones gain nothing.</summary>
    public const long MinBytes = 4L << 20;

    private const long HugePage = 2L << 20, Page = 4096;
    private const int MadvHugepage = 14, MadvPopulateWrite = 23;   // <sys/mman.h>, Linux

    private static readonly delegate* unmanaged<nint, nuint, int, int> s_madvise = FindMadvise();

    /// <summary>Whether large arrays are advised as huge pages now (Linux, madvise found, <see cref="KernelSettings.HugePages"/> on).</summary>
    public static bool Advises => s_madvise is not null && KernelSettings.HugePages;

    /// <summary>Whether large arrays are prefaulted now (Linux, madvise found, <see cref="KernelSettings.Prefault"/> on;
    /// a kernel older than 5.14 refuses the call, which then changes nothing).</summary>
    public static bool Prefaults => s_madvise is not null && KernelSettings.Prefault;

    /// <summary>An uninitialized array of `length` elements (≥ 0), prefaulted and/or advised when it is large (see the type).</summary>
    public static T[] Allocate<T>(int length) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        long bytes = (long)length * sizeof(T);
        bool advise = Advises, prefault = Prefaults;
        if (bytes < MinBytes || !(advise || prefault)) return GC.AllocateUninitializedArray<T>(length);
        // pinned when advised (the pinned object heap never moves it), so that the advice stays on the array's own pages
        var array = GC.AllocateUninitializedArray<T>(length, pinned: advise);
        long start = (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        if (advise) Advise(start, bytes, HugePage, MadvHugepage);
        if (prefault) Advise(start, bytes, Page, MadvPopulateWrite);
        GC.KeepAlive(array);
        return array;
    }

    /// <summary>madvise over the whole `unit`-aligned pages inside [start, start + bytes); advisory: a refusal changes nothing.</summary>
    private static void Advise(long start, long bytes, long unit, int advice)
    {
        long from = (start + unit - 1) & ~(unit - 1), to = (start + bytes) & ~(unit - 1);
        if (to > from) _ = s_madvise((nint)from, (nuint)(to - from), advice);
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
    private static int _hugePages, _prefault;

    /// <summary>Whether <see cref="LargeArrays"/> pins large arrays and advises them as transparent huge pages (Linux).
    /// Default off (it was on until 2026-12-04): prefaulting gains as much, and the advice stays on memory the GC later
    /// hands to other objects (bench/RESULTS.md). The environment variable ACTORTRAINER_HUGE_PAGES = 1 | true | on turns it on, 0 | false | off
    /// keeps it off; any other value throws <see cref="KernelSettingException"/> at the first read.</summary>
    public static bool HugePages
    {
        get => ReadSwitch(ref _hugePages, HugePagesVariable, false);
        set => Volatile.Write(ref _hugePages, value ? 1 : 2);
    }

    /// <summary>The environment variable read by <see cref="HugePages"/>.</summary>
    public const string HugePagesVariable = "ACTORTRAINER_HUGE_PAGES";

    /// <summary>Whether <see cref="LargeArrays"/> prefaults large arrays' pages (Linux 5.14+, MADV_POPULATE_WRITE).
    /// Default on; the environment variable ACTORTRAINER_PREFAULT = 0 | false | off turns it off (to measure the
    /// difference), 1 | true | on keeps it on; any other value throws <see cref="KernelSettingException"/> at the first read.</summary>
    public static bool Prefault
    {
        get => ReadSwitch(ref _prefault, PrefaultVariable, true);
        set => Volatile.Write(ref _prefault, value ? 1 : 2);
    }

    /// <summary>The environment variable read by <see cref="Prefault"/>.</summary>
    public const string PrefaultVariable = "ACTORTRAINER_PREFAULT";
}
