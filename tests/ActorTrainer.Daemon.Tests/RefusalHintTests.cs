using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Refusals say what to do, and never suggest what would be refused in turn.</summary>
public sealed class RefusalHintTests
{
    private static readonly string[] Quick = ["--set", "output.plots=false", "--set", "output.tensorboard=false"];

    [Fact]
    public void Resume_of_a_run_without_checkpoints_says_to_train_it_afresh_with_overwrite()
    {
        using var t = new TempDir();
        Directory.CreateDirectory(t["run"]);
        File.WriteAllText(Path.Combine(t["run"], "config.conf"), "# Effective configuration of this run (from x.conf).\ntrainer.epochs = 1\n");
        var r = Cli.Run(["train", "--resume", t["run"], .. Cli.Tiny, .. Quick]);
        Cli.AssertBadInput(r, "no valid checkpoint in", $"train --run-dir {t["run"]} --overwrite");
    }

    [Fact]
    public void Resume_into_a_run_dir_holding_a_run_suggests_another_run_dir_not_overwrite()
    {
        using var t = new TempDir();
        Cli.Train(t["a"], [.. Quick, "--set", "trainer.checkpoint.every-steps=5"]);
        Cli.Train(t["b"], Quick);
        var r = Cli.Run(["train", "--resume", t["a"], "--run-dir", t["b"]], 120);
        var stderr = Cli.AssertBadInput(r, t["b"], "already holds a run", "choose another --run-dir");
        Assert.DoesNotContain("--overwrite", stderr);
    }

    [Fact]
    public void A_flag_given_twice_exits_2_naming_it()
    {
        var r = Cli.Run(["evaluate", "--model", "runs/none/model", "--json", "--json"]);
        Cli.AssertBadInput(r, "evaluate: option '--json' is given 2 times");
    }
}
