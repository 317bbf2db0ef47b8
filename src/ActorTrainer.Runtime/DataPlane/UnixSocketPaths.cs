using System.Net.Sockets;

namespace ActorTrainer.Runtime.DataPlane;

/// <summary>Where a data-plane listener on this host also listens through a Unix domain socket, so that peers on the
/// same host skip the TCP stack (<see cref="DataPlaneOptions.UnixSockets"/>): `{temp}/actortrainer-dp-{user}/{port}.sock`,
/// in a directory only this user may enter (mode 0700, not a link; where that cannot be ensured, no Unix socket is
/// used and connections go over TCP). One data-plane listener per TCP port on a host, as TCP itself requires on one
/// address.</summary>
public static class UnixSocketPaths
{
    /// <summary>True where Unix domain sockets and Unix file modes are available (Linux, macOS).</summary>
    public static bool Supported => Socket.OSSupportsUnixDomainSockets && (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS());

    /// <summary>The socket path of the listener on TCP `port`, or null where the private directory is not usable.
    /// `create`: make the directory when it is missing.</summary>
    public static string? For(int port, bool create)
    {
        if (!Supported || OperatingSystem.IsWindows()) return null;
        var dir = Path.Combine(Path.GetTempPath(), "actortrainer-dp-" + Environment.UserName);
        const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        try
        {
            var info = new DirectoryInfo(dir);
            if (!info.Exists)
            {
                if (!create) return null;
                Directory.CreateDirectory(dir, Private);
                info.Refresh();
            }
            // another user's directory (or a link to one) could hand our peers to a stranger's socket
            if (info.LinkTarget is not null || info.UnixFileMode != Private) return null;
            return Path.Combine(dir, port.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".sock");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
