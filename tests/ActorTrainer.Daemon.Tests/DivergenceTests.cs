using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A non-finite loss stops both runtimes the same way (exit 3, one line naming epoch and step, no outputs for
/// the bad weights); resuming into a changed run is an input error (exit 2); an I/O failure while checkpointing is
/// exit 74 with one line and nothing corrupted.</summary>
public sealed class DivergenceTests
{
    private static readonly string[] Exploding =
    [
        "--set", "trainer.epochs=2", "--set", "data.train-limit=2000", "--set", "data.test-limit=300",
        "--set", "optimizer.type=sgd", "--set", "optimizer.learning-rate=1e6", "--set", "output.plots=false",
    ];

    [Theory]
    [InlineData("actors")]
    [InlineData("in-process")]
    public void A_nan_loss_stops_with_exit_3_naming_epoch_and_step(string runtime)
    {
        using var t = new TempDir();
        var r = Cli.Run(["train", "--run-dir", t["run"], .. Exploding, "--set", "trainer.runtime=" + runtime]);
        Assert.True(r.ExitCode == 3, r.Describe());
        var errors = r.Stderr.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToArray();
        Assert.Single(errors);
        Assert.Contains("training diverged in epoch 1, batch", errors[0]);
        Assert.EndsWith("a smaller optimizer.learning-rate usually keeps the loss finite", errors[0].TrimEnd());
        Assert.DoesNotContain("Unhandled exception", r.Stderr);
        Assert.False(File.Exists(Path.Combine(t["run"], "summary.json")));
        Assert.False(Directory.Exists(Path.Combine(t["run"], "model")));
        var ckpt = Path.Combine(t["run"], "checkpoints");
        if (errors[0].Contains("checkpoint is in", StringComparison.Ordinal))
            Assert.NotEmpty(Directory.GetFiles(ckpt, "ckpt-*.bin"));
        else Assert.Contains("no checkpoint", errors[0]);
    }

    [Fact]
    public void Resume_with_a_changed_seed_exits_2_naming_it()
    {
        using var t = new TempDir();
        Cli.Train(t["run"], "--set", "trainer.runtime=actors", "--set", "trainer.epochs=2", "--set", "output.plots=false",
                  "--set", "output.tensorboard=false", "--set", "trainer.checkpoint.every-steps=3");
        File.Delete(Directory.GetFiles(Path.Combine(t["run"], "checkpoints"), "ckpt-*.bin").OrderBy(f => f.Length).ThenBy(f => f).Last());
        var r = Cli.Run(["train", "--resume", t["run"], "--set", "trainer.seed=9"]);
        Cli.AssertBadInput(r, "seed");
    }

    [Fact]
    public void A_checkpoint_that_cannot_be_written_exits_74_leaving_no_temp_files()
    {
        using var t = new TempDir();
        // 2000 samples, batch 128: the end-of-epoch checkpoint is ckpt-16.bin; a directory in its place makes the
        // final rename fail the way a full or read-only disk does.
        Directory.CreateDirectory(Path.Combine(t["run"], "checkpoints", "ckpt-16.bin"));
        var r = Cli.Run(["train", "--run-dir", t["run"], "--set", "trainer.runtime=actors", "--set", "trainer.epochs=1",
                         "--set", "data.train-limit=2000", "--set", "data.test-limit=300", "--set", "output.plots=false"]);
        Assert.True(r.ExitCode == 74, r.Describe());
        var errors = r.Stderr.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToArray();
        Assert.Single(errors);
        Assert.Contains("cannot write the checkpoint", errors[0]);
        Assert.Contains("the checkpoints already there are intact: free space or fix the directory, then resume", errors[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.Empty(Directory.GetFiles(Path.Combine(t["run"], "checkpoints"), "*.tmp"));
    }
}
