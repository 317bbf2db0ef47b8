using ActorTrainer.Core;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>EpochLogs compares by value, its Logs dictionary included (keys in order, values bitwise).</summary>
public sealed class EpochLogsEqualityTests
{
    private static EpochLogs Logs(params (string Key, double Value)[] logs) =>
        new(2, 0.5, 0.75, 0.625, null, 1.5, logs.Length == 0 ? null : logs.ToDictionary(kv => kv.Key, kv => kv.Value));

    [Fact]
    public void Two_epochs_with_equal_logs_in_distinct_dictionaries_are_equal_and_hash_alike()
    {
        var a = Logs(("loss", 0.5), ("learning_rate", 0.01));
        var b = Logs(("loss", 0.5), ("learning_rate", 0.01));
        Assert.Equal(a, b);
        Assert.True(a.Equals((object)b));
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal(new[] { a }, new[] { b });
        Assert.Equal(Logs(), Logs());                                  // null logs on both sides
    }

    [Fact]
    public void Epochs_differing_in_a_log_value_a_key_order_or_a_missing_dictionary_are_unequal()
    {
        var a = Logs(("loss", 0.5), ("learning_rate", 0.01));
        Assert.NotEqual(a, Logs(("loss", 0.5), ("learning_rate", 0.02)));
        Assert.NotEqual(a, Logs(("learning_rate", 0.01), ("loss", 0.5)));
        Assert.NotEqual(a, Logs(("loss", 0.5)));
        Assert.NotEqual(a, Logs());
        Assert.NotEqual(Logs(("loss", 0.0)), Logs(("loss", -0.0)));     // bitwise
        Assert.Equal(Logs(("loss", double.NaN)), Logs(("loss", double.NaN)));
        Assert.NotEqual(a, new EpochLogs(2, 0.5, 0.75, 0.625, null, 2.5, a.Logs));
    }
}
