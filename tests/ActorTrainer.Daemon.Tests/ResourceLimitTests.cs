using System.Net;
using System.Net.Sockets;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Sizes are checked before anything large is allocated; a batch larger than the data is the whole data
/// (as in Keras); empty data sets and a busy metrics port are refused with exit 2.</summary>
public sealed class ResourceLimitTests
{
    private static readonly string[] Small =
    [
        "--set", "trainer.epochs=1", "--set", "data.train-limit=2000", "--set", "data.test-limit=300",
        "--set", "output.plots=false", "--set", "output.tensorboard=false",
    ];

    [Theory]
    [InlineData("actors", "1000000000")]
    [InlineData("in-process", "1000000000")]
    [InlineData("in-process", "4000000")]
    public void A_batch_larger_than_the_data_trains_as_one_batch(string runtime, string batch)
    {
        using var t = new TempDir();
        var r = Cli.Run(["train", "--run-dir", t["run"], .. Small, "--set", "trainer.runtime=" + runtime,
                         "--set", "trainer.batch-size=" + batch, "--set", "trainer.workers=2"], 180);
        Assert.True(r.ExitCode == 0, r.Describe());
        var s = RunDir.Summary(t["run"]);
        Assert.Equal(1, s.GetProperty("steps").GetInt64());
        Assert.True(r.Stderr.Length < 10_000, "unexpected stderr volume\n" + r.Describe());
    }

    [Fact]
    public void Evaluate_with_a_huge_batch_size_evaluates_everything_at_once()
    {
        using var t = new TempDir();
        Cli.Train(t["run"], "--set", "output.plots=false", "--set", "output.tensorboard=false");
        var r = Cli.Run(["evaluate", "--model", Path.Combine(t["run"], "model"), "--batch-size", "2000000000", "--json"]);
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Contains("\"samples\":10000", r.Stdout);
    }

    [Fact]
    public void A_model_too_large_for_memory_is_refused_naming_the_bytes()
    {
        using var t = new TempDir();
        var conf = t["huge.conf"];
        var layers = string.Join(",\n", Enumerable.Repeat("{ type = dense, units = 40000, activation = relu }", 20));
        File.WriteAllText(conf, $"model.layers = [\n{layers},\n{{ type = dense, units = 10, activation = softmax }}\n]\n");
        var r = Cli.Run(["train", "--config", conf, "--run-dir", t["run"], .. Small]);
        Cli.AssertBadInput(r, "bytes", "available");
        Assert.False(Directory.Exists(t["run"]));
    }

    [Fact]
    public void A_kernel_larger_than_one_array_is_refused_naming_the_layer()
    {
        using var t = new TempDir();
        var r = Cli.Run(["train", "--run-dir", t["run"], .. Small,
                         "--set", "model.layers=[{ type = dense, units = 1000000 }, { type = dense, units = 1000000 }, { type = dense, units = 10, activation = softmax }]"]);
        Cli.AssertBadInput(r, "model.layers[1]", "1000000x1000000", "bytes");
    }

    [Theory]
    [InlineData("actors")]
    [InlineData("in-process")]
    public void An_empty_training_set_exits_2_naming_it(string runtime)
    {
        using var t = new TempDir();
        var dir = MnistDir.Write(t["mnist"], 0, 50);
        var r = Cli.Run(["train", "--run-dir", t["run"], "--set", "data.dir=" + dir, "--set", "trainer.runtime=" + runtime]);
        Cli.AssertBadInput(r, "training set", "empty", dir);
    }

    [Fact]
    public void An_empty_test_set_exits_2_instead_of_reporting_accuracy_0()
    {
        using var t = new TempDir();
        var dir = MnistDir.Write(t["mnist"], 200, 0);
        var r = Cli.Run(["train", "--run-dir", t["run"], "--set", "data.dir=" + dir, "--set", "trainer.runtime=in-process"]);
        Cli.AssertBadInput(r, "test set", "empty");
        Assert.False(File.Exists(Path.Combine(t["run"], "summary.json")));
    }

    [Fact]
    public void Metrics_port_in_use_exits_2()
    {
        using var t = new TempDir();
        var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        try
        {
            var port = ((IPEndPoint)busy.LocalEndpoint).Port;
            var r = Cli.Run(["train", "--run-dir", t["run"], .. Cli.Tiny, "--set", $"metrics.port={port}"]);
            var err = Cli.AssertBadInput(r, "metrics.port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "in use");
            Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        finally { busy.Stop(); }
    }
}
