using System.Buffers.Binary;
using System.Text.Json;

namespace ActorTrainer.Interop;

/// <summary>One tensor as the header describes it: name, dtype, shape, element count and its byte range
/// [Begin, End) relative to the start of the data section.</summary>
/// <param name="Name">The tensor's name (header key).</param>
/// <param name="DType">Element type (header <c>dtype</c>).</param>
/// <param name="Shape">Dimensions (header <c>shape</c>; empty for a scalar).</param>
/// <param name="Count">Elements: product(Shape).</param>
/// <param name="Begin">First byte of the tensor's data, relative to the data section (header <c>data_offsets[0]</c>).</param>
/// <param name="End">Byte after its data, relative to the data section (header <c>data_offsets[1]</c>).</param>
public sealed record SafetensorsEntry(string Name, SafetensorsDType DType, int[] Shape, long Count, long Begin, long End);

/// <summary>A validated safetensors header: the tensors in header order, the string metadata, where the data section
/// starts in the file, and the file's length. Every entry's byte range lies inside the file and the ranges tile the
/// data section exactly, so reading the data never allocates more than the file holds.</summary>
/// <param name="Tensors">The tensors, in header order.</param>
/// <param name="Metadata">The header's "__metadata__" string map (empty when absent).</param>
/// <param name="DataStart">File offset of the data section: 8 + the header's length.</param>
/// <param name="FileLength">The file's length in bytes.</param>
public sealed record SafetensorsHeader(IReadOnlyList<SafetensorsEntry> Tensors, IReadOnlyDictionary<string, string> Metadata,
    long DataStart, long FileLength)
{
    internal const string MetadataKey = "__metadata__";
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    /// <summary>Reads and validates the header of an open file (positioned anywhere); <paramref name="path"/> names it in
    /// errors. Throws InvalidDataException naming the file and the field at fault.</summary>
    internal static SafetensorsHeader Parse(Stream file, string path)
    {
        InvalidDataException Bad(string problem) => new($"Safetensors file '{path}': {problem}");
        long fileLength = file.Length;
        if (fileLength < 8)
            throw Bad($"file is {fileLength} bytes, shorter than the 8-byte header length prefix.");
        Span<byte> prefix = stackalloc byte[8];
        file.Position = 0;
        file.ReadExactly(prefix);
        var headerLen = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLen > (ulong)(fileLength - 8))
            throw Bad($"header length {headerLen} exceeds the {fileLength - 8} bytes after the length prefix.");
        if ((long)headerLen > MaxHeaderBytes)
            throw Bad($"header length {headerLen} exceeds the {MaxHeaderBytes}-byte limit.");
        var headerBytes = new byte[(int)headerLen];
        file.ReadExactly(headerBytes);
        if (headerBytes.Length == 0 || headerBytes[0] != (byte)'{')
            throw Bad("header does not start with '{'.");
        if (!System.Text.Unicode.Utf8.IsValid(headerBytes))
            throw Bad("header is not valid UTF-8.");
        long dataStart = 8 + (long)headerLen;
        var (entries, metadata) = ParseJson(headerBytes, Bad);
        CheckTiling(entries, fileLength - dataStart, Bad);
        return new SafetensorsHeader(entries, metadata, dataStart, fileLength);
    }

    private static (List<SafetensorsEntry>, Dictionary<string, string>) ParseJson(byte[] json, Func<string, InvalidDataException> bad)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException e) { throw bad($"header is not valid JSON ({e.Message})."); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw bad($"header JSON is a {doc.RootElement.ValueKind}, not an object.");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<SafetensorsEntry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name))
                    throw bad($"duplicate key '{prop.Name}' in header.");
                if (prop.Name == MetadataKey) ParseMetadata(prop.Value, metadata, bad);
                else entries.Add(ParseEntry(prop, bad));
            }
            return (entries, metadata);
        }
    }

    private static void ParseMetadata(JsonElement value, Dictionary<string, string> metadata, Func<string, InvalidDataException> bad)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw bad($"'{MetadataKey}' is a {value.ValueKind}, not an object of strings.");
        foreach (var m in value.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String)
                throw bad($"metadata key '{m.Name}' has a {m.Value.ValueKind} value, not a string.");
            if (!metadata.TryAdd(m.Name, m.Value.GetString()!))
                throw bad($"duplicate metadata key '{m.Name}'.");
        }
    }

    private static SafetensorsEntry ParseEntry(JsonProperty prop, Func<string, InvalidDataException> bad)
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
        var (shape, count) = ParseShape(name, v, bad);
        if (!v.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw bad($"tensor '{name}' has no 'data_offsets' array of two integers.");
        if (offEl[0].ValueKind != JsonValueKind.Number || offEl[1].ValueKind != JsonValueKind.Number
            || !offEl[0].TryGetInt64(out var begin) || !offEl[1].TryGetInt64(out var end) || begin < 0 || end < begin)
            throw bad($"tensor '{name}' data_offsets {offEl.GetRawText()} are not integers with 0 <= begin <= end.");
        var expectedBytes = count * Safetensors.ElementSize(dtype);
        if (end - begin != expectedBytes)
            throw bad($"tensor '{name}' shape [{string.Join(", ", shape)}] {dtypeName} needs {expectedBytes} bytes but data_offsets [{begin}, {end}] span {end - begin}.");
        return new SafetensorsEntry(name, dtype, shape, count, begin, end);
    }

    /// <summary>Shape and element count; the count must fit one .NET array (so count × element size cannot overflow).</summary>
    private static (int[] Shape, long Count) ParseShape(string name, JsonElement v, Func<string, InvalidDataException> bad)
    {
        if (!v.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array)
            throw bad($"tensor '{name}' has no array 'shape'.");
        var shape = new int[shapeEl.GetArrayLength()];
        var k = 0;
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out var dim) || dim < 0)
                throw bad($"tensor '{name}' shape entry #{k} ({d.GetRawText()}) is not a non-negative 32-bit integer.");
            shape[k++] = dim;
        }
        // Multiply in 128 bits: a product of int32 dims can overflow 64 bits after three factors.
        Int128 count = 1;
        foreach (var dim in shape)
        {
            count *= dim;
            if (count > Array.MaxLength)
                throw bad($"tensor '{name}' shape [{string.Join(", ", shape)}] has more elements than the {Array.MaxLength} a .NET array can hold.");
        }
        return (shape, (long)count);
    }

    /// <summary>Offsets must tile [0, dataLength) exactly: no gaps, no overlaps, nothing out of range.</summary>
    private static void CheckTiling(List<SafetensorsEntry> entries, long dataLength, Func<string, InvalidDataException> bad)
    {
        var order = Enumerable.Range(0, entries.Count).OrderBy(i => entries[i].Begin).ThenBy(i => entries[i].End).ToArray();
        long expected = 0;
        foreach (var i in order)
        {
            var e = entries[i];
            if (e.Begin < expected)
                throw bad($"tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] overlap the previous tensor ending at {expected}.");
            if (e.Begin > expected)
                throw bad($"gap in data before tensor '{e.Name}': data_offsets begin at {e.Begin}, expected {expected}.");
            if (e.End > dataLength)
                throw bad($"tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] extend beyond the {dataLength} data bytes (truncated data).");
            expected = e.End;
        }
        if (expected != dataLength)
            throw bad($"data section has {dataLength} bytes but tensors cover only {expected} (trailing bytes).");
    }

    /// <summary>The header bytes for tensors at the given data offsets (JSON, space-padded to 8-byte alignment).</summary>
    internal static byte[] Build(IReadOnlyList<TypedTensor> tensors, long[] offsets, IReadOnlyDictionary<string, string>? metadata)
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
}
