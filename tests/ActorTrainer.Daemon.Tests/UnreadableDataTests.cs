using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A data file under data.dir that exists but cannot be read is bad input naming data.dir and the file (exit 2),
/// not an I/O error writing outputs (exit 74).</summary>
public sealed class UnreadableDataTests
{
    [ProcMemFact]
    public void An_unreadable_data_file_exits_2_naming_data_dir_and_the_file()
    {
        using var t = new TempDir();
        var dir = MnistDir.Write(t["mnist"], 100, 100);
        var images = Directory.GetFiles(dir, "train-images*").Single();
        Unreadable.Link(images);
        var r = Cli.Run(["train", "--run-dir", t["run"], .. Cli.Tiny, "--set", "data.dir=" + dir]);
        Cli.AssertBadInput(r, $"data.dir = '{dir}': cannot be read", images, "make the file readable");
        Assert.False(File.Exists(Path.Combine(t["run"], "summary.json")));
    }
}
