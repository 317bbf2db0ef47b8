using ActorTrainer.Core;
using ActorTrainer.Daemon.Configuration;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>One rule for every integer key (<see cref="IntegerValue"/>): the trainer's, data's, cluster's and serve's keys
/// and the model's (units, input-shape) take an integer written as one. Before, `--set model.layers.0.units=256.0` trained
/// a 256-unit layer (the model keys went to Core's JSON parser as numbers) while `--set trainer.epochs=1.0` was refused.</summary>
public sealed class IntegerConfigKeyTests
{
    private static TrainSettings Settings(params string[] sets) => TrainSettings.From(ConfigLoader.LoadText(null, "test", sets));

    private static string Error(params string[] sets) => Assert.Throws<ConfigException>(() => Settings(sets)).Message;

    [Theory]
    [InlineData("trainer.epochs=1.0", "trainer.epochs", "1.0", "1")]
    [InlineData("data.train-limit=256.0", "data.train-limit", "256.0", "256")]
    [InlineData("trainer.checkpoint.keep=3e0", "trainer.checkpoint.keep", "3e0", "3")]
    [InlineData("cluster.port=4053.0", "cluster.port", "4053.0", "4053")]
    [InlineData("model.layers.0.units=256.0", "model.layers[0].units", "256.0", "256")]
    [InlineData("model.layers.1.units=10.0", "model.layers[1].units", "10.0", "10")]
    [InlineData("model.input-shape=[784.0]", "model.input-shape[0]", "784.0", "784")]
    public void A_whole_number_written_as_a_decimal_is_refused_alike_in_every_section(string set, string key, string value, string integer) =>
        Assert.Equal($"config: {key} must be an integer, got '{value}' (write {integer})", Error(set));

    [Theory]
    [InlineData("trainer.epochs=1.5", "trainer.epochs", "1.5")]
    [InlineData("trainer.batch-size=12.5", "trainer.batch-size", "12.5")]
    [InlineData("model.layers.0.units=256.5", "model.layers[0].units", "256.5")]
    [InlineData("model.input-shape=[28, 28.5]", "model.input-shape[1]", "28.5")]
    [InlineData("model.layers.0.units=many", "model.layers[0].units", "many")]
    public void A_fraction_or_a_word_is_refused_naming_the_key_and_the_value(string set, string key, string value) =>
        Assert.Equal($"config: {key} must be an integer, got '{value}'", Error(set));

    [Fact]
    public void The_keys_that_also_take_auto_or_a_list_follow_the_same_rule()
    {
        Assert.Equal("config: trainer.workers must be 'auto' or an integer >= 0 (0 = one per core), got '2.0'", Error("trainer.workers=2.0"));
        Assert.Equal("config: metrics.port must be an integer in [0, 65535] (0 = off), got '9100.0'", Error("metrics={ names = [accuracy], port = 9100.0 }"));
        var serve = ConfigLoader.LoadText(null, "test", ["serve.port=8080.0"]);
        Assert.Equal("config: serve.port must be an integer, got '8080.0' (write 8080)",
                     Assert.Throws<ConfigException>(() => ActorTrainer.Daemon.Service.ServeOptions.From(serve)).Message);
    }

    [Fact]
    public void Integers_written_as_integers_are_taken_in_both_families_and_ranges_stay_each_keys_own()
    {
        var s = Settings("trainer.epochs=2", "model.layers.0.units=256", "model.input-shape=[ 28, 28 ]",
                         "model.layers=[{ type = flatten }, { type = dense, units = 256 }, { type = dense, units = 10, activation = softmax }]");
        Assert.Equal(2, s.Epochs);
        Assert.Equal([28, 28], s.InputShape);
        Assert.Equal(256, Assert.IsType<Dense>(s.Layers[1]).Units);
        Assert.Equal("config: trainer.epochs must be >= 1, got 0", Error("trainer.epochs=0"));
        Assert.Equal("config: model.layers[0].units must be an integer in [1, 2147483647], got 0", Error("model.layers.0.units=0"));
        Assert.Equal("config: trainer.epochs = 3000000000 is out of range: it must be >= 1 and at most 2147483647", Error("trainer.epochs=3000000000"));
        Assert.StartsWith("config: model.layers[0].units must be an integer in [1, 2147483647], got 3000000000", Error("model.layers.0.units=3000000000"));
    }

    [Fact]
    public void The_command_line_refuses_units_of_256_0_with_exit_2_before_anything_is_written()
    {
        using var t = new TempDir();
        var r = Cli.Run(["train", "--run-dir", t["run"], .. Cli.Tiny, "--set", "model.layers.0.units=256.0"], 60);
        Cli.AssertBadInput(r, "config: model.layers[0].units must be an integer, got '256.0' (write 256)");
        Assert.False(Directory.Exists(t["run"]), "a config error must not create the run directory");
    }
}
