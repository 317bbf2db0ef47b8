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

    /// <summary>The first test digits' 784 bytes each as a rows×cols IDX image file.</summary>
    private string WriteIdxOf(int count, int rows, int cols)
    {
        var path = Path.Combine(fx.Scratch("idx"), "images-idx3-ubyte");
        Idx.Write(path, new IdxArray([count, rows, cols], fx.Test.Pixels[..(count * rows * cols)]));
        return path;
    }

    /// <summary>A width×height PNG of mid-gray noise (its content does not matter to the size check).</summary>
    private string SizedPng(int width, int height)
    {
        var png = Path.Combine(fx.Scratch("png"), $"{width}x{height}.png");
        using var bmp = new SkiaSharp.SKBitmap(new SkiaSharp.SKImageInfo(width, height, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Opaque));
        for (var r = 0; r < height; r++)
            for (var c = 0; c < width; c++)
                bmp.SetPixel(c, r, new SkiaSharp.SKColor(fx.Test.Pixels[(r * width + c) % 784], 0, 0, 255));
        using var data = bmp.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(png, data.ToArray());
        return png;
    }

    [Fact]
    public void Images_of_14x56_are_refused_for_a_784_input_as_idx_and_as_png_naming_the_file_and_28x28()
    {
        var idx = WriteIdxOf(2, 14, 56);            // 784 values per image, but not a 28×28 digit
        var r = Predict(idx);
        Cli.AssertBadInput(r, $"--input '{idx}': each image is 14x56 but the model takes 28x28 images (its input is [784])");
        AssertNoPrediction(r);
        foreach (var (w, h) in new[] { (56, 14), (14, 56), (28, 31) })
        {
            var png = SizedPng(w, h);
            var p = Predict(png);
            Cli.AssertBadInput(p, $"--input '{png}' is {w}x{h} pixels", "the model takes 28x28 images", "aspect ratio");
            AssertNoPrediction(p);
        }
        foreach (var (w, h) in new[] { (56, 56), (29, 28), (280, 281) })    // the model's aspect ratio to within a pixel: resized
            Assert.Single(Predict(SizedPng(w, h)).StdoutLines);
    }

    [Fact]
    public void Evaluate_on_a_test_set_of_14x56_images_exits_2_naming_the_file_and_28x28()
    {
        var dir = fx.Scratch("mnist14x56");
        Idx.Write(Path.Combine(dir, "t10k-images-idx3-ubyte"), new IdxArray([3, 14, 56], fx.Test.Pixels[..(3 * 784)]));
        Idx.Write(Path.Combine(dir, "t10k-labels-idx1-ubyte"), new IdxArray([3], [7, 2, 1]));
        var r = Cli.Run(["evaluate", "--model", fx.ModelDir, "--data", dir]);
        Cli.AssertBadInput(r, $"--data '{dir}': each image of '{Path.Combine(dir, "t10k-images-idx3-ubyte")}' is 14x56", "28x28");
        Assert.True(r.StdoutLines.Length == 0, r.Describe());
        var blank = Cli.AssertBadInput(Cli.Run(["evaluate", "--model", fx.ModelDir, "--data", " "]), "--data ' ' is blank", "leave --data out");
        Assert.DoesNotContain("Mnist.load", blank);          // the library's advice to its callers is not the CLI's
    }
}
