using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Xunit;

namespace ActorTrainer.Interop.Tests;

public class SafetensorsTests
{
    /// <summary>Assembles a file by hand per the spec: u64 LE header length, header JSON (space padded), raw data.</summary>
    private static byte[] Assemble(string headerJson, byte[] data, bool pad = true)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var len = pad ? (header.Length + 7) / 8 * 8 : header.Length;
        var bytes = new byte[8 + len + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)len);
        header.CopyTo(bytes, 8);
        bytes.AsSpan(8 + header.Length, len - header.Length).Fill((byte)' ');
        data.CopyTo(bytes, 8 + len);
        return bytes;
    }

    private static byte[] F32Bytes(params float[] v)
    {
        var b = new byte[v.Length * 4];
        for (var i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(i * 4), v[i]);
        return b;
    }

    [Fact]
    public void Read_HandAssembledSpecFixture_DecodesTensorsAndMetadata()
    {
        using var dir = new TempDir();
        var path = dir.File("fixture.safetensors");
        // "w" F32 [2,2] at [0,16); "b" F32 [2] at [16,24); "n" I32 [3] at [24,36); "d" F64 [1] at [36,44).
        var data = new List<byte>();
        data.AddRange(F32Bytes(1f, -2f, 3.5f, 1e-3f));
        data.AddRange(F32Bytes(0.25f, -0.5f));
        foreach (var n in new[] { 7, -1, 123456 }) { var b = new byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, n); data.AddRange(b); }
        var d8 = new byte[8]; BinaryPrimitives.WriteDoubleLittleEndian(d8, Math.PI); data.AddRange(d8);
        const string json = "{\"__metadata__\":{\"format\":\"pt\",\"epoch\":\"3\"}," +
                            "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}," +
                            "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}," +
                            "\"n\":{\"dtype\":\"I32\",\"shape\":[3],\"data_offsets\":[24,36]}," +
                            "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[36,44]}}";
        File.WriteAllBytes(path, Assemble(json, data.ToArray()));

        var (tensors, meta) = Safetensors.ReadTyped(path);
        Assert.Equal(["w", "b", "n", "d"], tensors.Select(t => t.Name));
        Assert.Equal([2, 2], tensors[0].Shape);
        Assert.Equal(new[] { 1f, -2f, 3.5f, 1e-3f }, (float[])tensors[0].Data);
        Assert.Equal(new[] { 0.25f, -0.5f }, (float[])tensors[1].Data);
        Assert.Equal(SafetensorsDType.I32, tensors[2].DType);
        Assert.Equal(new[] { 7, -1, 123456 }, (int[])tensors[2].Data);
        Assert.Equal(SafetensorsDType.F64, tensors[3].DType);
        Assert.Equal(Math.PI, ((double[])tensors[3].Data)[0]);
        Assert.Equal("pt", meta["format"]);
        Assert.Equal("3", meta["epoch"]);

        var ex = Assert.Throws<InvalidDataException>(() => Safetensors.Read(path));
        Assert.Contains("'n'", ex.Message);
        Assert.Contains("I32", ex.Message);
    }

    [Fact]
    public void Write_ProducesSpecLayout_AlignedHeaderAndContiguousOffsets()
    {
        using var dir = new TempDir();
        var path = dir.File("w.safetensors");
        var k = new NamedTensor("dense/kernel", [3, 2], [1, 2, 3, 4, 5, 6]);
        var b = new NamedTensor("dense/bias", [2], [-1, 1]);
        Safetensors.Write(path, [k, b], new Dictionary<string, string> { ["framework"] = "ActorTrainer" });

        var bytes = File.ReadAllBytes(path);
        var n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, n % 8);
        Assert.Equal(8 + n + 8 * 4, bytes.Length);
        var headerText = Encoding.UTF8.GetString(bytes, 8, n);
        Assert.Matches(@"^\{.*\} *$", headerText);
        using var doc = JsonDocument.Parse(headerText.TrimEnd(' '));
        var root = doc.RootElement;
        Assert.Equal("ActorTrainer", root.GetProperty("__metadata__").GetProperty("framework").GetString());
        Assert.Equal("F32", root.GetProperty("dense/kernel").GetProperty("dtype").GetString());
        Assert.Equal([3, 2], root.GetProperty("dense/kernel").GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([0L, 24L], root.GetProperty("dense/kernel").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([24L, 32L], root.GetProperty("dense/bias").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(6f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + n + 20)));
        Assert.Equal(-1f, BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(8 + n + 24)));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void WriteRead_RoundTripsRandomTensorsAndOverwritesAtomically()
    {
        using var dir = new TempDir();
        var path = dir.File("model.safetensors");
        var rng = new Random(42);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var tensors = new List<NamedTensor>
        {
            new("dense_1/kernel", [784, 512], R(784 * 512)),
            new("dense_1/bias", [512], R(512)),
            new("dense_2/kernel", [512, 10], R(5120)),
            new("dense_2/bias", [10], R(10)),
            new("scalar", [], [3.25f]),
            new("empty", [0, 4], []),
        };
        File.WriteAllText(path, "old contents");
        Safetensors.Write(path, tensors);
        var (read, meta) = Safetensors.Read(path);
        Assert.Empty(meta);
        Assert.Equal(tensors.Count, read.Count);
        for (var i = 0; i < tensors.Count; i++)
        {
            Assert.Equal(tensors[i].Name, read[i].Name);
            Assert.Equal(tensors[i].Shape, read[i].Shape);
            Assert.Equal(tensors[i].Data, read[i].Data);
        }
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void WriteTypedRead_RoundTripsF64AndI32()
    {
        using var dir = new TempDir();
        var path = dir.File("typed.safetensors");
        Safetensors.WriteTyped(path,
        [
            new TypedTensor("step", SafetensorsDType.I32, [2], new[] { int.MinValue, int.MaxValue }),
            new TypedTensor("moments", SafetensorsDType.F64, [2, 1], new[] { 1e-300, -2.5 }),
            new TypedTensor("f", SafetensorsDType.F32, [1], new[] { float.Epsilon }),
        ], new Dictionary<string, string> { ["optimizer"] = "rmsprop" });
        var (t, meta) = Safetensors.ReadTyped(path);
        Assert.Equal(new[] { int.MinValue, int.MaxValue }, (int[])t[0].Data);
        Assert.Equal(new[] { 1e-300, -2.5 }, (double[])t[1].Data);
        Assert.Equal([2, 1], t[1].Shape);
        Assert.Equal(float.Epsilon, ((float[])t[2].Data)[0]);
        Assert.Equal("rmsprop", meta["optimizer"]);
    }

    public static TheoryData<string, string, int, string> BadFiles => new()
    {
        // header JSON, expected message fragment, data byte count, description
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]", "not valid JSON", 8, "bad json" },
        { "{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", "unknown or unsupported dtype 'BF16'", 4, "dtype" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", "needs 12 bytes but data_offsets [0, 8] span 8", 8, "shape/offset" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "overlap", 8, "overlap" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "extend beyond the 4 data bytes (truncated data)", 4, "truncated" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "gap in data before tensor 'a'", 8, "gap" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "trailing bytes", 8, "trailing" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "duplicate key 'a'", 8, "duplicate" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "shape entry #0 (-1)", 4, "negative dim" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", "'data_offsets' array of two integers", 4, "offsets arity" },
        { "{\"__metadata__\":{\"k\":1}}", "metadata key 'k' has a Number value", 0, "metadata type" },
        { "[1,2]", "does not start with '{'", 0, "not object" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Read_InvalidFiles_ThrowInvalidDataExceptionNamingFileAndProblem(string json, string fragment, int dataBytes, string description)
    {
        using var dir = new TempDir();
        var path = dir.File($"bad-{description.Replace(' ', '_').Replace('/', '_')}.safetensors");
        File.WriteAllBytes(path, Assemble(json, new byte[dataBytes]));
        var ex = Assert.Throws<InvalidDataException>(() => Safetensors.ReadTyped(path));
        Assert.Contains(path, ex.Message);
        Assert.Contains(fragment, ex.Message);
    }

    [Fact]
    public void Read_HeaderLengthBeyondFile_Throws()
    {
        using var dir = new TempDir();
        var path = dir.File("short.safetensors");
        var bytes = Assemble("{}", []);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<InvalidDataException>(() => Safetensors.Read(path));
        Assert.Contains("header length 1000 exceeds the 8 bytes", ex.Message);
        File.WriteAllBytes(path, [1, 2, 3]);
        ex = Assert.Throws<InvalidDataException>(() => Safetensors.Read(path));
        Assert.Contains("shorter than the 8-byte header length prefix", ex.Message);
    }

    [Fact]
    public void Write_InvalidTensors_ThrowArgumentExceptionNamingTensor()
    {
        using var dir = new TempDir();
        var path = dir.File("x.safetensors");
        var ex = Assert.Throws<ArgumentException>(() => Safetensors.Write(path, [new("a", [1], [1f]), new("a", [1], [2f])]));
        Assert.Contains("Duplicate tensor name 'a'", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Safetensors.Write(path, [new("k", [2, 3], new float[5])]));
        Assert.Contains("Tensor 'k' shape [2, 3] has 6 elements but Data has 5", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Safetensors.WriteTyped(path, [new TypedTensor("t", SafetensorsDType.F64, [1], new float[1])]));
        Assert.Contains("Tensor 't' has dtype F64 but Data is Single[]", ex.Message);
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}
