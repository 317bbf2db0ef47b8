using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Only a directory that train wrote (its config.conf, the first file a run writes) counts as a run: a folder
/// that merely holds a model/ or checkpoints/ of the user's is refused, even with --overwrite, which never deletes it,
/// and the refusal does not suggest a --resume that would fail.</summary>
public sealed class RunDirectoryForeignTests
{
    private static readonly string[] Quick = ["--set", "output.plots=false", "--set", "output.tensorboard=false"];

    [Fact]
    public void A_folder_with_a_users_model_and_checkpoints_is_refused_even_with_overwrite_and_kept()
    {
        using var t = new TempDir();
        var weights = Path.Combine(t["run"], "model", "my_weights.h5");
        var readme = Path.Combine(t["run"], "checkpoints", "README");
        var ckpt = Path.Combine(t["run"], "checkpoints", "ckpt-100.bin");
        Directory.CreateDirectory(Path.GetDirectoryName(weights)!);
        Directory.CreateDirectory(Path.GetDirectoryName(readme)!);
        File.WriteAllText(weights, "mine");
        File.WriteAllText(readme, "mine too");
        File.WriteAllText(ckpt, "not train's");
        foreach (var overwrite in new[] { false, true })
        {
            var r = Cli.Run(["train", "--run-dir", t["run"], .. Cli.Tiny, .. Quick, .. overwrite ? new[] { "--overwrite" } : []]);
            var stderr = Cli.AssertBadInput(r, t["run"], "model/", "checkpoints/", "no run that train wrote", "choose another --run-dir");
            Assert.DoesNotContain("--resume", stderr);
            Assert.Equal("mine", File.ReadAllText(weights));
            Assert.Equal("mine too", File.ReadAllText(readme));
            Assert.True(File.Exists(ckpt));
        }
    }

    [Fact]
    public void A_finished_run_without_checkpoints_is_not_offered_for_resume_and_overwrite_replaces_it()
    {
        using var t = new TempDir();
        Cli.Train(t["run"], Quick);
        Directory.Delete(Path.Combine(t["run"], "checkpoints"), recursive: true);
        var r = Cli.Run(["train", "--run-dir", t["run"], .. Cli.Tiny, .. Quick]);
        var stderr = Cli.AssertBadInput(r, t["run"], "already holds a run", "no checkpoint to resume", "--overwrite");
        Assert.DoesNotContain("--resume", stderr);
        Cli.Train(t["run"], [.. Quick, "--overwrite"]);
        Assert.True(File.Exists(Path.Combine(t["run"], "summary.json")));
    }

    [Fact]
    public void Overwrite_of_a_run_whose_model_folder_holds_a_users_file_is_refused_naming_it_and_deletes_nothing()
    {
        using var t = new TempDir();
        Cli.Train(t["run"], Quick);
        var mine = Path.Combine(t["run"], "model", "notes.txt");
        File.WriteAllText(mine, "mine");
        File.WriteAllText(Path.Combine(t["run"], "model", "evaluation.json"), "{}");     // evaluate's: a run's file
        var summary = File.ReadAllText(Path.Combine(t["run"], "summary.json"));
        var r = Cli.Run(["train", "--run-dir", t["run"], .. Cli.Tiny, .. Quick, "--overwrite"]);
        Cli.AssertBadInput(r, t["run"], Path.Combine("model", "notes.txt"), "move them out first");
        Assert.DoesNotContain("evaluation.json", r.Stderr);
        Assert.Equal("mine", File.ReadAllText(mine));
        Assert.Equal(summary, File.ReadAllText(Path.Combine(t["run"], "summary.json")));
        File.Delete(mine);
        Cli.Train(t["run"], [.. Quick, "--overwrite"]);                      // the run's own files alone: replaced
        Assert.False(File.Exists(Path.Combine(t["run"], "model", "evaluation.json")));
    }
}
