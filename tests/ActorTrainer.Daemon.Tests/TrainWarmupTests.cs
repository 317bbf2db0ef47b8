using System.Globalization;
using ActorTrainer.Daemon.Output;
using ActorTrainer.Interop;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>`train`'s early warm-up (TrainWarmup.BeginEarly: the checkpoint writer, then TensorBoard's epoch end for an
/// MNIST-shaped model when `output.tensorboard` is on) starts before the config is parsed, on a thread of its own: a run
/// the settings refuse while it is under way waits for it, so the process leaves no temporary directory.</summary>
public sealed class TrainWarmupTests
{
    [Fact]
    public void The_MNIST_shaped_TensorBoard_warmup_writes_an_epoch_end()
    {
        using var tmp = new TempDir();
        TensorBoardCallback.WarmUp(tmp.Path);
        var train = EventFileReader.Read(RunDir.EventFile(Path.Combine(tmp.Path, "train")));
        var validation = EventFileReader.Read(RunDir.EventFile(Path.Combine(tmp.Path, "validation")));
        Assert.Contains(train, e => e.Kind == TensorBoardEventKind.Scalar && e.Tag == "epoch_loss" && e.Step == 0);
        foreach (var n in new[] { "dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias" })
        {
            Assert.Contains(train, e => e.Kind == TensorBoardEventKind.Histogram && e.Tag == n);
            Assert.Contains(train, e => e.Kind == TensorBoardEventKind.Histogram && e.Tag == n + "/gradient");
        }
        Assert.Single(validation, e => e.Kind == TensorBoardEventKind.Image && e.Tag == "predictions");
    }

    /// <summary>Refused by the settings' check (~0.25 s in, while TensorBoard's warm-up is under way), and refused with
    /// TensorBoard off and with a value that is not a boolean (no TensorBoard warm-up then).</summary>
    [Theory]
    [InlineData("trainer.epochs=0", null, "trainer.epochs")]
    [InlineData("output.tensorboard=maybe", null, "output.tensorboard")]
    [InlineData("output.tensorboard=false", "trainer.batch-size=0", "trainer.batch-size")]
    public void A_refused_run_leaves_no_warmup_directory(string set, string? set2, string key)
    {
        using var tmp = new TempDir();
        string[] more = set2 is null ? [] : ["--set", set2];
        var r = Cli.Run(["train", "--run-dir", tmp["run"], "--set", set, .. more]);
        Cli.AssertBadInput(r, key);
        var left = Directory.GetDirectories(Path.GetTempPath(), $"actortrainer-warmup-{r.ProcessId.ToString(CultureInfo.InvariantCulture)}-*");
        Assert.True(left.Length == 0, "left behind: " + string.Join(", ", left));
    }

    /// <summary>An in-process run's warm-up fit (TrainWarmup.InProcessFit: its own model, a checkpoint and history.csv in
    /// a temporary directory) leaves no directory behind when `train` returns — `train` stops it and waits for it if the
    /// run ends first — and does not touch the run: its weights are those of the same run on the actor runtime.</summary>
    [Fact]
    public void The_in_process_warmup_leaves_no_directory_and_the_runs_weights_alone()
    {
        using var tmp = new TempDir();
        var data = MnistDir.Write(tmp["mnist"], 64, 32);
        string[] tiny = ["--set", "data.dir=" + data, "--set", "trainer.epochs=1",
                         "--set", "output.plots=false", "--set", "output.tensorboard=false", "--set", "output.save-model=false"];
        var r = Cli.Run(["train", "--run-dir", tmp["run"], .. tiny, "--set", "trainer.runtime=in-process"]);
        Assert.True(r.ExitCode == 0, r.Describe());
        var left = Directory.GetDirectories(Path.GetTempPath(), $"actortrainer-warmup-{r.ProcessId.ToString(CultureInfo.InvariantCulture)}-*");
        Assert.True(left.Length == 0, "left behind: " + string.Join(", ", left));
        Cli.Train(tmp["actors"], [.. tiny, "--set", "trainer.runtime=actors"]);
        Assert.Equal(RunDir.Summary(tmp["actors"]).GetProperty("weights_sha256").GetString(),
                     RunDir.Summary(tmp["run"]).GetProperty("weights_sha256").GetString());
    }
}
