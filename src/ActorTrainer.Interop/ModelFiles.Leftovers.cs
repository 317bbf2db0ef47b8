namespace ActorTrainer.Core;

/// <summary>What a save interrupted by a crash leaves beside a model directory: <see cref="ModelFiles.Write"/> builds
/// the new directory as <c>.NAME.GUID.tmp</c>, moves the old one aside to <c>NAME.old-GUID</c>, moves the new one in
/// and deletes the old. A crash between the two moves leaves no <c>NAME</c> but a whole old model; later ones leave
/// garbage. Load names the old model instead of reporting a missing directory; the next successful save sweeps both.</summary>
public static partial class ModelFiles
{
    /// <summary>The directories an interrupted save of <paramref name="full"/> (an absolute path without a trailing
    /// separator) left: the old models moved aside and the unfinished new ones. Empty when the parent is absent.</summary>
    internal static (string[] Old, string[] Unfinished) Leftovers(string full)
    {
        var parent = Path.GetDirectoryName(full);
        var name = Path.GetFileName(full);
        if (parent is null || !Directory.Exists(parent) || name.Length == 0) return ([], []);
        var old = Directory.GetDirectories(parent, name + ".old-*")
            .Where(d => Path.GetFileName(d) is var f && f.StartsWith(name + ".old-", StringComparison.Ordinal) && IsGuid(f[(name.Length + 5)..]))
            .ToArray();
        var tmp = Directory.GetDirectories(parent, "." + name + ".*.tmp")
            .Where(d => Path.GetFileName(d) is var f && f.StartsWith("." + name + ".", StringComparison.Ordinal) && f.Length == name.Length + 38
                        && IsGuid(f[(name.Length + 2)..^4]))
            .ToArray();
        Array.Sort(old, StringComparer.Ordinal);
        return (old, tmp);
    }

    /// <summary>Deletes what earlier interrupted saves of <paramref name="full"/> left, once a new model is in place
    /// (best effort: a leftover that cannot be deleted stays, the save has succeeded).</summary>
    private static void SweepLeftovers(string full)
    {
        string[] old, tmp;
        try { (old, tmp) = Leftovers(full); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }   // e.g. an unlistable parent
        foreach (var d in old.Concat(tmp))
        {
            try { Directory.Delete(d, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>The error for a model directory that does not exist: it names the old model an interrupted save
    /// moved aside, when there is one, and how to get it back.</summary>
    private static DirectoryNotFoundException Missing(string dir)
    {
        var (old, _) = Leftovers(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)));
        var kept = old.FirstOrDefault(d => File.Exists(Path.Combine(d, ConfigFile)) && File.Exists(Path.Combine(d, WeightsFile)));
        return kept is null
            ? new DirectoryNotFoundException($"model directory '{dir}' does not exist")
            : new DirectoryNotFoundException($"model directory '{dir}' does not exist, but '{kept}' holds the model a save into it " +
                                             $"was replacing when it was interrupted; rename that directory to '{dir}' to use it");
    }

    private static bool IsGuid(string s) => s.Length == 32 && Guid.TryParseExact(s, "N", out _);
}
