using System.Buffers.Binary;
using System.Text;
using Xunit;

namespace ActorTrainer.Interop.Tests;

/// <summary>A fact that runs only with ACTORTRAINER_LARGE_TESTS=1 (it needs several GB of memory and disk).</summary>
public sealed class LargeFileFactAttribute : FactAttribute
{
    public LargeFileFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("ACTORTRAINER_LARGE_TESTS") != "1")
            Skip = "writes and reads a file over 2 GB; set ACTORTRAINER_LARGE_TESTS=1 to run";
    }
}

/// <summary>Sizes claimed by a safetensors header are checked before anything is allocated; files are streamed.</summary>
public class SafetensorsLimitsTests
{
    private static string WriteRaw(TempDir dir, string headerJson, int dataBytes)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var bytes = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        var path = dir.File("t.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void ShapeWhoseElementCountOverflows_IsInvalidData_NotOverflow()
    {
        using var dir = new TempDir();
        var path = WriteRaw(dir, """{"w":{"dtype":"F32","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,4]}}""", 4);
        var ex = Assert.Throws<InvalidDataException>(() => Safetensors.ReadTyped(path));
        Assert.Contains("'w'", ex.Message);
        Assert.Contains("[2147483647, 2147483647, 2147483647]", ex.Message);
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void ShapeLargerThanAnArray_IsInvalidData_BeforeAllocating()
    {
        using var dir = new TempDir();
        var path = WriteRaw(dir, """{"w":{"dtype":"F64","shape":[65536,65536],"data_offsets":[0,34359738368]}}""", 0);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<InvalidDataException>(() => Safetensors.ReadTyped(path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
        Assert.Contains("more elements than", ex.Message);
    }

    [Theory]
    [InlineData("""["a",4]""")]
    [InlineData("""[0,"4"]""")]
    [InlineData("""[0,null]""")]
    [InlineData("""[0.5,4]""")]
    public void NonIntegerDataOffsets_AreInvalidData(string offsets)
    {
        using var dir = new TempDir();
        var path = WriteRaw(dir, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":" + offsets + "}}", 4);
        var ex = Assert.Throws<InvalidDataException>(() => Safetensors.ReadTyped(path));
        Assert.Contains("data_offsets", ex.Message);
    }

    [Fact]
    public void ReadHeader_ReturnsShapesWithoutReadingData()
    {
        using var dir = new TempDir();
        var path = dir.File("m.safetensors");
        Safetensors.Write(path, new[] { new NamedTensor("k", new[] { 300, 200 }, new float[60000]), new NamedTensor("b", new[] { 200 }, new float[200]) },
            new Dictionary<string, string> { ["a"] = "1" });
        var before = GC.GetAllocatedBytesForCurrentThread();
        var header = Safetensors.ReadHeader(path);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 100_000, "the header read must not touch the 240 KB of data");
        Assert.Equal(new[] { "k", "b" }, header.Tensors.Select(t => t.Name));
        Assert.Equal(new[] { 300, 200 }, header.Tensors[0].Shape);
        Assert.Equal(60000L, header.Tensors[0].Count);
        Assert.Equal("1", header.Metadata["a"]);
        Assert.Equal(new FileInfo(path).Length, header.FileLength);
    }

    [Fact]
    public void StreamedRoundTrip_SpansManyChunks()
    {
        using var dir = new TempDir();
        var path = dir.File("big.safetensors");
        var data = new float[(1 << 20) * 3 + 17];
        for (int i = 0; i < data.Length; i++) data[i] = i * 0.5f;
        var ints = Enumerable.Range(0, 1 << 21).ToArray();
        Safetensors.WriteTyped(path, new[]
        {
            new TypedTensor("f", SafetensorsDType.F32, new[] { data.Length }, data),
            new TypedTensor("i", SafetensorsDType.I32, new[] { 2, 1 << 20 }, ints),
        });
        var (tensors, _) = Safetensors.ReadTyped(path);
        Assert.Equal(data, (float[])tensors[0].Data);
        Assert.Equal(ints, (int[])tensors[1].Data);
    }

    [LargeFileFact]
    public void FileOver2GB_WritesAndReads()
    {
        using var dir = new TempDir();
        var path = dir.File("huge.safetensors");
        var n = 600_000_000; // 2.4 GB of float32
        var data = GC.AllocateUninitializedArray<float>(n);
        for (int i = 0; i < n; i += 1000) data[i] = i;
        data[n - 1] = -7f;
        Safetensors.Write(path, new[] { new NamedTensor("w", new[] { 600_000, 1000 }, data) });
        Assert.True(new FileInfo(path).Length > 2L * 1024 * 1024 * 1024);
        data = null!;
        GC.Collect();
        var (tensors, _) = Safetensors.Read(path);
        var back = tensors[0].Data;
        Assert.Equal(n, back.Length);
        Assert.Equal(599_999_000f, back[599_999_000]);
        Assert.Equal(-7f, back[n - 1]);
    }
}
