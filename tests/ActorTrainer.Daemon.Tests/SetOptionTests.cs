using ActorTrainer.Daemon.Configuration;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A --set with a control character or whitespace in its key, or a stray control character in its value (a
/// script's trailing newline), is refused naming the key, alike by `train` and `submit`.</summary>
public class SetOptionTests
{
    [Theory]
    [InlineData("trainer.epochs=1\n", "--set 'trainer.epochs=1\\n': the value of trainer.epochs holds a control character (\\n) at its end")]
    [InlineData("trainer.epochs=1\r", "the value of trainer.epochs holds a control character (\\r) at its end")]
    [InlineData("trainer.epochs=1\u001b", "the value of trainer.epochs holds a control character (\\u001B)")]
    [InlineData("trainer.epochs\n=1", "the key 'trainer.epochs\\n' holds a control character (\\n)")]
    [InlineData("trainer.epochs\u0001=1", "the key 'trainer.epochs\\u0001' holds a control character (\\u0001)")]
    [InlineData("trainer .epochs=1", "the key 'trainer .epochs' holds whitespace (U+0020)")]
    [InlineData("trainer.\tepochs=1", "the key 'trainer.\\tepochs' holds a control character (\\t)")]
    public void Set_with_a_control_character_or_whitespace_is_refused_naming_the_key_by_train_and_submit(string set, string message)
    {
        using var t = new TempDir();
        Cli.AssertBadInput(Cli.Run(["train", "--run-dir", t["run"], "--set", set]), message);
        Assert.False(Directory.Exists(t["run"]));
        // refused before any request is sent, with the same line (no service listens on port 1)
        Cli.AssertBadInput(Cli.Run(["submit", "--server", "http://127.0.0.1:1", "--set", set]), message);
        Assert.Contains(message, Assert.Throws<ConfigException>(() => ConfigLoader.LoadText(null, "test", [set])).Message);
    }

    [Fact]
    public void Set_keeps_trimming_spaces_and_taking_values_that_span_lines()
    {
        Assert.Equal(("trainer.epochs", "3"), SetOption.Split(" trainer.epochs = 3 "));
        Assert.Equal(("model.layers", "[\n\t{ type = dense, units = 10 }\n]"), SetOption.Split("model.layers=[\n\t{ type = dense, units = 10 }\n]"));
        Assert.Equal(3, ConfigLoader.LoadText(null, "test", ["trainer.epochs = 3"]).GetInt("trainer.epochs"));
    }
}
