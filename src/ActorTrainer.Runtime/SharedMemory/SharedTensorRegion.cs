using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace ActorTrainer.Runtime.SharedMemory;

/// <summary>The coordinator's end of one connection's shared memory with a worker node on the same host: an owner-only
/// (0600) file in /dev/shm that both processes map. Large arrays of this end (a gradient buffer, the rows a worker
/// gathers) are <see cref="Place"/>d: the file is mapped over the whole pages inside the (pinned) array, so what the
/// node writes there is in the array without a copy, and what this end writes into the array is in the file; only the
/// partial pages at the two ends, and small arrays whole, are copied (<see cref="Publish"/>, <see cref="Collect"/>).
/// The first page holds a magic and a random nonce that the node checks. Dispose gives every array its own private
/// pages back with the same contents (one mremap per array: a thread reading it meanwhile sees the same values),
/// unpins it and removes the file. Linux only (<see cref="TryCreate"/> returns null elsewhere).</summary>
public sealed unsafe class SharedTensorRegion : IDisposable
{
    /// <summary>Where the files live and how their names start.</summary>
    internal const string Folder = "/dev/shm", Prefix = "actortrainer-";
    /// <summary>Arrays of at least this many bytes are mapped over; smaller ones are copied.</summary>
    internal const long MapOverBytes = 16 * SharedMemoryNative.Page;

    private readonly SafeFileHandle _file;
    private readonly byte* _base;
    private readonly object _gate = new();
    private readonly Dictionary<float[], Slot> _slots = new(ReferenceEqualityComparer.Instance);
    private readonly List<(long At, long Length, GCHandle Pin)> _mapped = [];
    private long _next = SharedMemoryNative.Page;
    private bool _disposed;

    private readonly record struct Slot(long Offset, int Head, int Tail);   // [Head, Tail) of the array is shared

    /// <summary>The file's path (what the node opens).</summary>
    public string Path { get; }
    /// <summary>The file's size in bytes.</summary>
    public long Size { get; }
    /// <summary>16 random bytes at offset 8 of the file; the node checks them against the Job frame's.</summary>
    public byte[] Nonce { get; } = RandomNumberGenerator.GetBytes(16);

    private SharedTensorRegion(string path, SafeFileHandle file, long size)
    {
        Path = path;
        _file = file;
        Size = size;
        _base = SharedMemoryNative.MapFile(Fd, size, $"shared memory {path}");
        SharedTensorMapping.Magic.CopyTo(new Span<byte>(_base, 8));
        Nonce.CopyTo(new Span<byte>(_base + 8, 16));
    }

    private int Fd => (int)_file.DangerousGetHandle();

    /// <summary>A new region of `bytes` (rounded up to pages, plus the header page), or null where there is no /dev/shm
    /// (not Linux) or it cannot be created; `why` then says why. `role` (lowercase ASCII letters), when given, ends the file's
    /// name (/dev/shm/actortrainer-PID-HEX-ROLE), so that what a file holds can be told from its name.</summary>
    public static SharedTensorRegion? TryCreate(long bytes, out string? why, string? role = null)
    {
        if (role is not null && (role.Length == 0 || !role.All(char.IsAsciiLetterLower)))
            throw new ArgumentException($"shared memory: role '{role}' is not lowercase ASCII letters", nameof(role));
        why = null;
        if (!OperatingSystem.IsLinux() || !Directory.Exists(Folder))
        {
            why = $"{Folder} does not exist here";
            return null;
        }
        SweepOnce();
        long size = SharedMemoryNative.Page + (bytes + SharedMemoryNative.Page - 1) / SharedMemoryNative.Page * SharedMemoryNative.Page;
        string path = System.IO.Path.Combine(Folder, $"{Prefix}{Environment.ProcessId}-{Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant()}{(role is null ? "" : "-" + role)}");
        FileStream? fs = null;
        try
        {
            fs = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.ReadWrite,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            var handle = fs.SafeFileHandle;
            RandomAccess.SetLength(handle, size);
            return new SharedTensorRegion(path, handle, size);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            fs?.Dispose();
            try { File.Delete(path); } catch (IOException) { }
            why = $"cannot create {path}: {e.Message}";
            return null;
        }
    }

    private static int s_swept;

    /// <summary>Once per process: removes the region files of processes that no longer run (a coordinator killed with
    /// -9 cannot remove its own); /dev/shm's sticky bit leaves other users' files alone.</summary>
    private static void SweepOnce()
    {
        if (Interlocked.Exchange(ref s_swept, 1) == 1) return;
        try
        {
            foreach (var f in Directory.EnumerateFiles(Folder, Prefix + "*"))
            {
                var rest = System.IO.Path.GetFileName(f)[Prefix.Length..];
                int dash = rest.IndexOf('-');
                if (dash > 0 && int.TryParse(rest[..dash], out int pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
                    try { File.Delete(f); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    /// <summary>Bytes from the first free page on, for data of `bytes` that this end copies in or out itself (labels,
    /// targets, the weights); returns the offset.</summary>
    public long Reserve(long bytes)
    {
        lock (_gate) return TryReserve(bytes) is var o && o >= 0 ? o : throw new IOException($"shared memory {Path}: no room for {bytes} more bytes ({Size} in all)");
    }

    private long TryReserve(long bytes)
    {
        long o = _next, end = o + (bytes + SharedMemoryNative.Page - 1) / SharedMemoryNative.Page * SharedMemoryNative.Page;
        if (bytes < 0 || end > Size) return -1;
        _next = end;
        return o;
    }

    /// <summary>The file offset of `a`'s element 0, placing it on first use: mapped over when large (pinned from now
    /// until Dispose), else given a slot that Publish and Collect copy. −1 when the region has no room left (the
    /// caller copies through a slot of its own).</summary>
    public long Place(float[] a)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_slots.TryGetValue(a, out var s)) return s.Offset;
            long bytes = a.Length * 4L;
            if (bytes < MapOverBytes)
            {
                long o = TryReserve(bytes);
                if (o < 0) return -1;
                _slots[a] = new Slot(o, 0, 0);
                return o;
            }
            var pin = GCHandle.Alloc(a, GCHandleType.Pinned);
            long at = (long)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(a)), inPage = at % SharedMemoryNative.Page;
            long first = at - inPage + SharedMemoryNative.Page * (inPage == 0 ? 0 : 1), end = (at + bytes) / SharedMemoryNative.Page * SharedMemoryNative.Page;
            long slot = TryReserve(inPage + bytes);
            if (slot < 0)
            {
                pin.Free();
                return -1;
            }
            long fileAt = slot + (first - (at - inPage));
            // the file takes the array's current contents, then replaces its pages
            Buffer.MemoryCopy((void*)first, _base + fileAt, end - first, end - first);
            SharedMemoryNative.MapFileOver(first, end - first, Fd, fileAt, $"shared memory {Path}");
            _mapped.Add((first, end - first, pin));
            _slots[a] = new Slot(slot + inPage, (int)((first - at) / 4), (int)((end - at) / 4));
            return slot + inPage;
        }
    }

    /// <summary>Copies what of `a` the file does not share with it into the file (`a` placed before).</summary>
    public void Publish(float[] a)
    {
        var s = Placed(a);
        var file = new Span<float>(_base + s.Offset, a.Length);
        a.AsSpan(0, s.Head).CopyTo(file);
        a.AsSpan(s.Tail).CopyTo(file[s.Tail..]);
    }

    /// <summary>Copies what of `a` the file does not share with it from the file into `a` (`a` placed before).</summary>
    public void Collect(float[] a)
    {
        var s = Placed(a);
        var file = new Span<float>(_base + s.Offset, a.Length);
        file[..s.Head].CopyTo(a);
        file[s.Tail..].CopyTo(a.AsSpan(s.Tail));
    }

    /// <summary>a's slot, with [Head, Tail) empty for a copied array.</summary>
    private Slot Placed(float[] a)
    {
        Slot s;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            s = _slots[a];
        }
        return s.Head == 0 && s.Tail == 0 ? s with { Head = a.Length, Tail = a.Length } : s;
    }

    /// <summary>`n` elements at file offset `offset` (inside a Reserve'd range).</summary>
    public Span<T> At<T>(long offset, int n) where T : unmanaged
    {
        if (offset < SharedMemoryNative.Page || offset + (long)n * sizeof(T) > Size) throw new ArgumentOutOfRangeException(nameof(offset));
        return new Span<T>(_base + offset, n);
    }

    /// <summary>Gives the placed arrays their private pages back (same contents), unpins them, unmaps and removes the file.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var (at, length, pin) in _mapped)
            {
                SharedMemoryNative.MakePrivate(at, length, $"shared memory {Path}");
                pin.Free();
            }
            _mapped.Clear();
            _slots.Clear();
            SharedMemoryNative.Unmap(_base, Size);
            _file.Dispose();
            try { File.Delete(Path); } catch (IOException) { }
        }
    }
}
