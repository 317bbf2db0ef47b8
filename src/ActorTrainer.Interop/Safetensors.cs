using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace ActorTrainer.Interop;

/// <summary>Element types supported in safetensors files (spec names F32, F64, I32).</summary>
public enum SafetensorsDType
{
    /// <summary>32-bit IEEE float ("F32").</summary>
    F32,
    /// <summary>64-bit IEEE float ("F64").</summary>
    F64,
    /// <summary>32-bit signed integer ("I32").</summary>
    I32,
}

/// <summary>A named tensor of any supported dtype: Data is float[] (F32), double[] (F64) or int[] (I32), row-major, length == product(Shape).</summary>
/// <param name="Name">The tensor's name.</param>
/// <param name="DType">Element type: F32, F64 or I32.</param>
/// <param name="Shape">Dimensions; empty for a scalar.</param>
/// <param name="Data">The values, product(Shape) of them, row-major: float[] (F32), double[] (F64) or int[] (I32).</param>
public sealed record TypedTensor(string Name, SafetensorsDType DType, int[] Shape, Array Data)
{
    /// <summary>Wraps a float32 <see cref="NamedTensor"/> as an F32 typed tensor (no copy).</summary>
    public static TypedTensor FromNamed(NamedTensor t) => new(t.Name, SafetensorsDType.F32, t.Shape, t.Data);
}

/// <summary>
/// Reader/writer for the safetensors format: u64 LE header length N, N bytes of UTF-8 JSON header (space-padded to
/// 8-byte alignment) mapping names to {dtype, shape, data_offsets} plus optional "__metadata__", then contiguous LE data.
/// Files are streamed in both directions (no buffer holds the whole file), so files over 2 GB read and write; the
/// header is validated against the file length before any tensor is allocated.
/// </summary>
public static class Safetensors
{
    /// <summary>Elements copied per read/write call when streaming tensor data (4–8 MB).</summary>
    private const int ChunkElements = 1 << 20;

    /// <summary>Writes float32 tensors (in list order) and optional string metadata to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, IReadOnlyList<NamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var typed = new TypedTensor[tensors.Count];
        for (var i = 0; i < tensors.Count; i++)
            typed[i] = TypedTensor.FromNamed(tensors[i] ?? throw new ArgumentException($"Tensor #{i} is null.", nameof(tensors)));
        WriteTyped(path, typed, metadata);
    }

    /// <summary>Writes tensors of dtype F32/F64/I32 (in list order, contiguous) and optional metadata to <paramref name="path"/>
    /// atomically (temp file, fsync, rename), streaming each tensor's bytes.</summary>
    public static void WriteTyped(string path, IReadOnlyList<TypedTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var offsets = new long[tensors.Count + 1];
        for (var i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i] ?? throw new ArgumentException($"Tensor #{i} is null.", nameof(tensors));
            ValidateForWrite(t, i);
            if (!names.Add(t.Name))
                throw new ArgumentException($"Duplicate tensor name '{t.Name}' (tensor #{i}).", nameof(tensors));
            offsets[i + 1] = offsets[i] + (long)t.Data.Length * ElementSize(t.DType);
        }

        var header = SafetensorsHeader.Build(tensors, offsets, metadata);
        EnsureLittleEndian();
        AtomicFile.Write(path, stream =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            stream.Write(len);
            stream.Write(header);
            foreach (var t in tensors)
            {
                switch (t.Data)
                {
                    case float[] f: WriteChunked<float>(stream, f); break;
                    case double[] d: WriteChunked<double>(stream, d); break;
                    case int[] n: WriteChunked<int>(stream, n); break;
                }
            }
        });
    }

    /// <summary>Reads a safetensors file whose tensors are all F32; returns tensors in header order and the metadata map.
    /// Throws InvalidDataException naming the file for malformed content.</summary>
    public static (IReadOnlyList<NamedTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) Read(string path)
    {
        var (typed, metadata) = ReadTyped(path);
        var result = new List<NamedTensor>(typed.Count);
        foreach (var t in typed)
        {
            if (t.DType != SafetensorsDType.F32)
                throw new InvalidDataException($"Safetensors file '{path}': tensor '{t.Name}' has dtype {t.DType}, not F32; use Safetensors.ReadTyped.");
            result.Add(new NamedTensor(t.Name, t.Shape, (float[])t.Data));
        }
        return (result, metadata);
    }

    /// <summary>Reads only the header of a safetensors file (names, dtypes, shapes, offsets, metadata), validated against the
    /// file length; lets a caller check shapes and sizes before any tensor data is read.</summary>
    public static SafetensorsHeader ReadHeader(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return SafetensorsHeader.Parse(fs, path);
    }

    /// <summary>Reads a safetensors file with F32/F64/I32 tensors; returns tensors in header order and the metadata map.
    /// Throws InvalidDataException naming the file for malformed content, InsufficientMemoryException naming the bytes
    /// when the tensors need more memory than the process has available.</summary>
    public static (IReadOnlyList<TypedTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) ReadTyped(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        EnsureLittleEndian();
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var header = SafetensorsHeader.Parse(fs, path);
        long dataBytes = header.FileLength - header.DataStart;
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (dataBytes > available)
            throw new InsufficientMemoryException(
                $"Safetensors file '{path}': its tensors need {dataBytes} bytes but only {available} bytes of memory are available.");
        var tensors = new List<TypedTensor>(header.Tensors.Count);
        foreach (var e in header.Tensors)
        {
            fs.Position = header.DataStart + e.Begin;
            Array data = e.DType switch
            {
                SafetensorsDType.F32 => ReadChunked<float>(fs, e.Count, path),
                SafetensorsDType.F64 => ReadChunked<double>(fs, e.Count, path),
                _ => ReadChunked<int>(fs, e.Count, path),
            };
            tensors.Add(new TypedTensor(e.Name, e.DType, e.Shape, data));
        }
        return (tensors, header.Metadata);
    }

    private static T[] ReadChunked<T>(Stream s, long count, string path) where T : unmanaged
    {
        var data = GC.AllocateUninitializedArray<T>(checked((int)count));
        for (int at = 0; at < data.Length; at += ChunkElements)
        {
            var chunk = data.AsSpan(at, Math.Min(ChunkElements, data.Length - at));
            try { s.ReadExactly(MemoryMarshal.AsBytes(chunk)); }
            catch (EndOfStreamException e)
            {
                throw new InvalidDataException($"Safetensors file '{path}': data ends early (file changed while reading?).", e);
            }
        }
        return data;
    }

    private static void WriteChunked<T>(Stream s, T[] data) where T : unmanaged
    {
        for (int at = 0; at < data.Length; at += ChunkElements)
            s.Write(MemoryMarshal.AsBytes(data.AsSpan(at, Math.Min(ChunkElements, data.Length - at))));
    }

    private static void ValidateForWrite(TypedTensor t, int index)
    {
        if (string.IsNullOrEmpty(t.Name))
            throw new ArgumentException($"Tensor #{index} has an empty name.");
        if (t.Name == SafetensorsHeader.MetadataKey)
            throw new ArgumentException($"Tensor #{index} may not be named '{SafetensorsHeader.MetadataKey}'.");
        ArgumentNullException.ThrowIfNull(t.Shape, $"tensor '{t.Name}' Shape");
        ArgumentNullException.ThrowIfNull(t.Data, $"tensor '{t.Name}' Data");
        Int128 count = 1;
        foreach (var d in t.Shape)
        {
            if (d < 0)
                throw new ArgumentException($"Tensor '{t.Name}' shape [{string.Join(", ", t.Shape)}] has a negative dimension.");
            count *= d;
            if (count > Array.MaxLength)
                throw new ArgumentException($"Tensor '{t.Name}' shape [{string.Join(", ", t.Shape)}] has more elements than a .NET array holds.");
        }
        if (count != t.Data.LongLength)
            throw new ArgumentException($"Tensor '{t.Name}' shape [{string.Join(", ", t.Shape)}] has {count} elements but Data has {t.Data.Length}.");
        var ok = t.DType switch
        {
            SafetensorsDType.F32 => t.Data is float[],
            SafetensorsDType.F64 => t.Data is double[],
            SafetensorsDType.I32 => t.Data is int[],
            _ => false,
        };
        if (!ok)
            throw new ArgumentException($"Tensor '{t.Name}' has dtype {t.DType} but Data is {t.Data.GetType().Name}.");
    }

    /// <summary>Bytes per element of a dtype.</summary>
    internal static int ElementSize(SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F32 => 4,
        SafetensorsDType.F64 => 8,
        SafetensorsDType.I32 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
    };

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Safetensors I/O requires a little-endian host.");
    }
}
