using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A fact that uses Unix-only APIs (file modes, signals): skipped, with the reason, on Windows. The test
/// method also carries <c>[UnsupportedOSPlatform("windows")]</c>, which tells the platform analyzer (CA1416) so.</summary>
public sealed class UnixFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> on Windows.</summary>
    public UnixFactAttribute()
    {
        if (OperatingSystem.IsWindows()) Skip = UnixOnly.Reason;
    }
}

/// <summary>A theory that uses Unix-only APIs: skipped, with the reason, on Windows (see <see cref="UnixFactAttribute"/>).</summary>
public sealed class UnixTheoryAttribute : TheoryAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> on Windows.</summary>
    public UnixTheoryAttribute()
    {
        if (OperatingSystem.IsWindows()) Skip = UnixOnly.Reason;
    }
}

internal static class UnixOnly
{
    public const string Reason = "uses Unix file modes, which Windows does not have";
}
