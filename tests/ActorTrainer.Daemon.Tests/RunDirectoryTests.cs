using ActorTrainer.Daemon.Runs;
using System.Globalization;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Run directories: one process at a time (an advisory lock), a fresh run never mixes with an old one
/// (refused unless --resume or --overwrite), pruning never deletes another run's checkpoints, history.csv is cut back
/// to the resumed position, and paths of the wrong kind are refused with exit 2.</summary>
public sealed class RunDirectoryTests
{
    private static readonly string[] Quick = ["--set", "output.plots=false", "--set", "output.tensorboard=false"];

    [Fact]
    public void Fresh_train_refuses_a_directory_holding_a_run_unless_overwrite()
    {
        using var t = new TempDir();
        Cli.Train(t["run"], Quick);
        var first = RunDir.Summary(t["run"]).GetProperty("weights_sha256").GetString();
        var again = Cli.Run(["train", "--run-dir", t["run"], .. Cli.Tiny, .. Quick, "--set", "trainer.seed=2"]);
        Cli.AssertBadInput(again, t["run"], "already holds a run", "--resume", "--overwrite");
        Assert.Equal(first, RunDir.Summary(t["run"]).GetProperty("weights_sha256").GetString());

        File.WriteAllText(Path.Combine(t["run"], "notes.txt"), "mine");
        Cli.Train(t["run"], [.. Quick, "--set", "trainer.seed=2", "--overwrite"]);
        var s = RunDir.Summary(t["run"]);
        Assert.Equal(2, s.GetProperty("seed").GetInt32());
        Assert.NotEqual(first, s.GetProperty("weights_sha256").GetString());
        Assert.Single(RunDir.History(t["run"]).Rows);
        Assert.Equal("mine", File.ReadAllText(Path.Combine(t["run"], "notes.txt")));   // only run files are removed
    }

    [Fact]
    public void Same_sees_one_directory_through_symbolic_links_and_survives_link_loops()
    {
        using var t = new TempDir();
        Directory.CreateDirectory(Path.Combine(t["real"], "run"));
        Directory.CreateDirectory(Path.Combine(t["real"], "other"));
        Directory.CreateSymbolicLink(t["link"], t["real"]);
        Directory.CreateSymbolicLink(t["runlink"], Path.Combine("real", "run"));        // relative target
        Assert.True(RunDirectory.Same(Path.Combine(t["link"], "run"), Path.Combine(t["real"], "run") + "/"));
        Assert.True(RunDirectory.Same(t["runlink"], Path.Combine(t["link"], "run")));
        Assert.False(RunDirectory.Same(Path.Combine(t["link"], "run"), Path.Combine(t["real"], "other")));
        Directory.CreateSymbolicLink(t["a"], Path.Combine(t["b"], "x"));
        Directory.CreateSymbolicLink(t["b"], Path.Combine(t["a"], "y"));
        Assert.False(RunDirectory.Same(t["a"], t["real"]));                              // a loop: no hang, no crash
    }

    [Fact]
    public void A_locked_run_directory_is_refused()
    {
        using var t = new TempDir();
        Directory.CreateDirectory(t["run"]);
        using (new FileStream(Path.Combine(t["run"], ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var r = Cli.Run(["train", "--run-dir", t["run"], .. Cli.Tiny, .. Quick]);
            Cli.AssertBadInput(r, t["run"], "in use by another train process");
        }
        Assert.False(File.Exists(Path.Combine(t["run"], "summary.json")));
        Cli.Train(t["run"], Quick);                                    // free again once the holder is gone
    }

    [Fact]
    public void Run_dir_that_is_a_file_exits_2()
    {
        using var t = new TempDir();
        File.WriteAllText(t["file"], "x");
        Cli.AssertBadInput(Cli.Run(["train", "--run-dir", t["file"], .. Cli.Tiny]), t["file"], "is a file");
        Assert.Equal("x", File.ReadAllText(t["file"]));
    }

    [Fact]
    public void Resume_and_overwrite_together_are_refused()
    {
        using var t = new TempDir();
        Cli.AssertBadInput(Cli.Run(["train", "--resume", t["run"], "--overwrite"]), "--resume", "--overwrite");
    }

    [Fact]
    public void Resume_from_an_older_checkpoint_truncates_history_and_matches_the_full_run()
    {
        using var t = new TempDir();
        string[] args = ["--set", "data.train-limit=3000", "--set", "data.test-limit=300", "--set", "trainer.epochs=2",
                         "--set", "trainer.runtime=actors", "--set", "trainer.checkpoint.every-steps=10", .. Quick];
        var full = Cli.Run(["train", "--run-dir", t["run"], .. args], 300);
        Assert.True(full.ExitCode == 0, full.Describe());
        var expected = RunDir.Summary(t["run"]).GetProperty("weights_sha256").GetString();
        Assert.Equal(2, RunDir.History(t["run"]).Rows.Length);
        // keep only the checkpoint of step 30 (epoch 2, step 6): its history holds one finished epoch
        foreach (var f in Directory.GetFiles(Path.Combine(t["run"], "checkpoints"), "ckpt-*.bin"))
            if (long.Parse(Path.GetFileNameWithoutExtension(f)[5..], CultureInfo.InvariantCulture) != 30) File.Delete(f);
        string[] stale = [Path.Combine(t["run"], "checkpoints", "ckpt-40.bin.0123abcd.tmp"), Path.Combine(t["run"], ".summary.json.0123abcd.tmp")];
        foreach (var f in stale) File.WriteAllText(f, "");        // what a process killed while writing leaves
        var resumed = Cli.Run(["train", "--resume", t["run"]], 300);
        Assert.True(resumed.ExitCode == 0, resumed.Describe());
        Assert.All(stale, f => Assert.False(File.Exists(f), f));
        var (_, rows) = RunDir.History(t["run"]);
        Assert.Equal([0.0, 1.0], rows.Select(r => r[0]).ToArray());
        Assert.Equal(expected, RunDir.Summary(t["run"]).GetProperty("weights_sha256").GetString());
    }

    [Fact]
    public void Resume_into_another_directory_continues_the_run_there_and_leaves_the_original_alone()
    {
        using var t = new TempDir();
        string[] args = ["--set", "data.train-limit=3000", "--set", "data.test-limit=300", "--set", "trainer.epochs=2",
                         "--set", "trainer.checkpoint.every-steps=10", "--set", "trainer.checkpoint.keep=10", .. Quick];
        var full = Cli.Run(["train", "--run-dir", t["run"], .. args, "--set", "trainer.runtime=in-process"], 300);
        Assert.True(full.ExitCode == 0, full.Describe());
        var expected = RunDir.Summary(t["run"]).GetProperty("weights_sha256").GetString();
        foreach (var f in Directory.GetFiles(Path.Combine(t["run"], "checkpoints"), "ckpt-*.bin"))
            if (long.Parse(Path.GetFileNameWithoutExtension(f)[5..], CultureInfo.InvariantCulture) != 30) File.Delete(f);
        var before = Directory.GetFiles(t["run"], "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);

        var fork = Cli.Run(["train", "--resume", t["run"], "--run-dir", t["fork"]], 300);
        Assert.True(fork.ExitCode == 0, fork.Describe());
        Assert.Equal(expected, RunDir.Summary(t["fork"]).GetProperty("weights_sha256").GetString());
        Assert.Equal([0.0, 1.0], RunDir.History(t["fork"]).Rows.Select(r => r[0]).ToArray());   // epoch 1 from the run, 2 here
        Assert.Equal(RunDir.History(t["run"]).Rows[0], RunDir.History(t["fork"]).Rows[0]);
        Assert.True(File.Exists(Path.Combine(t["fork"], "config.conf")));                        // so the fork resumes itself
        var after = Directory.GetFiles(t["run"], "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal));
        Assert.All(after, f => Assert.Equal(before[f], File.ReadAllBytes(f)));                   // read only

        var onto = Cli.Run(["train", "--resume", t["run"], "--run-dir", t["fork"]], 300);      // a directory holding a run
        Cli.AssertBadInput(onto, t["fork"], "already holds a run");
        var refused = Cli.Run(["train", "--resume", t["run"], "--run-dir", t["other"], "--set", "trainer.seed=5"], 300);
        Cli.AssertBadInput(refused, "trainer.seed");
        Assert.False(Directory.Exists(t["other"]), "a refused run leaves no directory it created");
    }

    [Fact]
    public void A_run_that_stopped_before_its_first_checkpoint_is_not_offered_for_resume()
    {
        using var t = new TempDir();
        Directory.CreateDirectory(t["run"]);
        File.WriteAllText(Path.Combine(t["run"], "config.conf"), "# Effective configuration of this run (from x.conf).\ntrainer.epochs = 1\n");
        var r = Cli.Run(["train", "--run-dir", t["run"], .. Cli.Tiny, .. Quick]);
        var stderr = Cli.AssertBadInput(r, t["run"], "stopped before its first checkpoint", "--overwrite");
        Assert.DoesNotContain("--resume", stderr);
    }

    [Fact]
    public void Export_output_that_is_a_directory_exits_2()
    {
        using var t = new TempDir();
        Cli.Train(t["run"], Quick);
        Directory.CreateDirectory(t["out"]);
        var r = Cli.Run(["export", "--model", Path.Combine(t["run"], "model"), "--format", "onnx", "--output", t["out"]]);
        Cli.AssertBadInput(r, t["out"], "is a directory");
    }
}
