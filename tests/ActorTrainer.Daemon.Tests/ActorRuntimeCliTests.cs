using System.Globalization;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>`train` on the actor runtime: bit-identical weights for any number of workers and equal to the in-process
/// run; on both runtimes SIGTERM checkpoints and exits 0 and `train --resume` ends with the weights of an
/// uninterrupted run; a corrupt newest checkpoint falls back to the previous one.</summary>
public class ActorRuntimeCliTests
{
    private static readonly string[] Small =
    [
        "--set", "data.train-limit=3000", "--set", "data.test-limit=300", "--set", "trainer.epochs=2",
        "--set", "output.plots=false", "--set", "output.tensorboard=false", "--set", "trainer.runtime=actors",
    ];

    private static string Sha(string runDir) => RunDir.Summary(runDir).GetProperty("weights_sha256").GetString()!;

    [Fact]
    public void Sync_weights_are_identical_for_1_2_and_4_workers_and_equal_the_in_process_run()
    {
        using var t = new TempDir();
        var shas = new List<string>();
        foreach (var w in new[] { "1", "2", "4" })
        {
            Cli.Train(t["w" + w], [.. Small, "--set", "trainer.workers=" + w]);
            var s = RunDir.Summary(t["w" + w]);
            Assert.Equal("actors", s.GetProperty("runtime").GetString());
            Assert.Equal(int.Parse(w, CultureInfo.InvariantCulture), s.GetProperty("workers").GetInt32());
            shas.Add(Sha(t["w" + w]));
        }
        Cli.Train(t["inproc"], [.. Small, "--set", "trainer.runtime=in-process"]);
        Assert.All(shas, sha => Assert.Equal(Sha(t["inproc"]), sha));
        // the layout keys change who computes what, never the result
        Cli.Train(t["auto"], [.. Small, "--set", "trainer.workers=auto", "--set", "trainer.ps-slices=3", "--set", "trainer.threads-per-worker=1"]);
        Assert.Equal(Sha(t["inproc"]), Sha(t["auto"]));
    }

    [Fact]
    public void Async_mode_trains_and_reports_its_mode()
    {
        using var t = new TempDir();
        Cli.Train(t["a"], [.. Small, "--set", "trainer.mode=async", "--set", "trainer.workers=2"]);
        var s = RunDir.Summary(t["a"]);
        Assert.Equal("async", s.GetProperty("mode").GetString());
        Assert.InRange(s.GetProperty("test_accuracy").GetDouble(), 0.7, 1.0);
        Assert.True(s.GetProperty("steps_per_second").GetDouble() > 0);
    }

    private static readonly string[] Long =
    [
        "--set", "data.test-limit=300", "--set", "trainer.epochs=2", "--set", "output.plots=false",
        "--set", "output.tensorboard=false", "--set", "trainer.runtime=actors", "--set", "trainer.checkpoint.every-steps=25",
    ];

    [Theory]
    [InlineData("actors")]
    [InlineData("in-process")]
    public void Sigterm_then_resume_ends_with_the_weights_of_an_uninterrupted_run(string runtime)
    {
        using var t = new TempDir();
        string[] args = [.. Long, "--set", "trainer.runtime=" + runtime];
        var full = Cli.Run(["train", "--run-dir", t["full"], .. args], 300);
        Assert.True(full.ExitCode == 0, full.Describe());

        using var p = Cli.Start(["train", "--run-dir", t["cut"], .. args]);
        var started = new ManualResetEventSlim();
        var output = new System.Text.StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is null) return; lock (output) output.AppendLine(e.Data); if (e.Data.StartsWith("Epoch 1/", StringComparison.Ordinal)) started.Set(); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        try
        {
            Assert.True(started.Wait(TimeSpan.FromSeconds(120)), "training did not start");
            // SIGTERM once the first periodic checkpoint (step 25 of 938) is on disk: mid-run on any machine, where a
            // fixed sleep left a fast one only a few hundred ms before the run's end.
            var checkpoints = Path.Combine(t["cut"], "checkpoints");
            var until = DateTime.UtcNow.AddSeconds(120);
            while (!(Directory.Exists(checkpoints) && Directory.GetFiles(checkpoints, "ckpt-*.bin").Length > 0) && DateTime.UtcNow < until)
                Thread.Sleep(5);
            using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", p.Id.ToString(CultureInfo.InvariantCulture)])) kill.WaitForExit();
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(120)), "train did not exit after SIGTERM");
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        p.WaitForExit();
        string text;
        lock (output) text = output.ToString();
        Assert.True(p.ExitCode == 0, $"exit {p.ExitCode}\n{text}");
        Assert.Contains("continue with: train --resume", text);
        var cut = RunDir.Summary(t["cut"]);
        Assert.True(cut.GetProperty("interrupted").GetBoolean(), text);
        Assert.InRange(cut.GetProperty("steps").GetInt64(), 1, 2 * 469 - 1);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(t["cut"], "checkpoints"), "ckpt-*.bin"));

        var resumed = Cli.Run(["train", "--resume", t["cut"]], 300);
        Assert.True(resumed.ExitCode == 0, resumed.Describe());
        var r = RunDir.Summary(t["cut"]);
        Assert.True(r.GetProperty("resumed").GetBoolean());
        Assert.False(r.GetProperty("interrupted").GetBoolean());
        Assert.Equal(Sha(t["full"]), r.GetProperty("weights_sha256").GetString());
        Assert.Equal(2 * 469, r.GetProperty("steps").GetInt64());
        var (_, rows) = RunDir.History(t["cut"]);
        Assert.Equal(2, rows.Length);
    }

    [Fact]
    public void Resume_skips_a_corrupt_newest_checkpoint_with_a_warning()
    {
        using var t = new TempDir();
        Cli.Train(t["run"], [.. Small, "--set", "trainer.checkpoint.every-steps=10"]);
        var expected = Sha(t["run"]);
        var ckpts = Directory.GetFiles(Path.Combine(t["run"], "checkpoints"), "ckpt-*.bin")
                             .OrderByDescending(f => long.Parse(Path.GetFileNameWithoutExtension(f)[5..], CultureInfo.InvariantCulture)).ToArray();
        Assert.True(ckpts.Length >= 2, "expected at least two checkpoints");
        var bytes = File.ReadAllBytes(ckpts[0]);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(ckpts[0], bytes);
        var r = Cli.Run(["train", "--resume", t["run"]], 300);
        Assert.True(r.ExitCode == 0, r.Describe());
        var warning = Assert.Single(r.Stderr.Split('\n'), l => l.Contains(Path.GetFileName(ckpts[0]), StringComparison.Ordinal));
        Assert.Contains($"skipping checkpoint '{ckpts[0]}': SHA-256 checksum mismatch", warning);        // the path once
        Assert.Equal(expected, Sha(t["run"]));
    }

    [Fact]
    public void Resume_of_a_directory_without_checkpoints_is_rejected()
    {
        using var t = new TempDir();
        Cli.Train(t["run"], [.. Small, "--set", "trainer.runtime=in-process"]);
        Directory.Delete(Path.Combine(t["run"], "checkpoints"), recursive: true);
        var r = Cli.Run(["train", "--resume", t["run"]]);
        Cli.AssertBadInput(r, "--resume");
    }
}
