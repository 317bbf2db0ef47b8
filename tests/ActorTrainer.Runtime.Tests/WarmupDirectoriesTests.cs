using System.Diagnostics;

namespace ActorTrainer.Runtime.Tests;

/// <summary>The warm-ups' temporary directories: named with the process id; a new one removes those of processes that
/// are gone (and hour-old ones of the older form without an id), never a running process's or anything else.</summary>
public class WarmupDirectoriesTests
{
    private static int ExitedPid()
    {
        using var p = Process.Start(new ProcessStartInfo("dotnet", "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return p.Id;
    }

    [Fact]
    public void A_sweep_removes_dead_processes_directories_and_keeps_live_ones()
    {
        var root = Fixtures.TempDir();
        string Make(string name)
        {
            var d = Directory.CreateDirectory(Path.Combine(root, name)).FullName;
            File.WriteAllText(Path.Combine(d, "checkpoint.bin"), "x");
            return d;
        }
        using var sleeper = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;
        try
        {
            var dead = Make($"actortrainer-warmup-{ExitedPid()}-0123456789abcdef0123456789abcdef");
            var own = Make($"actortrainer-warmup-{Environment.ProcessId}-0123456789abcdef0123456789abcdef");
            var live = Make($"actortrainer-warmup-{sleeper.Id}-0123456789abcdef0123456789abcdef");
            var oldForm = Make("actortrainer-warmup-fedcba9876543210fedcba9876543210");
            Directory.SetLastWriteTimeUtc(oldForm, DateTime.UtcNow.AddHours(-2));
            var recentOldForm = Make("actortrainer-warmup-00000000000000000000000000000000");
            var other = Make("actortrainer-runs-1234-x");

            Assert.Equal(2, WarmupDirectories.SweepStale(root));
            Assert.False(Directory.Exists(dead));
            Assert.False(Directory.Exists(oldForm));
            Assert.True(Directory.Exists(own));
            Assert.True(Directory.Exists(live));
            Assert.True(Directory.Exists(recentOldForm));
            Assert.True(Directory.Exists(other));
        }
        finally
        {
            sleeper.Kill();
            sleeper.WaitForExit();
        }
    }

    [Fact]
    public void New_names_a_directory_of_this_process_under_the_temporary_path()
    {
        var path = WarmupDirectories.New();
        Assert.Equal(Path.GetFullPath(Path.GetTempPath()).TrimEnd('/'), Path.GetDirectoryName(path));
        Assert.StartsWith($"actortrainer-warmup-{Environment.ProcessId}-", Path.GetFileName(path));
        Assert.False(Directory.Exists(path));
        Assert.NotEqual(path, WarmupDirectories.New());
    }
}
