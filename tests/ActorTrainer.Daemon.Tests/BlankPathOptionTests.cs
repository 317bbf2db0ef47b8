using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Every command's path option given an empty or blank value (an unset shell variable: <c>--run-dir "$DIR"</c>)
/// is refused naming the option (exit 2): never an internal error, a folder literally named " ", nor the option's default.</summary>
public sealed class BlankPathOptionTests
{
    [Theory]
    [InlineData("train", "run-dir", "")]
    [InlineData("train", "run-dir", " ")]
    [InlineData("train", "config", "")]
    [InlineData("train", "config", "  ")]
    [InlineData("train", "resume", "")]
    [InlineData("train", "resume", " ")]
    [InlineData("worker", "config", "")]
    [InlineData("ps", "config", " ")]
    [InlineData("serve", "config", "")]
    [InlineData("predict", "input", "")]
    [InlineData("export", "output", " ")]
    [InlineData("submit", "config", "")]
    [InlineData("fetch", "output", " ")]
    public void A_blank_path_option_exits_2_naming_it(string command, string option, string value)
    {
        using var t = new TempDir();
        string[] rest = command switch
        {
            "train" => [.. Cli.Tiny, .. option == "run-dir" ? Array.Empty<string>() : ["--run-dir", t["run"]]],
            "predict" => ["--model", t["model"]],
            "export" => ["--model", t["model"], "--format", "onnx"],
            "fetch" => ["j20261129-120000-a1b2c3", "--server", "http://127.0.0.1:9"],
            _ => [],
        };
        var r = Cli.Run([command, .. rest, $"--{option}", value], timeoutSeconds: 60);
        var stderr = Cli.AssertBadInput(r, value.Length == 0 ? $"{command}: --{option} is empty" : $"{command}: --{option} '{value}' is blank");
        Assert.DoesNotContain("internal error", stderr);
        Assert.DoesNotContain("does not exist", stderr);
        AssertNoBlankFolder(value);
        Assert.False(Directory.Exists(t["run"]), "train wrote a run directory for a blank option");
    }

    [Fact]
    public void The_inline_form_of_a_blank_run_dir_is_refused_too()
    {
        var r = Cli.Run(["train", .. Cli.Tiny, "--run-dir= "], timeoutSeconds: 60);
        Cli.AssertBadInput(r, "train: --run-dir ' ' is blank", "leave --run-dir out");
        AssertNoBlankFolder(" ");
    }

    /// <summary>Fails when a folder named <paramref name="value"/> (blanks) was created in the repository root, which
    /// it removes first so that a failure leaves nothing behind.</summary>
    private static void AssertNoBlankFolder(string value)
    {
        var folder = Path.Combine(Cli.RepoRoot, value);
        if (value.Length == 0 || !Directory.Exists(folder)) return;
        Directory.Delete(folder, recursive: true);
        Assert.Fail($"a folder named '{value}' was created in {Cli.RepoRoot}");
    }
}
