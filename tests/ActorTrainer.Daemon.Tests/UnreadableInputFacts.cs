using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Input files that exist but cannot be read. The tests run as root in CI, where a mode-000 file is still
/// readable, so the main way is a symbolic link to /proc/self/mem: it exists for everyone, and reading its first bytes
/// fails with EIO (an IOException) for root too. Mode-000 files (UnauthorizedAccessException) are tested only when
/// not root (<see cref="NonRootUnixFactAttribute"/>).</summary>
public static class Unreadable
{
    /// <summary>Replaces <paramref name="path"/> with a link to /proc/self/mem (whose read fails with EIO).</summary>
    public static void Link(string path)
    {
        if (File.Exists(path)) File.Delete(path);
        File.CreateSymbolicLink(path, "/proc/self/mem");
    }
}

/// <summary>A fact that needs /proc/self/mem (Linux): skipped elsewhere.</summary>
public sealed class ProcMemFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> where /proc/self/mem does not exist.</summary>
    public ProcMemFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/self/mem")) Skip = "needs /proc/self/mem (Linux) for a file whose read fails";
    }
}

/// <summary>A fact that relies on file modes refusing a read: skipped on Windows and when running as root (root reads
/// a mode-000 file).</summary>
public sealed class NonRootUnixFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> on Windows and for root.</summary>
    public NonRootUnixFactAttribute()
    {
        if (OperatingSystem.IsWindows()) Skip = UnixOnly.Reason;
        else if (Environment.UserName == "root") Skip = "running as root, which reads a mode-000 file (the /proc/self/mem tests cover this)";
    }
}
