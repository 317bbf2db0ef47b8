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
