using Xunit;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ActorTrainer.Interop;
using PlotApi = ActorTrainer.Daemon.Plots.Plots;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A 2-epoch run (512 train / 200 test samples, 4 steps per epoch) with JSON logs and batch scalars every 2 steps.</summary>
public sealed class TensorBoardRunFixture : IDisposable
{
    private readonly TempDir _temp = new();

    /// <summary>Trains once and reads both event files (CRC-checked) and history.csv.</summary>
    public TensorBoardRunFixture()
    {
        RunDir = _temp["run"];
        Result = Cli.Run(["train", "--run-dir", RunDir, "--set", "data.train-limit=512", "--set", "data.test-limit=200",
                          "--set", "trainer.epochs=2", "--set", "trainer.runtime=in-process", "--set", "output.plots=false",
                          "--set", "output.log-format=json", "--set", "output.tensorboard-every-steps=2"], 300);
        Assert.True(Result.ExitCode == 0, Result.Describe());
        Train = EventFileReader.Read(RunDir_("train"));
        Validation = EventFileReader.Read(RunDir_("validation"));
        History = ActorTrainer.Daemon.Tests.RunDir.History(RunDir).Rows;
    }

    private string RunDir_(string sub) => ActorTrainer.Daemon.Tests.RunDir.EventFile(Path.Combine(RunDir, "tensorboard", sub));

    /// <summary>The run directory.</summary>
    public string RunDir { get; }
    /// <summary>The train command's output.</summary>
    public CliResult Result { get; }
    /// <summary>Events of tensorboard/train.</summary>
    public IReadOnlyList<TensorBoardEvent> Train { get; }
    /// <summary>Events of tensorboard/validation.</summary>
    public IReadOnlyList<TensorBoardEvent> Validation { get; }
    /// <summary>history.csv rows: epoch, loss, accuracy, val_loss, val_accuracy.</summary>
    public double[][] History { get; }

    /// <summary>Deletes the run directory.</summary>
    public void Dispose() => _temp.Dispose();
}

/// <summary>TensorBoard event files, structured JSON logs and the Prometheus endpoint of a training run.</summary>
public sealed class ObservabilityTests(TensorBoardRunFixture fx) : IClassFixture<TensorBoardRunFixture>
{
    private static float Scalar(IEnumerable<TensorBoardEvent> events, string tag, long step) =>
        events.Single(e => e.Kind == TensorBoardEventKind.Scalar && e.Tag == tag && e.Step == step).ScalarValue!.Value;

    [Fact]
    public void Event_files_start_with_the_file_version_event()
    {
        Assert.Equal("brain.Event:2", fx.Train[0].FileVersion);
        Assert.Equal(TensorBoardEventKind.FileVersion, fx.Validation[0].Kind);
        Assert.Equal("brain.Event:2", fx.Validation[0].FileVersion);
    }

    [Fact]
    public void Epoch_scalars_equal_history_csv_as_float32()
    {
        Assert.Equal(2, fx.History.Length);
        for (var e = 0; e < 2; e++)
        {
            var h = fx.History[e];
            Assert.Equal(e, (int)h[0]);
            // Keras writes an epoch's scalars at step = the 0-based epoch index (history.csv's epoch column)
            Assert.Equal((float)h[1], Scalar(fx.Train, "epoch_loss", e));
            Assert.Equal((float)h[2], Scalar(fx.Train, "epoch_accuracy", e));
            Assert.Equal((float)h[3], Scalar(fx.Validation, "epoch_loss", e));
            Assert.Equal((float)h[4], Scalar(fx.Validation, "epoch_accuracy", e));
            Assert.Equal(0.001f, Scalar(fx.Train, "learning_rate", e));
            Assert.True(Scalar(fx.Train, "steps_per_second", e) > 0);
        }
        Assert.Equal([0L, 1L], fx.Train.Where(ev => ev.Tag == "epoch_loss").Select(ev => ev.Step).ToArray());
        Assert.DoesNotContain(fx.Validation, ev => ev.Tag == "learning_rate");
    }

    [Fact]
    public void Batch_scalars_every_two_steps_end_each_epoch_at_the_epoch_loss()
    {
        var steps = fx.Train.Where(e => e.Tag == "batch_loss").Select(e => e.Step).ToArray();
        Assert.Equal([2L, 4L, 6L, 8L], steps);
        // Batch logs are running means over the epoch, so the last batch of an epoch (steps 4 and 8) equals epoch_loss.
        Assert.Equal((float)fx.History[0][1], Scalar(fx.Train, "batch_loss", 4));
        Assert.Equal((float)fx.History[1][1], Scalar(fx.Train, "batch_loss", 8));
        Assert.Equal((float)fx.History[1][2], Scalar(fx.Train, "batch_accuracy", 8));
    }

    [Fact]
    public void Weight_and_gradient_histograms_are_written_per_epoch()
    {
        var sizes = new Dictionary<string, int> { ["dense/kernel"] = 784 * 512, ["dense/bias"] = 512, ["dense_1/kernel"] = 5120, ["dense_1/bias"] = 10 };
        foreach (var (tag, n) in sizes)
            foreach (var step in new long[] { 0, 1 })
            {
                var w = fx.Train.Single(e => e.Kind == TensorBoardEventKind.Histogram && e.Tag == tag && e.Step == step).Histogram!;
                Assert.Equal(n, w.Num);
                Assert.Equal(n, w.Buckets.Sum());
                Assert.True(w.Min <= w.Max);
                var g = fx.Train.Single(e => e.Kind == TensorBoardEventKind.Histogram && e.Tag == tag + "/gradient" && e.Step == step).Histogram!;
                Assert.Equal(n, g.Num);
                Assert.True(g.SumSquares > 0, $"{tag}/gradient at epoch {step} is all zeros");
            }
        // The last epoch's weight histograms describe the saved weights exactly.
        var (tensors, _) = Safetensors.Read(Path.Combine(fx.RunDir, "model", "model.safetensors"));
        foreach (var t in tensors)
        {
            var h = fx.Train.Single(e => e.Kind == TensorBoardEventKind.Histogram && e.Tag == t.Name && e.Step == 1).Histogram!;
            Assert.Equal(t.Data.Min(), h.Min);
            Assert.Equal(t.Data.Max(), h.Max);
            Assert.Equal(t.Data.Sum(v => (double)v), h.Sum, 1e-6 * Math.Max(1, t.Data.Sum(v => Math.Abs((double)v))));
        }
    }

    [Fact]
    public void Validation_holds_a_predictions_png_image_per_epoch()
    {
        var images = fx.Validation.Where(e => e.Kind == TensorBoardEventKind.Image && e.Tag == "predictions").ToArray();
        Assert.Equal([0L, 1L], images.Select(i => i.Step).ToArray());
        var (w, h) = PlotApi.DigitGridSize(28, 28, 2, 5);
        foreach (var img in images)
        {
            Assert.True(RunDir.IsPng(img.Image!.EncodedImage));
            Assert.Equal((w, h), RunDir.PngSize(img.Image.EncodedImage));
            Assert.Equal(h, img.Image.Height);
            Assert.Equal(w, img.Image.Width);
            Assert.Equal(4, img.Image.Colorspace);
        }
    }

    [Fact]
    public void Json_log_format_prints_one_parseable_object_per_epoch()
    {
        var objects = fx.Result.StdoutLines.Where(l => l.StartsWith('{'))
            .Select(l => { using var d = JsonDocument.Parse(l); return d.RootElement.Clone(); }).ToArray();
        var epochs = objects.Where(o => o.GetProperty("State").TryGetProperty("Epoch", out _)).ToArray();
        Assert.Equal(2, epochs.Length);
        for (var e = 0; e < 2; e++)
        {
            var s = epochs[e].GetProperty("State");
            Assert.Equal("Information", epochs[e].GetProperty("LogLevel").GetString());
            Assert.Equal(e + 1, s.GetProperty("Epoch").GetInt32());
            Assert.Equal(2, s.GetProperty("Epochs").GetInt32());
            Assert.Equal(fx.History[e][1], s.GetProperty("Loss").GetDouble());
            Assert.Equal(fx.History[e][2], s.GetProperty("Accuracy").GetDouble());
            Assert.Equal(fx.History[e][3], s.GetProperty("ValLoss").GetDouble());
            Assert.Equal(fx.History[e][4], s.GetProperty("ValAccuracy").GetDouble());
        }
        // No Keras progress bar in JSON mode, and the test result is a JSON object too: nothing but JSON on stdout.
        Assert.All(fx.Result.StdoutLines, l => Assert.True(l.StartsWith('{'), l));
        var test = objects.Single(o => o.GetProperty("State").TryGetProperty("TestLoss", out _)).GetProperty("State");
        var summary = RunDir.Summary(fx.RunDir);
        Assert.Equal(summary.GetProperty("test_loss").GetDouble(), test.GetProperty("TestLoss").GetDouble());
        Assert.Equal(summary.GetProperty("test_accuracy").GetDouble(), test.GetProperty("TestAccuracy").GetDouble());
    }

    private static int FreePort() => FreePorts.Next();

    private static double Sample(string text, string name)
    {
        var line = text.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
    }

    [Theory]
    [InlineData("in-process", 1)]
    [InlineData("actors", 2)]
    public async Task Metrics_endpoint_serves_prometheus_text_while_training(string runtime, int workers)
    {
        // The full training set for 3 epochs: long enough to be scraped mid-run on any machine; killed once scraped.
        var port = FreePort();
        using var t = new TempDir();
        using var p = Cli.Start(["train", "--run-dir", t["run"], "--set", "data.test-limit=200",
                                 "--set", "trainer.epochs=3", "--set", "trainer.runtime=" + runtime, "--set", "output.plots=false",
                                 "--set", $"trainer.workers={workers}",
                                 "--set", "output.tensorboard=false", "--set", $"metrics.port={port}"]);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var uri = new Uri($"http://127.0.0.1:{port}/metrics");
            var deadline = Stopwatch.StartNew();
            string? body = null;
            while (deadline.Elapsed < TimeSpan.FromSeconds(90) && !p.HasExited)
            {
                try
                {
                    using var resp = await http.GetAsync(uri);
                    var text = await resp.Content.ReadAsStringAsync();
                    // Wait for 2 steps: the gauges of step 1 are set by then (MetricsCallback bumps steps_total before
                    // it sets loss / learning_rate, so a scrape right after step 1 may still see zeros).
                    if (resp.StatusCode == HttpStatusCode.OK && Sample(text, "actortrainer_steps_total") >= 2)
                    {
                        Assert.StartsWith("text/plain", resp.Content.Headers.ContentType!.MediaType);
                        body = text;
                        break;
                    }
                }
                catch (HttpRequestException) { }
                await Task.Delay(200);
            }
            if (body is null)
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                Assert.Fail($"no metrics with steps >= 2 on {uri}\n{await stdout}\n{await stderr}");
            }
            Assert.Contains("# TYPE actortrainer_steps_total counter", body);
            Assert.Contains("# TYPE actortrainer_loss gauge", body);
            var loss = Sample(body!, "actortrainer_loss");
            Assert.True(double.IsFinite(loss) && loss > 0 && loss < 10, $"actortrainer_loss {loss}\n{body}");
            Assert.True(Math.Abs(Sample(body!, "actortrainer_learning_rate") - 0.001) < 1e-12, body);
            Assert.True(Sample(body!, "actortrainer_workers_alive") == workers, body);
            // the weight version comes from the runtime: one update per step (the counter is bumped last)
            var steps = Sample(body!, "actortrainer_steps_total");
            Assert.InRange(Sample(body!, "actortrainer_parameter_server_version"), steps, steps + 1);
            Assert.True(Sample(body!, "actortrainer_stale_gradients_total") == 0, body);
            // the parameter server's own time: measured by the slices on the actor runtime, absent work in-process
            var serverSeconds = Sample(body!, "actortrainer_parameter_server_seconds_total");
            if (runtime == "actors") Assert.True(serverSeconds > 0 && serverSeconds < 60, body);
            else Assert.Equal(0, serverSeconds);
            Assert.InRange(Sample(body!, "actortrainer_accuracy"), 0.0, 1.0);
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
    }
}

/// <summary>TensorBoard across a resume: the resumed run's batch scalars continue the global step count.</summary>
public sealed class TensorBoardResumeTests
{
    [Fact]
    public void A_resumed_run_writes_its_batch_scalars_at_the_global_steps_after_the_checkpoint()
    {
        using var t = new TempDir();
        var run = t["run"];
        string[] common = ["--set", "data.train-limit=512", "--set", "data.test-limit=200", "--set", "trainer.runtime=in-process",
                           "--set", "output.plots=false", "--set", "output.tensorboard-every-steps=2"];
        var first = Cli.Run(["train", "--run-dir", run, "--set", "trainer.epochs=1", .. common], 300);
        Assert.True(first.ExitCode == 0, first.Describe());
        var resumed = Cli.Run(["train", "--resume", run, "--set", "trainer.epochs=2", .. common], 300);
        Assert.True(resumed.ExitCode == 0, resumed.Describe());
        var files = Directory.GetFiles(Path.Combine(run, "tensorboard", "train")).Select(f => EventFileReader.Read(f)).ToArray();
        Assert.Equal(2, files.Length);
        var steps = files.Select(f => f.Where(e => e.Tag == "batch_loss").Select(e => e.Step).ToArray()).OrderBy(s => s.Min()).ToArray();
        Assert.Equal([2L, 4L], steps[0]);
        Assert.Equal([6L, 8L], steps[1]);       // 4 steps per epoch: the second epoch's points follow the first's
    }
}
