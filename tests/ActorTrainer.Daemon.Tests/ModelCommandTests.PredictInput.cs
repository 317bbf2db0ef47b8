using Xunit;
using ActorTrainer.Core.Data;

namespace ActorTrainer.Daemon.Tests;

/// <summary>`predict` on input it must refuse: exit code 2, stderr naming the file, no prediction printed.</summary>
public sealed partial class ModelCommandTests
{
    private CliResult Predict(string input) => Cli.Run(["predict", "--model", fx.ModelDir, "--input", input]);

    private static void AssertNoPrediction(CliResult r) => Assert.True(r.StdoutLines.Length == 0, r.Describe());

    [Fact]
    public void A_png_cut_inside_its_image_data_exits_2_naming_it_as_truncated()
    {
        var png = DigitPng("whole.png", darkOnLight: true);
        var bytes = File.ReadAllBytes(png);
        var idat = bytes.AsSpan().IndexOf("IDAT"u8);
        Assert.True(idat > 0, "the test PNG has no IDAT chunk");
        var length = bytes[idat - 4] << 24 | bytes[idat - 3] << 16 | bytes[idat - 2] << 8 | bytes[idat - 1];
        Assert.True(length > 16, $"the test PNG's IDAT holds only {length} bytes");
        var cut = Path.Combine(Path.GetDirectoryName(png)!, "cut.png");
        File.WriteAllBytes(cut, bytes[..(idat + 4 + length / 2)]);   // half of the compressed image data
        var r = Predict(cut);
        Cli.AssertBadInput(r, $"--input '{cut}' is truncated", "not a complete PNG");
        AssertNoPrediction(r);
        Assert.True(Predict(png).ExitCode == 0, "the whole PNG is refused too");
    }

    [Fact]
    public void A_png_declaring_100000x100000_pixels_exits_2_naming_its_size()
    {
        var png = DigitPng("small.png", darkOnLight: false);
        var bytes = File.ReadAllBytes(png);
        var ihdr = bytes.AsSpan().IndexOf("IHDR"u8);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(ihdr + 4), 100_000);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(ihdr + 8), 100_000);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(ihdr + 17), Crc32(bytes.AsSpan(ihdr, 17)));
        var huge = Path.Combine(Path.GetDirectoryName(png)!, "huge.png");
        File.WriteAllBytes(huge, bytes);
        var r = Predict(huge);
        Cli.AssertBadInput(r, $"--input '{huge}' is 100000x100000 pixels", "shrink the image");
        AssertNoPrediction(r);
    }

    /// <summary>PNG's CRC-32 (ISO 3309, reflected 0xEDB88320) of a chunk's type and data.</summary>
    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var c = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            c ^= b;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }

    [Fact]
    public void An_idx_file_of_0_images_exits_2_naming_it()
    {
        var path = Path.Combine(fx.Scratch("idx"), "empty-idx3-ubyte");
        Idx.Write(path, new IdxArray([0, 28, 28], []));
        var r = Predict(path);
        Cli.AssertBadInput(r, $"--input '{path}'", "0 images");
        AssertNoPrediction(r);
    }

    [Fact]
    public void A_directory_as_the_input_exits_2_saying_so()
    {
        var dir = fx.Scratch("digits");
        var err = Cli.AssertBadInput(Predict(dir), $"--input '{dir}' is a directory");
        Assert.DoesNotContain("does not exist", err);
    }
}
