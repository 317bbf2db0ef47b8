using ActorTrainer.Core;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Where `export --output` may write: into an existing folder (no folder is created, as cp and torch.save
/// create none), never a folder itself, never inside the model directory; and what `predict --input` accepts.</summary>
public sealed partial class ModelCommandTests
{
    [Fact]
    public void Export_into_a_folder_that_does_not_exist_exits_2_naming_it_and_creates_nothing()
    {
        var scratch = fx.Scratch("nofolder");
        var folder = Path.Combine(scratch, "typo", "deeper");
        var output = Path.Combine(folder, "m.onnx");
        var r = Cli.Run(["export", "--model", fx.ModelDir, "--format", "onnx", "--output", output]);
        Cli.AssertBadInput(r, $"the folder of --output '{output}', '{folder}', does not exist");
        Assert.Empty(Directory.EnumerateFileSystemEntries(scratch));
    }

    [Fact]
    public void Export_to_a_path_ending_in_a_separator_exits_2_and_creates_no_folder()
    {
        var scratch = fx.Scratch("slash");
        var output = Path.Combine(scratch, "new") + Path.DirectorySeparatorChar;
        Cli.AssertBadInput(Cli.Run(["export", "--model", fx.ModelDir, "--format", "onnx", "--output", output]),
                           $"--output '{output}' ends with '{Path.DirectorySeparatorChar}', which names a directory");
        Assert.Empty(Directory.EnumerateFileSystemEntries(scratch));
    }

    [Fact]
    public void Export_into_the_model_directory_exits_2_so_the_model_can_still_be_saved_there()
    {
        var dir = CopyModel();
        var before = Directory.GetFiles(dir).Select(Path.GetFileName).Order().ToArray();
        var beside = Path.Combine(Path.GetDirectoryName(dir)!, "model.onnx");
        Cli.AssertBadInput(Cli.Run(["export", "--model", dir, "--format", "onnx", "--output", Path.Combine(dir, "model.onnx")]),
                           $"is inside the model directory '{dir}'", $"e.g. {beside}");
        Assert.Equal(before, Directory.GetFiles(dir).Select(Path.GetFileName).Order().ToArray());
        ModelFiles.CheckSaveTarget(dir);            // a later save (train --resume) is not refused
        var r = Cli.Run(["export", "--model", dir, "--format", "onnx", "--output", beside]);
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.True(File.Exists(beside));
    }

    [UnixFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Export_onto_a_fifo_exits_2_and_leaves_it_in_place()
    {
        // the atomic rename would replace a special file itself (as root, /dev/null for the whole machine)
        var fifo = Path.Combine(fx.Scratch("fifo"), "out.onnx");
        Cli.MakeFifo(fifo);
        Cli.AssertBadInput(Cli.Run(["export", "--model", fx.ModelDir, "--format", "onnx", "--output", fifo]),
                           $"--output '{fifo}' is a FIFO (named pipe)", "a regular file");
        Assert.Equal(0, new FileInfo(fifo).Length);          // still the FIFO, not a 1.6 MB ONNX file renamed over it
    }

    [Fact]
    public void Predict_on_a_file_that_is_neither_png_nor_idx_exits_2_saying_what_it_takes()
    {
        var scratch = fx.Scratch("kinds");
        var csv = Path.Combine(scratch, "digits.csv");
        File.WriteAllText(csv, "label,pixel0,pixel1\n7,0,0\n");
        Cli.AssertBadInput(Cli.Run(["predict", "--model", fx.ModelDir, "--input", csv]),
                           $"--input '{csv}' is neither a PNG nor an IDX image file", "(\"label,pi\")", "convert other formats");
        var empty = Path.Combine(scratch, "empty.idx");
        File.WriteAllBytes(empty, []);
        Cli.AssertBadInput(Cli.Run(["predict", "--model", fx.ModelDir, "--input", empty]), $"--input '{empty}' is empty (0 bytes)");
        var gz = Path.Combine(scratch, "images-idx3-ubyte.gz");      // a gzip IDX file is still read as IDX
        ActorTrainer.Core.Data.Idx.Write(gz, new ActorTrainer.Core.Data.IdxArray([2, 28, 28], fx.Test.Pixels[..(2 * 784)]));
        var ok = Cli.Run(["predict", "--model", fx.ModelDir, "--input", gz]);
        Assert.True(ok.ExitCode == 0, ok.Describe());
        Assert.Equal(2, ok.StdoutLines.Length);
    }
}
