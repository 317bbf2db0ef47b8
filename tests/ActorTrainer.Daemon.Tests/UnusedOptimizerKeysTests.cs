using ActorTrainer.Daemon.Configuration;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>An optimizer key that optimizer.type does not read, set to a value other than reference.conf's, is warned
/// of (it changes nothing); the chosen type's keys and untouched defaults are not.</summary>
public sealed class UnusedOptimizerKeysTests
{
    private static IReadOnlyList<string> Warnings(params string[] sets) => UnusedOptimizerKeys.Of(ConfigLoader.LoadText(null, "test.conf", sets));

    [Fact]
    public void A_key_of_another_optimizer_type_set_away_from_its_default_is_warned_of_naming_key_value_and_type()
    {
        var w = Assert.Single(Warnings("optimizer.type=sgd", "optimizer.rho=0.5"));
        Assert.Contains("optimizer.rho = 0.5", w);
        Assert.Contains("optimizer.type = sgd", w);
        Assert.Contains("momentum, nesterov", w);
        Assert.Equal(2, Warnings("optimizer.type=adam", "optimizer.momentum=0.9", "optimizer.centered=on").Count);
    }

    [Theory]
    [InlineData("optimizer.type=sgd")]                                   // other types' keys at their defaults
    [InlineData("optimizer.rho=0.5")]                                    // rmsprop (the default type) reads rho
    [InlineData("optimizer.type=sgd", "optimizer.momentum=0.9")]
    [InlineData("optimizer.type=ADAM", "optimizer.beta-1=0.8", "optimizer.epsilon=1e-07")]
    [InlineData("optimizer.type=sgd", "optimizer.rho=0.90", "optimizer.centered=off")]   // the default, written otherwise
    [InlineData("optimizer.type=adagrad", "optimizer.learning-rate-scaling=linear")]
    public void The_types_own_keys_and_untouched_defaults_are_not_warned_of(params string[] sets) => Assert.Empty(Warnings(sets));

    [Fact]
    public void Train_logs_the_warning_and_trains()
    {
        using var t = new TempDir();
        var r = Cli.Run(["train", "--run-dir", t["run"], .. Cli.Tiny, "--set", "output.plots=false", "--set", "optimizer.type=sgd",
                         "--set", "optimizer.beta-2=0.5"]);
        Assert.True(r.ExitCode == 0, r.Describe());
        Assert.Contains("optimizer.beta-2 = 0.5 is not used by optimizer.type = sgd", r.Stderr + r.Stdout);
    }
}
