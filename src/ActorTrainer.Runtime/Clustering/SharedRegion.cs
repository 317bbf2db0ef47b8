using System.IO.MemoryMappedFiles;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>Where one remote worker's tensors lie in its <see cref="SharedRegion"/> (byte offsets, 64-byte aligned):
/// the weights (all tensors back to back, P floats), the gradient (P floats), the shard's rows (maxRows × input
/// floats), labels (maxRows Int32) and targets (maxRows × output floats).</summary>
internal readonly record struct SharedLayout(long Weights, long Gradient, long X, long Labels, long Targets, long Bytes)
{
    /// <summary>The layout for a model of `parameters` floats and shards of at most maxRows rows.</summary>
    public static SharedLayout For(long parameters, int maxRows, int inputDim, int outputDim)
    {
        static long Up(long n) => (n + 63) & ~63L;
        long w = 0, g = Up(w + 4 * parameters), x = Up(g + 4 * parameters), l = Up(x + 4L * maxRows * inputDim),
            t = Up(l + 4L * maxRows), end = Up(t + 4L * maxRows * outputDim);
        return new SharedLayout(w, g, x, l, t, Math.Max(end, 64));
    }
}

/// <summary>
/// A file in /dev/shm mapped by a coordinator and a worker node on the same host, so that a shard's rows, the weights
/// and the gradient pass through memory instead of the loopback socket (the socket still carries every frame header,
/// in order, so a frame's arrival tells the reader its data is in place). The coordinator creates the file (mode
/// 0600, a random name), names it in the Job frame and deletes its name once the node has mapped it; the node opens
/// only names of that form, of exactly the expected size.
/// </summary>
internal sealed unsafe partial class SharedRegion : IDisposable
{
    private const string Directory = "/dev/shm";
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private bool _named, _disposed;

    private SharedRegion(string path, MemoryMappedFile file, long bytes, bool named)
    {
        Path = path;
        Bytes = bytes;
        _named = named;
        _file = file;
        _view = file.CreateViewAccessor(0, bytes, MemoryMappedFileAccess.ReadWrite);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + _view.PointerOffset;
    }

    /// <summary>The file's path (its name is deleted once both ends mapped it).</summary>
    public string Path { get; }

    /// <summary>Size of the mapping in bytes.</summary>
    public long Bytes { get; }

    /// <summary>Whether shared regions can be used here (Linux with /dev/shm).</summary>
    public static bool Supported => OperatingSystem.IsLinux() && System.IO.Directory.Exists(Directory);

    /// <summary>Whether a coordinator should offer a region to a node at `host`: a loopback address (the same machine).</summary>
    public static bool IsLocal(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var a) && IPAddress.IsLoopback(a));

    /// <summary>Creates a new region of `bytes` bytes (coordinator side).</summary>
    public static SharedRegion Create(long bytes)
    {
        var path = System.IO.Path.Combine(Directory, $"actortrainer-dp-{Guid.NewGuid():N}");
        var fs = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.ReadWrite,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        try
        {
            fs.SetLength(bytes);
            return new SharedRegion(path, MemoryMappedFile.CreateFromFile(fs, null, bytes, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, false), bytes, true);
        }
        catch
        {
            fs.Dispose();
            File.Delete(path);
            throw;
        }
    }

    /// <summary>Maps the region a coordinator named (node side), or returns null with the reason when it cannot be used
    /// here (another host, gone, wrong size). A name not of the form the coordinator creates is refused outright.</summary>
    public static SharedRegion? TryOpen(string path, long bytes, out string? why)
    {
        if (!NamePattern().IsMatch(path)) throw new InvalidDataException($"shared-memory path '{path}' is not of the form {Directory}/actortrainer-dp-<32 hex digits>");
        why = null;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.LinkTarget is not null) { why = $"{path} does not exist here (another host?)"; return null; }
            if (info.Length != bytes) { why = $"{path} has {info.Length} bytes, expected {bytes}"; return null; }
            var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            return new SharedRegion(path, MemoryMappedFile.CreateFromFile(fs, null, bytes, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, false), bytes, false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            why = $"{path}: {e.Message}";
            return null;
        }
    }

    /// <summary>`count` elements of T at byte offset `offset` of the mapping.</summary>
    public Span<T> At<T>(long offset, int count) where T : unmanaged
    {
        if (offset < 0 || count < 0 || offset + (long)count * sizeof(T) > Bytes)
            throw new ArgumentOutOfRangeException(nameof(offset), $"{count} elements at byte {offset} exceed the {Bytes}-byte shared region");
        return new Span<T>(_base + offset, count);
    }

    /// <summary>Copies tensors into consecutive floats starting at byte `offset`.</summary>
    public void Write(long offset, float[][] tensors)
    {
        foreach (var t in tensors) { t.CopyTo(At<float>(offset, t.Length)); offset += 4L * t.Length; }
    }

    /// <summary>Copies consecutive floats starting at byte `offset` into the tensors (each its own length, or `lengths`).</summary>
    public void Read(long offset, float[][] tensors, int[]? lengths = null)
    {
        for (int i = 0; i < tensors.Length; i++)
        {
            int n = lengths?[i] ?? tensors[i].Length;
            At<float>(offset, n).CopyTo(tensors[i]);
            offset += 4L * n;
        }
    }

    /// <summary>Deletes the file's name (the mapping stays valid until both ends dispose it).</summary>
    public void Unlink()
    {
        if (!_named) return;
        _named = false;
        try { File.Delete(Path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Unmaps the region (and deletes its name if this end created it and has not yet).</summary>
    public void Dispose()
    {
        Unlink();
        if (_disposed) return;
        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }

    [GeneratedRegex("^/dev/shm/actortrainer-dp-[0-9a-f]{32}$")]
    private static partial Regex NamePattern();
}
