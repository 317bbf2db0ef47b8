using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

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
public sealed record TypedTensor(string Name, SafetensorsDType DType, int[] Shape, Array Data)
{
    /// <summary>Wraps a float32 <see cref="NamedTensor"/> as an F32 typed tensor (no copy).</summary>
    public static TypedTensor FromNamed(NamedTensor t) => new(t.Name, SafetensorsDType.F32, t.Shape, t.Data);
}

/// <summary>
/// Reader/writer for the safetensors format: u64 LE header length N, N bytes of UTF-8 JSON header (space-padded to
/// 8-byte alignment) mapping names to {dtype, shape, data_offsets} plus optional "__metadata__", then contiguous LE data.
/// </summary>
public static class Safetensors
{
    private const string MetadataKey = "__metadata__";
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    /// <summary>Writes float32 tensors (in list order) and optional string metadata to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, IReadOnlyList<NamedTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var typed = new TypedTensor[tensors.Count];
        for (var i = 0; i < tensors.Count; i++)
            typed[i] = TypedTensor.FromNamed(tensors[i] ?? throw new ArgumentException($"Tensor #{i} is null.", nameof(tensors)));
        WriteTyped(path, typed, metadata);
    }

    /// <summary>Writes tensors of dtype F32/F64/I32 (in list order, contiguous) and optional metadata to <paramref name="path"/> atomically.</summary>
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

        var header = BuildHeader(tensors, offsets, metadata);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            stream.Write(len);
            stream.Write(header);
            foreach (var t in tensors)
                stream.Write(ToLittleEndianBytes(t));
        });
    }

    /// <summary>Reads a safetensors file whose tensors are all F32; returns tensors in header order and the metadata map.</summary>
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

    /// <summary>Reads a safetensors file with F32/F64/I32 tensors; returns tensors in header order and the metadata map.</summary>
    public static (IReadOnlyList<TypedTensor> Tensors, IReadOnlyDictionary<string, string> Metadata) ReadTyped(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var bytes = File.ReadAllBytes(path);
        InvalidDataException Bad(string problem) => new($"Safetensors file '{path}': {problem}");

        if (bytes.Length < 8)
            throw Bad($"file is {bytes.Length} bytes, shorter than the 8-byte header length prefix.");
        var headerLen = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLen > (ulong)(bytes.Length - 8))
            throw Bad($"header length {headerLen} exceeds the {bytes.Length - 8} bytes after the length prefix.");
        if ((long)headerLen > MaxHeaderBytes)
            throw Bad($"header length {headerLen} exceeds the {MaxHeaderBytes}-byte limit.");
        var headerSpan = bytes.AsSpan(8, (int)headerLen);
        if (headerSpan.Length == 0 || headerSpan[0] != (byte)'{')
            throw Bad("header does not start with '{'.");
        var dataStart = 8 + (int)headerLen;
        var dataLength = (long)bytes.Length - dataStart;

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(headerSpan.ToArray());
        }
        catch (JsonException e)
        {
            throw Bad($"header is not valid JSON ({e.Message}).");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw Bad($"header JSON is a {doc.RootElement.ValueKind}, not an object.");

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<(string Name, SafetensorsDType DType, int[] Shape, long Begin, long End)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name))
                    throw Bad($"duplicate key '{prop.Name}' in header.");
                if (prop.Name == MetadataKey)
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object)
                        throw Bad($"'{MetadataKey}' is a {prop.Value.ValueKind}, not an object of strings.");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                            throw Bad($"metadata key '{m.Name}' has a {m.Value.ValueKind} value, not a string.");
                        if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
                            throw Bad($"duplicate metadata key '{m.Name}'.");
                    }
                    continue;
                }
                entries.Add(ParseEntry(prop, Bad));
            }

            // Offsets must tile [0, dataLength) exactly: no gaps, no overlaps, nothing out of range.
            var order = Enumerable.Range(0, entries.Count).OrderBy(i => entries[i].Begin).ThenBy(i => entries[i].End).ToArray();
            long expected = 0;
            foreach (var i in order)
            {
                var e = entries[i];
                if (e.Begin < expected)
                    throw Bad($"tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] overlap the previous tensor ending at {expected}.");
                if (e.Begin > expected)
                    throw Bad($"gap in data before tensor '{e.Name}': data_offsets begin at {e.Begin}, expected {expected}.");
                if (e.End > dataLength)
                    throw Bad($"tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] extend beyond the {dataLength} data bytes (truncated data).");
                expected = e.End;
            }
            if (expected != dataLength)
                throw Bad($"data section has {dataLength} bytes but tensors cover only {expected} (trailing bytes).");

            var tensors = new List<TypedTensor>(entries.Count);
            foreach (var e in entries)
            {
                var span = bytes.AsSpan(dataStart + (int)e.Begin, (int)(e.End - e.Begin));
                tensors.Add(new TypedTensor(e.Name, e.DType, e.Shape, FromLittleEndianBytes(e.DType, span)));
            }
            return (tensors, metadata);
        }
    }

    private static (string, SafetensorsDType, int[], long, long) ParseEntry(JsonProperty prop, Func<string, InvalidDataException> bad)
    {
        var name = prop.Name;
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object)
            throw bad($"tensor '{name}' entry is a {v.ValueKind}, not an object.");
        if (!v.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String)
            throw bad($"tensor '{name}' has no string 'dtype'.");
        var dtypeName = dtypeEl.GetString()!;
        SafetensorsDType dtype = dtypeName switch
        {
            "F32" => SafetensorsDType.F32,
            "F64" => SafetensorsDType.F64,
            "I32" => SafetensorsDType.I32,
            _ => throw bad($"tensor '{name}' has unknown or unsupported dtype '{dtypeName}' (supported: F32, F64, I32)."),
        };
        if (!v.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array)
            throw bad($"tensor '{name}' has no array 'shape'.");
        var shape = new int[shapeEl.GetArrayLength()];
        long count = 1;
        var k = 0;
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out var dim) || dim < 0)
                throw bad($"tensor '{name}' shape entry #{k} ({d.GetRawText()}) is not a non-negative 32-bit integer.");
            shape[k++] = dim;
            count = checked(count * dim);
        }
        if (!v.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw bad($"tensor '{name}' has no 'data_offsets' array of two integers.");
        if (!offEl[0].TryGetInt64(out var begin) || !offEl[1].TryGetInt64(out var end) || begin < 0 || end < begin)
            throw bad($"tensor '{name}' data_offsets {offEl.GetRawText()} are not integers with 0 <= begin <= end.");
        var expectedBytes = count * ElementSize(dtype);
        if (end - begin != expectedBytes)
            throw bad($"tensor '{name}' shape [{string.Join(", ", shape)}] {dtypeName} needs {expectedBytes} bytes but data_offsets [{begin}, {end}] span {end - begin}.");
        return (name, dtype, shape, begin, end);
    }

    private static void ValidateForWrite(TypedTensor t, int index)
    {
        if (string.IsNullOrEmpty(t.Name))
            throw new ArgumentException($"Tensor #{index} has an empty name.");
        if (t.Name == MetadataKey)
            throw new ArgumentException($"Tensor #{index} may not be named '{MetadataKey}'.");
        ArgumentNullException.ThrowIfNull(t.Shape, $"tensor '{t.Name}' Shape");
        ArgumentNullException.ThrowIfNull(t.Data, $"tensor '{t.Name}' Data");
        long count = 1;
        foreach (var d in t.Shape)
        {
            if (d < 0)
                throw new ArgumentException($"Tensor '{t.Name}' shape [{string.Join(", ", t.Shape)}] has a negative dimension.");
            count = checked(count * d);
        }
        if (count != t.Data.Length)
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

    private static byte[] BuildHeader(IReadOnlyList<TypedTensor> tensors, long[] offsets, IReadOnlyDictionary<string, string>? metadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (k, val) in metadata)
                    w.WriteString(k, val ?? throw new ArgumentException($"Metadata key '{k}' has a null value.", nameof(metadata)));
                w.WriteEndObject();
            }
            for (var i = 0; i < tensors.Count; i++)
            {
                var t = tensors[i];
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DType.ToString());
                w.WriteStartArray("shape");
                foreach (var d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offsets[i]);
                w.WriteNumberValue(offsets[i + 1]);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        var json = ms.ToArray();
        var padded = (json.Length + 7) / 8 * 8;
        var header = new byte[padded];
        json.CopyTo(header, 0);
        header.AsSpan(json.Length).Fill((byte)' ');
        return header;
    }

    private static int ElementSize(SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F32 => 4,
        SafetensorsDType.F64 => 8,
        SafetensorsDType.I32 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
    };

    private static byte[] ToLittleEndianBytes(TypedTensor t)
    {
        EnsureLittleEndian();
        return t.Data switch
        {
            float[] f => MemoryMarshal.AsBytes(f.AsSpan()).ToArray(),
            double[] d => MemoryMarshal.AsBytes(d.AsSpan()).ToArray(),
            int[] n => MemoryMarshal.AsBytes(n.AsSpan()).ToArray(),
            _ => throw new ArgumentException($"Tensor '{t.Name}' Data type {t.Data.GetType().Name} is unsupported."),
        };
    }

    private static Array FromLittleEndianBytes(SafetensorsDType dtype, ReadOnlySpan<byte> span)
    {
        EnsureLittleEndian();
        return dtype switch
        {
            SafetensorsDType.F32 => MemoryMarshal.Cast<byte, float>(span).ToArray(),
            SafetensorsDType.F64 => MemoryMarshal.Cast<byte, double>(span).ToArray(),
            SafetensorsDType.I32 => MemoryMarshal.Cast<byte, int>(span).ToArray(),
            _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown safetensors dtype."),
        };
    }

    private static void EnsureLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Safetensors I/O requires a little-endian host.");
    }
}
