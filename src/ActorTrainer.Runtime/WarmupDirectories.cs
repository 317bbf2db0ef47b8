using System.Globalization;

namespace ActorTrainer.Runtime;

/// <summary>Temporary directories of the warm-ups (<see cref="RuntimeWarmup.Checkpoints"/>, TensorBoard's epoch end):
/// `{temp}/actortrainer-warmup-{pid}-{guid}`. A warm-up deletes its own directory when it ends; one cut short by a kill
/// leaves it behind, so each new one first removes the directories of processes that are no longer running (and those
/// of the older `actortrainer-warmup-{guid}` form more than an hour old).</summary>
public static class WarmupDirectories
{
    private const string Prefix = "actortrainer-warmup-";

    /// <summary>A new directory path for this process's warm-up (not created), after removing dead processes' ones.</summary>
    public static string New()
    {
        SweepStale(Path.GetTempPath());
        return Path.Combine(Path.GetTempPath(), $"{Prefix}{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}");
    }

    /// <summary>Deletes `actortrainer-warmup-*` directories under `root` whose process is gone (best effort: one that
    /// cannot be deleted or read is left alone); returns how many were deleted.</summary>
    public static int SweepStale(string root)
    {
        int deleted = 0;
        IEnumerable<string> dirs;
        try { dirs = Directory.EnumerateDirectories(root, Prefix + "*").ToArray(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return 0; }
        foreach (var dir in dirs)
            try
            {
                if (!IsStale(dir)) continue;
                Directory.Delete(dir, recursive: true);
                deleted++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* another sweep, or not ours */ }
        return deleted;
    }

    private static bool IsStale(string dir)
    {
        var rest = Path.GetFileName(dir)[Prefix.Length..];
        int dash = rest.IndexOf('-');
        if (dash > 0 && int.TryParse(rest.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            return pid != Environment.ProcessId && !Alive(pid);
        // the older form carries no process id: a warm-up takes seconds, so an hour-old one was cut short
        return DateTime.UtcNow - Directory.GetLastWriteTimeUtc(dir) > TimeSpan.FromHours(1);
    }

    private static bool Alive(int pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }          // no such process
        catch (InvalidOperationException) { return false; }
        catch (UnauthorizedAccessException) { return true; }  // another user's: not ours to judge
    }
}
