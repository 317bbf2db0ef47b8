using System.Buffers;
using System.Runtime.InteropServices;

namespace ActorTrainer.Runtime.SharedMemory;

/// <summary>The Linux calls behind <see cref="SharedTensorRegion"/> and <see cref="SharedTensorMapping"/> (libc).</summary>
internal static unsafe partial class SharedMemoryNative
{
    internal const long Page = 4096;
    private const int ProtRead = 1, ProtReadWrite = 3, MapShared = 0x01, MapPrivate = 0x02, MapFixed = 0x10, MapAnonymous = 0x20;
    private const int MremapMaymove = 1, MremapFixed = 2;
    private static readonly IntPtr Failed = new(-1);

    [LibraryImport("libc", SetLastError = true)]
    private static partial IntPtr mmap(IntPtr addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munmap(IntPtr addr, nuint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial IntPtr mremap(IntPtr oldAddress, nuint oldSize, nuint newSize, int flags, IntPtr newAddress);

    /// <summary>Maps `length` bytes of the file `fd` from offset 0, shared, readable and (unless `readOnly`) writable.</summary>
    internal static byte* MapFile(int fd, long length, string what, bool readOnly = false) =>
        (byte*)Check(mmap(IntPtr.Zero, (nuint)length, readOnly ? ProtRead : ProtReadWrite, MapShared, fd, 0), what);

    /// <summary>Maps the file's bytes [offset, offset + length) over the page-aligned address range [at, at + length),
    /// replacing what was mapped there.</summary>
    internal static void MapFileOver(long at, long length, int fd, long offset, string what)
    {
        if (Check(mmap((IntPtr)at, (nuint)length, ProtReadWrite, MapShared | MapFixed, fd, (nint)offset), what) != (IntPtr)at)
            throw new IOException($"{what}: mmap did not map at the address asked for");
    }

    /// <summary>Replaces the shared pages at [at, at + length) with private anonymous pages holding the same bytes, in one
    /// step (the new pages are filled first, then moved over the old ones by mremap): a thread that reads the range
    /// meanwhile sees the same values throughout.</summary>
    internal static void MakePrivate(long at, long length, string what)
    {
        var fresh = Check(mmap(IntPtr.Zero, (nuint)length, ProtReadWrite, MapPrivate | MapAnonymous, -1, 0), what);
        Buffer.MemoryCopy((void*)at, (void*)fresh, length, length);
        if (Check(mremap(fresh, (nuint)length, (nuint)length, MremapMaymove | MremapFixed, (IntPtr)at), what) != (IntPtr)at)
            throw new IOException($"{what}: mremap did not move the pages to the address asked for");
    }

    internal static void Unmap(byte* at, long length) => munmap((IntPtr)at, (nuint)length);

    private static IntPtr Check(IntPtr r, string what) =>
        r == Failed ? throw new IOException($"{what}: {Marshal.GetLastPInvokeErrorMessage()} (errno {Marshal.GetLastPInvokeError()})") : r;

    /// <summary>Memory&lt;T&gt; over `n` elements at `p` (inside a mapping that outlives every use of it).</summary>
    internal sealed class Manager<T>(T* p, int n) : MemoryManager<T> where T : unmanaged
    {
        public override Span<T> GetSpan() => new(p, n);
        public override MemoryHandle Pin(int elementIndex = 0) => new(p + elementIndex);
        public override void Unpin() { }
        protected override void Dispose(bool disposing) { }
    }
}
