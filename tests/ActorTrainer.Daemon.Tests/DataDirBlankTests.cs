using ActorTrainer.Core;
using ActorTrainer.Daemon.Configuration;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>data.dir = "" is the bundled MNIST (reference.conf); blanks only — which Akka's HOCON reads as "" — are
/// refused naming the key, not silently taken for the bundled copy.</summary>
public sealed class DataDirBlankTests
{
    private static TrainSettings Load(string? text, params string[] sets) => TrainSettings.From(ConfigLoader.LoadText(text, "test.conf", sets));

    [Theory]
    [InlineData("data.dir= ")]          // what the shell passes for --set data.dir=" "
    [InlineData("data.dir=  ")]
    [InlineData("data.dir=\" \"")]      // the blanks quoted in HOCON
    public void A_blank_data_dir_set_is_refused_naming_the_key(string set)
    {
        var e = Assert.Throws<ConfigException>(() => Load(null, set));
        Assert.Contains("data.dir is blank", e.Message);
    }

    [Fact]
    public void A_tab_as_data_dir_is_refused_as_a_stray_control_character_naming_the_key()
    {
        var e = Assert.Throws<ConfigException>(() => Load(null, "data.dir=\t "));
        Assert.Contains("data.dir", e.Message);
        Assert.Contains("control character", e.Message);
    }

    [Fact]
    public void A_blank_data_dir_in_a_config_file_is_refused_naming_the_key()
    {
        var e = Assert.Throws<ConfigException>(() => Load("data { dir = \"   \" }\n"));
        Assert.Contains("data.dir is blank", e.Message);
    }

    [Theory]
    [InlineData(null, "data.dir=")]
    [InlineData(null, "data.dir=\"\"")]
    [InlineData("data { dir = \"\"   \n}\n", null)]             // blanks after "" are not part of the value
    [InlineData("data {\n  dir = \"\"   # bundled\n}\n", null)]
    public void An_empty_data_dir_still_means_the_bundled_mnist(string? text, string? set)
    {
        var s = set is null ? Load(text) : Load(text, set);
        Assert.Equal("", s.DataDir);
    }

    [Fact]
    public void A_directory_is_read_as_given()
    {
        Assert.Equal("/data/fashion-mnist", Load(null, "data.dir=/data/fashion-mnist").DataDir);
        Assert.Equal("/data/mnist", Load("data { dir = \"/data/mnist\" }\n").DataDir);
    }
}
