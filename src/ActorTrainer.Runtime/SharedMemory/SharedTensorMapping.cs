using Microsoft.Win32.SafeHandles;

namespace ActorTrainer.Runtime.SharedMemory;

/// <summary>A worker node's end of a connection's shared memory (<see cref="SharedTensorRegion"/>): the file the
/// coordinator named, mapped after checks that keep a peer from pointing the node at anything else — a plain file
/// directly in /dev/shm whose name starts with "actortrainer-", not a link, mode 0600 (so that opening it for writing
/// proves it is this user's), of the announced size, with the magic and the nonce the Job frame carried.
/// <see cref="Floats"/> and <see cref="Ints"/> check every range against the file before handing it out.</summary>
public sealed unsafe class SharedTensorMapping : IDisposable
{
    /// <summary>The first 8 bytes of every region file.</summary>
    internal static ReadOnlySpan<byte> Magic => "ATSHM001"u8;

    private readonly SafeFileHandle _file;
    private readonly byte* _base;
    private bool _disposed;

    /// <summary>The file's size in bytes.</summary>
    public long Size { get; }

    private SharedTensorMapping(SafeFileHandle file, long size, byte* at)
    {
        _file = file;
        Size = size;
        _base = at;
    }

    /// <summary>Opens and maps the file at `path` of `size` bytes carrying `nonce` (`readOnly`: pages this end only
    /// reads, such as the weights; a write there faults); InvalidDataException names what does not match.</summary>
    public static SharedTensorMapping Open(string path, long size, ReadOnlySpan<byte> nonce, bool readOnly = false)
    {
        if (!OperatingSystem.IsLinux()) throw new InvalidDataException("shared memory: only on Linux");
        string name = Path.GetFileName(path);
        if (Path.GetDirectoryName(path) != SharedTensorRegion.Folder || !name.StartsWith(SharedTensorRegion.Prefix, StringComparison.Ordinal)
            || name.Contains("..", StringComparison.Ordinal))
            throw new InvalidDataException($"shared memory: '{path}' is not a file {SharedTensorRegion.Folder}/{SharedTensorRegion.Prefix}*");
        if (size < 2 * SharedMemoryNative.Page || size % SharedMemoryNative.Page != 0 || size > 1L << 40)
            throw new InvalidDataException($"shared memory: size {size} is not a whole number of pages in [8192, 2^40]");
        var info = new FileInfo(path);
        if (!info.Exists || info.LinkTarget is not null || info.Attributes.HasFlag(FileAttributes.ReparsePoint))
            throw new InvalidDataException($"shared memory: '{path}' does not exist or is a link");
        SafeFileHandle file;
        try { file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"shared memory: cannot open '{path}': {e.Message}", e);
        }
        try
        {
            var mode = File.GetUnixFileMode(file);
            if (mode != (UnixFileMode.UserRead | UnixFileMode.UserWrite))
                throw new InvalidDataException($"shared memory: '{path}' has mode {mode}, expected owner read and write only");
            long length = RandomAccess.GetLength(file);
            if (length != size) throw new InvalidDataException($"shared memory: '{path}' has {length} bytes, the job announced {size}");
            byte* at = SharedMemoryNative.MapFile((int)file.DangerousGetHandle(), size, $"shared memory {path}", readOnly);
            if (!new ReadOnlySpan<byte>(at, 8).SequenceEqual(Magic) || !new ReadOnlySpan<byte>(at + 8, 16).SequenceEqual(nonce))
            {
                SharedMemoryNative.Unmap(at, size);
                throw new InvalidDataException($"shared memory: '{path}' does not carry the job's magic and nonce");
            }
            return new SharedTensorMapping(file, size, at);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>`n` floats at byte offset `offset`, after the header page; InvalidDataException naming `what` when the
    /// range is not inside the file or not 4-byte aligned.</summary>
    public Memory<float> Floats(long offset, int n, string what) => new SharedMemoryNative.Manager<float>((float*)At(offset, n, what), n).Memory;

    /// <summary>`n` Int32 at byte offset `offset` (checked as <see cref="Floats"/>).</summary>
    public Memory<int> Ints(long offset, int n, string what) => new SharedMemoryNative.Manager<int>((int*)At(offset, n, what), n).Memory;

    private byte* At(long offset, int n, string what)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (n < 0 || offset < SharedMemoryNative.Page || offset % 4 != 0 || offset + 4L * n > Size)
            throw new InvalidDataException($"shared memory: {what} at byte {offset} ({n} elements) is not inside the file's {Size} bytes after its header");
        return _base + offset;
    }

    /// <summary>Unmaps the file.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        SharedMemoryNative.Unmap(_base, Size);
        _file.Dispose();
    }
}
