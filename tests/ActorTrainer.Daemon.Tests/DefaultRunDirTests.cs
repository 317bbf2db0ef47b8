using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>train without --run-dir writes runs/yyyyMMdd-HHmmss, or with -2, -3, … when that name is taken: a run
/// started in the same second as another (which holds the directory's lock) or right after one (whose files are
/// there) gets a directory of its own instead of "in use" or "already holds a run … pass --overwrite".</summary>
public sealed class DefaultRunDirTests
{
    [Fact]
    public void A_taken_default_name_gets_a_numbered_sibling_and_the_other_run_is_untouched()
    {
        using var t = new TempDir();
        var runs = Directory.CreateDirectory(t["runs"]).FullName;
        var locks = new List<FileStream>();
        try
        {
            // the names of the next 30 seconds: each holds a finished run's files, and a held lock (a run going on)
            var start = DateTime.Now;
            for (var s = 0; s < 30; s++)
            {
                var dir = Directory.CreateDirectory(Path.Combine(runs, start.AddSeconds(s).ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture))).FullName;
                File.WriteAllText(Path.Combine(dir, "config.conf"), "# Effective configuration of this run (from x.conf).\n");
                File.WriteAllText(Path.Combine(dir, "summary.json"), "{\"theirs\": true}");
                locks.Add(new FileStream(Path.Combine(dir, ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            var (code, stdout, stderr) = TrainIn(t.Path);
            Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
            var mine = Directory.GetDirectories(runs).Where(d => File.Exists(Path.Combine(d, "history.csv"))).ToArray();
            Assert.Single(mine);
            Assert.Matches(@"^\d{8}-\d{6}-2$", Path.GetFileName(mine[0]));
            foreach (var d in Directory.GetDirectories(runs).Except(mine))
                Assert.Equal("{\"theirs\": true}", File.ReadAllText(Path.Combine(d, "summary.json")));
        }
        finally
        {
            foreach (var l in locks) l.Dispose();
        }
    }

    /// <summary>Runs a tiny train without --run-dir in <paramref name="cwd"/> (its default runs/ is relative to it).</summary>
    private static (int Code, string Stdout, string Stderr) TrainIn(string cwd)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in new[] { Cli.DaemonDll, "train", "--config", Path.Combine(Cli.RepoRoot, "config", "mnist-mlp.conf") }
                              .Concat(Cli.Tiny).Concat(["--set", "output.plots=false", "--set", "output.tensorboard=false"]))
            psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(120))) { p.Kill(entireProcessTree: true); Assert.Fail("train did not finish in 120 s"); }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
