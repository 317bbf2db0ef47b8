using System.Text.Json;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>The losses that train on float targets (categorical_crossentropy, binary_crossentropy, mse) get MNIST's
/// labels one-hot encoded to the model's output width, as a Keras user's <c>to_categorical</c>: train (on either
/// runtime), the test evaluation and <c>evaluate</c> run and report a loss and an accuracy; an output layer whose units
/// are not the number of classes is refused with exit 2 before anything is written.</summary>
public sealed class OneHotLossTests : IDisposable
{
    private readonly TempDir _t = new();

    /// <inheritdoc />
    public void Dispose() => _t.Dispose();

    [Theory]
    [InlineData("mse", "actors")]
    [InlineData("categorical_crossentropy", "in-process")]
    [InlineData("binary_crossentropy", "actors")]
    public void A_target_loss_trains_on_one_hot_labels_and_reports_finite_loss_and_accuracy(string loss, string runtime)
    {
        var run = _t["run"];
        Cli.Train(run, "--set", "loss=" + loss, "--set", "trainer.runtime=" + runtime, "--set", "output.tensorboard=false");
        var summary = RunDir.Summary(run);
        var testLoss = summary.GetProperty("test_loss").GetDouble();
        var testAccuracy = summary.GetProperty("test_accuracy").GetDouble();
        Assert.True(double.IsFinite(testLoss) && testLoss >= 0, $"test_loss {testLoss}");
        Assert.InRange(testAccuracy, 0.2, 1.0);    // one epoch of 1,000 samples learns more than chance (0.1)
        var (header, rows) = RunDir.History(run);
        Assert.Contains("val_accuracy", header);
        Assert.All(rows[0], v => Assert.True(double.IsFinite(v), string.Join(",", rows[0])));

        var r = Cli.Run(["evaluate", "--model", Path.Combine(run, "model"), "--json"]);
        Assert.True(r.ExitCode == 0, r.Describe());
        var eval = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.True(double.IsFinite(eval.GetProperty("test_loss").GetDouble()), r.Stdout);
        Assert.InRange(eval.GetProperty("test_accuracy").GetDouble(), 0.2, 1.0);
    }

    [Theory]
    [InlineData("mse", "model.layers.1.units=12", "12 units")]
    [InlineData("categorical_crossentropy", "model.layers.1.units=9", "9 units")]
    public void An_output_layer_without_one_unit_per_class_exits_2_before_writing(string loss, string set, string units)
    {
        var run = _t["run"];
        var r = Cli.Run(["train", "--run-dir", run, .. Cli.Tiny, "--set", "loss=" + loss, "--set", set]);
        Cli.AssertBadInput(r, "model.layers", units, "10 classes", loss);
        Assert.False(Directory.Exists(run), "the refused run wrote its directory");
    }

    [Theory]
    [InlineData("binary_crossentropy")]
    [InlineData("mse")]
    public void One_sigmoid_unit_trains_a_binary_classifier_on_labels_0_and_1(string loss)
    {
        var data = MnistDir.Write(_t["zeros-and-ones"], 1000, 400, label => label < 2);
        var run = _t["run"];
        Cli.Train(run, "--set", $"data.dir={data}", "--set", "loss=" + loss, "--set", "output.tensorboard=true",
                  "--set", "model.layers.1={ type = dense, units = 1, activation = sigmoid }");
        var summary = RunDir.Summary(run);
        Assert.InRange(summary.GetProperty("test_accuracy").GetDouble(), 0.95, 1.0);   // 0 against 1 is easy: chance is ~0.5
        Assert.True(File.Exists(Path.Combine(run, "misclassified.png")));

        var eval = Cli.Run(["evaluate", "--model", Path.Combine(run, "model"), "--data", data, "--json"]);
        Assert.True(eval.ExitCode == 0, eval.Describe());
        Assert.Equal(summary.GetProperty("test_accuracy").GetDouble(), JsonDocument.Parse(eval.Stdout).RootElement.GetProperty("test_accuracy").GetDouble(), 4);

        var predict = Cli.Run(["predict", "--model", Path.Combine(run, "model"), "--input", Path.Combine(data, "t10k-images-idx3-ubyte")]);
        Assert.True(predict.ExitCode == 0, predict.Describe());
        var lines = predict.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(400, lines.Length);
        Assert.All(lines, l => Assert.Equal(l.GetProperty("probabilities")[0].GetSingle() > 0.5f ? 1 : 0, l.GetProperty("label").GetInt32()));
        Assert.Contains(lines, l => l.GetProperty("label").GetInt32() == 1);
    }

    [Theory]
    [InlineData("binary_crossentropy", "this data has 10 classes")]
    [InlineData("categorical_crossentropy", "use loss = binary_crossentropy")]
    public void One_output_unit_needs_two_classes_and_a_binary_loss(string loss, string hint)
    {
        var run = _t["run"];
        var r = Cli.Run(["train", "--run-dir", run, .. Cli.Tiny, "--set", "loss=" + loss,
                         "--set", "model.layers.1={ type = dense, units = 1, activation = sigmoid }"]);
        Cli.AssertBadInput(r, "model.layers", "has 1 unit but", "10 classes", hint);
        Assert.False(Directory.Exists(run), "the refused run wrote its directory");
    }

    [Fact]
    public void The_sparse_loss_keeps_accepting_more_units_than_classes()
    {
        var run = _t["run"];
        Cli.Train(run, "--set", "model.layers.1.units=12", "--set", "output.plots=false", "--set", "output.tensorboard=false");
        Assert.True(double.IsFinite(RunDir.Summary(run).GetProperty("test_loss").GetDouble()));
    }
}
