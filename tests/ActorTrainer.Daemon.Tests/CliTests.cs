using Xunit;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ActorTrainer.Core.Data;
using ActorTrainer.Interop;
using PlotApi = ActorTrainer.Daemon.Plots.Plots;

namespace ActorTrainer.Daemon.Tests;

/// <summary>One tiny reference-model run (seed 1, 1000 train / 500 test samples, 1 epoch, in-process) shared by a test class.</summary>
public sealed class TinyRunFixture : IDisposable
{
    private readonly TempDir _temp = new();

    /// <summary>Trains once.</summary>
    public TinyRunFixture()
    {
        RunDir = _temp["run"];
        Result = Cli.Train(RunDir);
    }

    /// <summary>The run directory.</summary>
    public string RunDir { get; }

    /// <summary>The train command's output.</summary>
    public CliResult Result { get; }

    /// <summary>Deletes the run directory.</summary>
    public void Dispose() => _temp.Dispose();
}

/// <summary>End-to-end tests of <c>train</c>: run directory contents, console output, determinism, bad input.</summary>
public sealed partial class CliTests(TinyRunFixture run) : IClassFixture<TinyRunFixture>
{
    private static readonly string[] LayerOrder = ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"];

    [Fact]
    public void Train_writes_summary_json_with_metrics_and_weights_hash()
    {
        var s = RunDir.Summary(run.RunDir);
        var acc = s.GetProperty("test_accuracy").GetDouble();
        var loss = s.GetProperty("test_loss").GetDouble();
        Assert.InRange(acc, 0.5, 1.0);                      // 10 classes: chance is 0.1; one epoch on 1000 samples reaches ~0.8
        Assert.True(double.IsFinite(loss) && loss > 0 && loss < 2.3, $"test_loss {loss}");
        Assert.Equal(1, s.GetProperty("epochs").GetInt32());
        Assert.True(s.GetProperty("train_seconds").GetDouble() > 0);
        Assert.Equal(1000, s.GetProperty("train_samples").GetInt32());
        Assert.Equal(500, s.GetProperty("test_samples").GetInt32());
        Assert.Equal(8, s.GetProperty("steps").GetInt64());  // ceil(1000 / 128)
        Assert.Equal("in-process", s.GetProperty("runtime").GetString());
        var sha = s.GetProperty("weights_sha256").GetString()!;
        Assert.Matches("^[0-9a-f]{64}$", sha);
        Assert.Equal(sha, RunDir.WeightsSha256(Path.Combine(run.RunDir, "model", "model.safetensors"), LayerOrder));
    }

    [Fact]
    public void Train_saves_the_model_files_and_effective_config()
    {
        var (tensors, _) = Safetensors.Read(Path.Combine(run.RunDir, "model", "model.safetensors"));
        var shapes = tensors.ToDictionary(t => t.Name, t => t.Shape);
        Assert.Equal([784, 512], shapes["dense/kernel"]);
        Assert.Equal([512], shapes["dense/bias"]);
        Assert.Equal([512, 10], shapes["dense_1/kernel"]);
        Assert.Equal([10], shapes["dense_1/bias"]);
        Assert.Equal(4, tensors.Count);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(run.RunDir, "model", "config.json")))!;
        Assert.Equal("Sequential", config["class_name"]!.GetValue<string>());
        var layers = config["config"]!["layers"]!.AsArray();
        Assert.Equal(2, layers.Count);
        Assert.Equal(512, layers[0]!["config"]!["units"]!.GetValue<int>());
        Assert.Equal("relu", layers[0]!["config"]!["activation"]!.GetValue<string>());
        Assert.Equal(10, layers[1]!["config"]!["units"]!.GetValue<int>());
        Assert.Equal("softmax", layers[1]!["config"]!["activation"]!.GetValue<string>());
        Assert.Equal("sparse_categorical_crossentropy", config["compile_config"]!["loss"]!.GetValue<string>());

        var conf = File.ReadAllText(Path.Combine(run.RunDir, "config.conf"));
        Assert.StartsWith("# Effective configuration of this run (from config/mnist-mlp.conf, --set data.train-limit=1000", conf);
        Assert.Contains("rmsprop", conf);
    }

    [Fact]
    public void Saved_config_conf_parses_back_to_the_effective_settings()
    {
        // --resume reads config.conf back, so it must be valid HOCON holding the run's values.
        var conf = File.ReadAllText(Path.Combine(run.RunDir, "config.conf"));
        var reparsed = Akka.Configuration.ConfigurationFactory.ParseString(conf);
        Assert.Equal(1, reparsed.GetInt("trainer.epochs"));
        Assert.Equal("in-process", reparsed.GetString("trainer.runtime"));
        Assert.Equal("", reparsed.GetString("data.dir"));
        Assert.Equal(1000, reparsed.GetInt("data.train-limit"));
        Assert.Equal(500, reparsed.GetInt("data.test-limit"));
        Assert.Equal("test", reparsed.GetString("data.validation"));
    }

    [Fact]
    public void Train_writes_history_csv_with_one_row_per_epoch_matching_summary()
    {
        var (header, rows) = RunDir.History(run.RunDir);
        Assert.Equal(["epoch", "loss", "accuracy", "val_loss", "val_accuracy"], header);
        var row = Assert.Single(rows);
        Assert.Equal(0, row[0]);
        var s = RunDir.Summary(run.RunDir);
        Assert.Equal(s.GetProperty("history").GetProperty("loss")[0].GetDouble(), row[1]);
        Assert.Equal(s.GetProperty("history").GetProperty("val_accuracy")[0].GetDouble(), row[4]);
        // data.validation = test with data.test-limit = 500: the validation set is the test set, evaluated in passes of
        // the batch size both times on the same weights, so val_* equal test_* to the bit.
        Assert.Equal(s.GetProperty("test_loss").GetDouble(), row[3]);
        Assert.Equal(s.GetProperty("test_accuracy").GetDouble(), row[4]);
        Assert.InRange(row[2], 0.2, 1.0);
    }

    [Fact]
    public void Train_writes_three_png_plots_of_the_documented_sizes()
    {
        var expected = new Dictionary<string, (int, int)>
        {
            ["predictions.png"] = PlotApi.DigitGridSize(28, 28, 2, 5),
            ["misclassified.png"] = PlotApi.DigitGridSize(28, 28, 5, 10),
            ["learning_curves.png"] = (PlotApi.LearningCurvesWidth, PlotApi.LearningCurvesHeight),
        };
        foreach (var (name, size) in expected)
        {
            var bytes = File.ReadAllBytes(Path.Combine(run.RunDir, name));
            Assert.True(RunDir.IsPng(bytes), $"{name} is not a PNG");
            Assert.Equal(size, RunDir.PngSize(bytes));
            Assert.True(bytes.Length > 1000, $"{name} is only {bytes.Length} bytes");
        }
        Assert.Empty(Directory.GetFiles(run.RunDir, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void Train_prints_keras_progress_and_a_test_line_equal_to_summary()
    {
        var r = run.Result;
        Assert.DoesNotContain('\r', r.Stdout);
        var lines = r.StdoutLines;
        Assert.Contains("Epoch 1/1", lines);
        var progress = lines.Where(l => RunDir.ProgressLine.IsMatch(l)).ToArray();
        Assert.True(progress.Length == 1, "expected one Keras progress line\n" + r.Describe());
        Assert.StartsWith("8/8 [", progress[0]);
        var test = RunDir.TestLine.Match(lines[^1].Contains("test_loss") ? lines[^1] : lines.Last(l => l.StartsWith("test_loss")));
        Assert.True(test.Success, r.Describe());
        var s = RunDir.Summary(run.RunDir);
        Assert.Equal(Math.Round(s.GetProperty("test_loss").GetDouble(), 4), double.Parse(test.Groups[1].Value, CultureInfo.InvariantCulture), 10);
        Assert.Equal(Math.Round(s.GetProperty("test_accuracy").GetDouble(), 4), double.Parse(test.Groups[2].Value, CultureInfo.InvariantCulture), 10);
        // The progress line's val_loss is the same number as the history row's.
        var (_, rows) = RunDir.History(run.RunDir);
        Assert.Contains($"val_loss: {rows[0][3].ToString("F4", CultureInfo.InvariantCulture)}", progress[0]);
    }

    private static readonly string[] NoPlots = ["--set", "output.plots=false", "--set", "output.tensorboard=false"];

    [Fact]
    public void Same_seed_in_a_new_process_gives_identical_weights()
    {
        using var t = new TempDir();
        Cli.Train(t["same"], NoPlots);
        var reference = RunDir.Summary(run.RunDir);
        var same = RunDir.Summary(t["same"]);
        Assert.Equal(reference.GetProperty("weights_sha256").GetString(), same.GetProperty("weights_sha256").GetString());
        Assert.Equal(reference.GetProperty("test_loss").GetDouble(), same.GetProperty("test_loss").GetDouble());
        Assert.False(File.Exists(Path.Combine(t["same"], "predictions.png")));
        Assert.False(Directory.Exists(Path.Combine(t["same"], "tensorboard")));
    }

    /// <summary>metrics = [] trains on the loss alone: the same weights as with accuracy (metrics do not touch the
    /// update), no accuracy columns, summary.json's test_accuracy null and not listed as non-finite, no learning curves.</summary>
    [Fact]
    public void Empty_metrics_train_the_same_weights_and_report_the_loss_only()
    {
        using var t = new TempDir();
        var r = Cli.Train(t["none"], "--set", "metrics=[]", "--set", "output.tensorboard=false");
        Assert.Matches(@"^test_loss: \d+\.\d{4}$", r.StdoutLines[^1]);      // the loss alone, no "test_accuracy: nan"
        var none = RunDir.Summary(t["none"]);
        Assert.Equal(RunDir.Summary(run.RunDir).GetProperty("weights_sha256").GetString(), none.GetProperty("weights_sha256").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, none.GetProperty("test_accuracy").ValueKind);
        Assert.False(none.TryGetProperty("non_finite", out _));
        Assert.Equal("epoch,loss,val_loss", File.ReadLines(Path.Combine(t["none"], "history.csv")).First());
        Assert.True(File.Exists(Path.Combine(t["none"], "predictions.png")));
        Assert.False(File.Exists(Path.Combine(t["none"], "learning_curves.png")));
    }

    [Fact]
    public void Same_seed_without_shuffling_gives_identical_weights()
    {
        using var t = new TempDir();
        string[] args = [.. NoPlots, "--set", "trainer.shuffle=false", "--set", "data.train-limit=300"];
        Cli.Train(t["a"], args);
        Cli.Train(t["b"], args);
        var a = RunDir.Summary(t["a"]).GetProperty("weights_sha256").GetString();
        Assert.Equal(a, RunDir.Summary(t["b"]).GetProperty("weights_sha256").GetString());
        Assert.Equal(a, RunDir.WeightsSha256(Path.Combine(t["b"], "model", "model.safetensors"), LayerOrder));
    }

    [Fact]
    public void Same_seed_with_dropout_and_no_shuffling_gives_identical_weights()
    {
        using var t = new TempDir();
        var conf = t["dropout.conf"];
        File.WriteAllText(conf, """
            trainer { seed = 1, epochs = 1, batch-size = 128, shuffle = false }
            model.layers = [
              { type = dense, units = 512, activation = relu }
              { type = dropout, rate = 0.5 }
              { type = dense, units = 10, activation = softmax }
            ]
            optimizer { type = rmsprop, learning-rate = 0.001 }
            """);
        string[] args = ["--config", conf, .. NoPlots, "--set", "data.train-limit=300"];
        Cli.Train(t["a"], args);
        Cli.Train(t["b"], args);
        var a = RunDir.Summary(t["a"]).GetProperty("weights_sha256").GetString();
        Assert.Equal(a, RunDir.Summary(t["b"]).GetProperty("weights_sha256").GetString());
    }

    [Fact]
    public void Another_seed_gives_different_weights()
    {
        using var t = new TempDir();
        Cli.Train(t["other"], [.. NoPlots, "--set", "trainer.seed=2"]);
        var other = RunDir.Summary(t["other"]);
        Assert.Equal(2, other.GetProperty("seed").GetInt32());
        Assert.NotEqual(RunDir.Summary(run.RunDir).GetProperty("weights_sha256").GetString(), other.GetProperty("weights_sha256").GetString());
    }

    [Fact]
    public void From_scratch_config_trains_with_a_finite_first_epoch_loss()
    {
        using var t = new TempDir();
        var r = Cli.Run(["train", "--config", "config/mnist-from-scratch.conf", "--run-dir", t["run"],
                         "--set", "trainer.epochs=1", "--set", "data.train-limit=1280", "--set", "data.test-limit=500",
                         "--set", "trainer.runtime=in-process", "--set", "output.plots=false", "--set", "output.tensorboard=false"]);
        Assert.True(r.ExitCode == 0, r.Describe());
        var (_, rows) = RunDir.History(t["run"]);
        var loss = Assert.Single(rows)[1];
        Assert.True(double.IsFinite(loss) && loss > 0, $"first-epoch loss {loss}");
        var s = RunDir.Summary(t["run"]);
        Assert.Equal("sgd", s.GetProperty("optimizer").GetString());
        Assert.Equal(0.001, s.GetProperty("learning_rate").GetDouble(), 12);
        Assert.Equal(10, s.GetProperty("steps").GetInt64());
        Assert.Contains("config/mnist-from-scratch.conf", s.GetProperty("config").GetString());
    }

    [Fact]
    public void Sigterm_stops_training_after_the_current_batch_and_still_writes_the_run()
    {
        using var t = new TempDir();
        // The full 60,000 training samples (469 steps per epoch), so that even a fast machine is still training at SIGTERM.
        using var p = Cli.Start(["train", "--run-dir", t["run"], "--set", "data.test-limit=200",
                                 "--set", "trainer.epochs=3", "--set", "trainer.runtime=in-process", "--set", "output.plots=false",
                                 "--set", "output.tensorboard=false"]);
        var stdout = new System.Text.StringBuilder();
        var started = new ManualResetEventSlim();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
            if (e.Data.Contains("run directory")) started.Set();  // text logs go to stderr
        };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        try
        {
            Assert.True(started.Wait(TimeSpan.FromSeconds(60)), "training did not start within 60 s");
            Thread.Sleep(500);                                    // into the first epoch
            using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", p.Id.ToString(CultureInfo.InvariantCulture)]))
                kill.WaitForExit();
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(120)), "train did not exit within 120 s of SIGTERM");
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        p.WaitForExit();
        string output;
        lock (stdout) output = stdout.ToString();
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}\n{output}");
        var s = RunDir.Summary(t["run"]);
        Assert.True(s.GetProperty("interrupted").GetBoolean(), output);
        var steps = s.GetProperty("steps").GetInt64();
        Assert.InRange(steps, 1, 3 * 469 - 1);                 // at least the batch in flight, and stopped before the end
        Assert.Contains("test_loss: ", output);
        Assert.True(File.Exists(Path.Combine(t["run"], "model", "model.safetensors")));
        Assert.Equal(s.GetProperty("weights_sha256").GetString(),
                     RunDir.WeightsSha256(Path.Combine(t["run"], "model", "model.safetensors"), LayerOrder));
    }
}
