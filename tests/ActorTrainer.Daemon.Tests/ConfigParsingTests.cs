using ActorTrainer.Core;
using ActorTrainer.Daemon.Configuration;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>HOCON that made Akka.Configuration's parser hang, overflow its stack or silently accept garbage: every
/// case ends in exit 2 and one line naming the file (or --set) and line, under the harness watchdog.</summary>
public sealed class ConfigParsingTests
{
    private const int Watchdog = 60;

    [Theory]
    [InlineData("a = [ }\n", ":1:", "does not match the '['")]
    [InlineData("trainer.epochs = ${trainer.epochs}\n", ":1:", "refers to itself")]
    [InlineData("trainer { epochs = ${trainer} }\n", ":1:", "refers to itself")]
    [InlineData("x = ${y}\ny = ${x}\n", "", "cycle")]
    [InlineData("trainer {\n  epochs = 2\n", ":1:", "never closed")]
    [InlineData("trainer { epochs = 2 }\n}\n", ":2:", "without a matching")]
    [InlineData("include \"x.conf\"\n", ":1:", "include")]
    [InlineData("model.name = \"abc\n", ":1:", "unterminated string")]
    [InlineData("trainer.epochs = 1\ntrainer.epochs = ${?EPOCHS}\n", ":2:", "optional substitutions ('${?…}') are not supported")]
    [InlineData("trainer.epochs = ${HOME}\n", "", "environment variables are not read")]
    [InlineData("trainer {\n  epochs = = 3\n}\n", ":2:", "'=' right after '='")]
    [InlineData("trainer.epochs : = 3\n", ":1:", "'=' right after ':'")]
    public void Malformed_config_file_exits_2_naming_file_and_line(string text, string line, string detail)
    {
        using var t = new TempDir();
        var conf = t["bad.conf"];
        File.WriteAllText(conf, text);
        var r = Cli.Run(["train", "--config", conf, "--run-dir", t["run"]], Watchdog);
        var err = Cli.AssertBadInput(r, conf + line, detail);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(Directory.Exists(t["run"]), "a config error must not create the run directory");
    }

    [Theory]
    [InlineData("trainer={ epochs = [1, 2 }", "does not match")]
    [InlineData("trainer={ epochs = ${trainer.epochs} }", "refers to itself")]
    [InlineData("model.layers=[[[[", "never closed")]
    public void Malformed_set_value_exits_2_naming_the_set(string set, string detail)
    {
        using var t = new TempDir();
        var r = Cli.Run(["train", "--set", set, "--run-dir", t["run"]], Watchdog);
        Cli.AssertBadInput(r, "--set", detail);
    }

    [Fact]
    public void Deep_nesting_is_refused_before_the_parser_sees_it()
    {
        var text = "a = " + new string('[', 100_000) + new string(']', 100_000);
        var e = Assert.Throws<ConfigException>(() => GuardedHoconParser.Parse(text, "deep.conf"));
        Assert.Contains("deep.conf:1:", e.Message);
        Assert.Contains("nested deeper than", e.Message);
    }

    [Fact]
    public void Legitimate_substitutions_and_comments_still_parse()
    {
        var c = GuardedHoconParser.Parse("base = 3 # a comment with { and [\nx = ${base}\n// another }\ns = \"a } b\"\n", "ok.conf");
        Assert.Equal(3, c.GetInt("x"));
        Assert.Equal("a } b", c.GetString("s"));
    }

    [Fact]
    public void ConfigException_and_UsageException_are_input_errors()
    {
        Assert.IsAssignableFrom<InputException>(new ConfigException("x"));
        Assert.IsAssignableFrom<InputException>(new ActorTrainer.Daemon.Cli.UsageException("x"));
    }
}
