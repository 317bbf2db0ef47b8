using ActorTrainer.Core;
using ActorTrainer.Daemon.Output;
using ActorTrainer.Interop;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>TensorBoardCallback.WarmUp, which `train` runs on its warm-up thread so that the first epoch end does not
/// compile the TensorBoard path: it writes what an epoch end writes (else it compiles less than it should), for any
/// model, and leaves nothing behind.</summary>
public sealed class TensorBoardWarmupTests
{
    private static Sequential Model(int inputs, Layer[] layers, string loss)
    {
        var m = new Sequential(layers, "warmup", [inputs], seed: 3);
        m.Compile(new RMSprop(), loss, ["accuracy"]);
        m.Build([inputs]);
        return m;
    }

    private static IReadOnlyList<TensorBoardEvent> Events(string dir, string sub) =>
        EventFileReader.Read(RunDir.EventFile(Path.Combine(dir, sub)));

    [Fact]
    public void Writes_an_epoch_end_scalars_histograms_gradients_and_the_prediction_grid()
    {
        var m = Model(784, [new Dense(16, "relu"), new Dense(10, "softmax")], "sparse_categorical_crossentropy");
        var names = m.Variables.Select(v => v.Name).ToArray();
        using var tmp = new TempDir();
        TensorBoardCallback.WarmUp(m.Plan, names, m.GetWeights(), tmp.Path);
        var train = Events(tmp.Path, "train");
        var validation = Events(tmp.Path, "validation");
        Assert.Contains(train, e => e.Kind == TensorBoardEventKind.Scalar && e.Tag == "epoch_loss" && e.Step == 0);
        Assert.Contains(train, e => e.Kind == TensorBoardEventKind.Scalar && e.Tag == "learning_rate");
        Assert.Contains(train, e => e.Kind == TensorBoardEventKind.Scalar && e.Tag == "batch_loss");
        Assert.Contains(validation, e => e.Kind == TensorBoardEventKind.Scalar && e.Tag == "epoch_loss");
        foreach (var n in names)
        {
            Assert.Contains(train, e => e.Kind == TensorBoardEventKind.Histogram && e.Tag == n);
            Assert.Contains(train, e => e.Kind == TensorBoardEventKind.Histogram && e.Tag == n + "/gradient");
        }
        var grid = Assert.Single(validation, e => e.Kind == TensorBoardEventKind.Image && e.Tag == "predictions");
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], grid.Image!.EncodedImage[..4]);
    }

    [Fact]
    public void A_model_whose_input_is_not_an_image_and_whose_targets_are_one_hot_gets_no_grid()
    {
        var m = Model(5, [new Dense(3, "softmax")], "categorical_crossentropy");
        var names = m.Variables.Select(v => v.Name).ToArray();
        using var tmp = new TempDir();
        TensorBoardCallback.WarmUp(m.Plan, names, m.GetWeights(), tmp.Path);
        Assert.Contains(Events(tmp.Path, "train"), e => e.Kind == TensorBoardEventKind.Histogram && e.Tag == names[0] + "/gradient");
        Assert.DoesNotContain(Events(tmp.Path, "validation"), e => e.Kind == TensorBoardEventKind.Image);
    }

    /// <summary>Only this process's directories are looked at (`train` processes of other tests create theirs, and one
    /// killed by a test leaves its directory behind); in-process runs of other tests create and delete such directories
    /// meanwhile: a new one that is still there 10 s later is this one's.</summary>
    [Fact]
    public void Without_a_directory_it_leaves_no_temporary_directory_behind()
    {
        var m = Model(784, [new Dense(8, "relu"), new Dense(10, "softmax")], "sparse_categorical_crossentropy");
        var pattern = $"actortrainer-warmup-{Environment.ProcessId}-*";
        var before = Directory.GetDirectories(Path.GetTempPath(), pattern).ToHashSet();
        TensorBoardCallback.WarmUp(m.Plan, m.Variables.Select(v => v.Name).ToArray(), m.GetWeights());
        string[] Left() => Directory.GetDirectories(Path.GetTempPath(), pattern).Where(d => !before.Contains(d)).ToArray();
        var until = DateTime.UtcNow.AddSeconds(10);
        while (Left().Length > 0 && DateTime.UtcNow < until) Thread.Sleep(100);
        Assert.True(Left().Length == 0, "left behind: " + string.Join(", ", Left()));
    }
}
