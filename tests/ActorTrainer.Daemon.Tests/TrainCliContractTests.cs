using ActorTrainer.Daemon.Configuration;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>`train`'s promises that exploratory use found broken: one --set sets one key (a value with line breaks
/// cannot smuggle in another), config.conf re-parses after a multi-line --set, trainer.verbose = 0 is silent, and a
/// setting the chosen runtime cannot honour is refused instead of recorded and ignored.</summary>
public sealed class TrainCliContractTests
{
    [Fact]
    public void A_set_value_with_a_line_break_cannot_set_another_key()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(null, "test", ["model.name=abc\ntrainer.epochs = 7"]));
        Assert.Contains("also sets 'trainer.epochs'", e.Message);
        Assert.Contains("model.name=abc\\ntrainer.epochs = 7", e.Message);          // on one line
        var ok = ConfigLoader.LoadText(null, "test", ["model.name=\"\"\"two\nlines\"\"\"", "trainer={ epochs = 4 }"]);
        Assert.Equal("two\nlines", ok.GetString("model.name"));
        Assert.Equal(4, ok.GetInt("trainer.epochs"));
    }

    [Fact]
    public void A_multi_line_set_value_leaves_a_config_conf_that_parses_back()
    {
        using var t = new TempDir();
        const string layers = "[\n  { type = dense, units = 32, activation = relu }\n  { type = dense, units = 10, activation = softmax }\n]";
        Cli.Train(t["run"], "--set", "model.layers=" + layers, "--set", "output.plots=false", "--set", "output.tensorboard=false");
        var saved = ConfigLoader.Load(Path.Combine(t["run"], "config.conf"), []);
        Assert.Equal(32, saved.GetValue("model.layers").GetArray()[0].GetObject().GetKey("units").GetInt());
        Assert.Contains("--set model.layers=[\\n", File.ReadLines(Path.Combine(t["run"], "config.conf")).First());
    }

    [Fact]
    public void Verbose_0_prints_nothing_on_stdout()
    {
        using var t = new TempDir();
        var r = Cli.Train(t["run"], "--set", "trainer.verbose=0", "--set", "output.plots=false", "--set", "output.tensorboard=false");
        Assert.Equal("", r.Stdout);
        Assert.True(File.Exists(Path.Combine(t["run"], "summary.json")));
    }

    [Fact]
    public void An_accuracy_metric_under_another_name_is_reported_as_the_accuracy()
    {
        using var t = new TempDir();
        var r = Cli.Train(t["run"], "--set", "metrics=[sparse_categorical_accuracy]", "--set", "output.tensorboard=false");
        var acc = RunDir.Summary(t["run"]).GetProperty("test_accuracy");
        Assert.Equal(System.Text.Json.JsonValueKind.Number, acc.ValueKind);
        Assert.Contains($"test_sparse_categorical_accuracy: {acc.GetDouble():0.0000}", r.StdoutLines[^1]);
        Assert.True(File.Exists(Path.Combine(t["run"], "learning_curves.png")));
        var e = Cli.Run(["evaluate", "--model", Path.Combine(t["run"], "model"), "--json"]);
        Assert.True(e.ExitCode == 0, e.Describe());
        Assert.Equal(System.Text.Json.JsonValueKind.Number, System.Text.Json.JsonDocument.Parse(e.Stdout).RootElement.GetProperty("test_accuracy").ValueKind);
    }

    [Fact]
    public void Async_mode_on_the_in_process_runtime_is_refused()
    {
        var e = Assert.Throws<ConfigException>(() => TrainSettings.From(ConfigLoader.LoadText(null, "test", ["trainer.mode=async", "trainer.runtime=in-process"])));
        Assert.Contains("trainer.mode = async needs trainer.runtime = actors", e.Message);
        Assert.Equal("async", TrainSettings.From(ConfigLoader.LoadText(null, "test", ["trainer.mode=async"])).Mode);
    }
}
