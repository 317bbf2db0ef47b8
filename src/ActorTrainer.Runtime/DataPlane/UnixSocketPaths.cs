using System.Net;
using System.Net.Sockets;

namespace ActorTrainer.Runtime.DataPlane;

/// <summary>Where a data-plane listener on this host also listens through a Unix domain socket, so that peers on the
/// same host skip the TCP stack (<see cref="DataPlaneOptions.UnixSockets"/>): `{temp}/actortrainer-dp-{user}/{address}_{port}.sock`
/// for a listener bound to TCP address:port, in a directory only this user may enter (mode 0700, not a link; where that
/// cannot be ensured, or the path is longer than a socket address holds, no Unix socket is used and connections go over
/// TCP). Named by address and port, as TCP names the listener: only the process that holds address:port binds that
/// name, and a peer takes the name of the listener its TCP connection would reach (<see cref="Candidates"/>), so it never
/// meets another process whose listener has the same port on another address.</summary>
public static class UnixSocketPaths
{
    /// <summary>Longest socket path in bytes, with its terminating zero: sun_path holds 104 bytes on macOS, 108 on Linux.</summary>
    private const int MaxPathBytes = 104;

    /// <summary>True where Unix domain sockets and Unix file modes are available (Linux, macOS).</summary>
    public static bool Supported => Socket.OSSupportsUnixDomainSockets && (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS());

    /// <summary>Removes the socket files in `path`'s directory whose TCP port nothing listens on any more and that are
    /// older than 10 s (left by a listener that was killed; Linux only, where /proc/net/tcp and tcp6 list the listening
    /// ports; elsewhere a new listener on the same port replaces such a file). Best effort; returns how many were
    /// removed.</summary>
    public static int SweepStale(string path)
    {
        if (!OperatingSystem.IsLinux() || Path.GetDirectoryName(path) is not { } dir) return 0;
        var listening = new HashSet<int>();
        try
        {
            foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
                if (File.Exists(table))
                    foreach (var line in File.ReadLines(table).Skip(1))
                    {
                        // "  sl  local_address rem_address   st …": local "ADDR:PORT" in hex, state 0A = LISTEN
                        var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                        if (f.Length > 3 && f[3] == "0A" && f[1].LastIndexOf(':') is int c and > 0)
                            listening.Add(int.Parse(f[1].AsSpan(c + 1), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture));
                    }
            int removed = 0;
            foreach (var file in Directory.EnumerateFiles(dir, "*.sock"))
                // a file younger than a few seconds may be a listener's that started listening after the read above
                if (PortOf(file) is int port && !listening.Contains(port) && DateTime.UtcNow - File.GetLastWriteTimeUtc(file) > TimeSpan.FromSeconds(10))
                {
                    File.Delete(file);
                    removed++;
                }
            return removed;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return 0;
        }
    }

    /// <summary>The TCP port a socket file's name ends with (`{address}_{port}.sock`, or `{port}.sock` of older
    /// versions), or null.</summary>
    private static int? PortOf(string file)
    {
        var name = Path.GetFileNameWithoutExtension(file);
        return int.TryParse(name.AsSpan(name.LastIndexOf('_') + 1), System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out int port) ? port : null;
    }

    /// <summary>The socket path of the listener bound to TCP `address`:`port`, or null where the private directory is not
    /// usable. `create`: make the directory when it is missing.</summary>
    public static string? For(IPAddress address, int port, bool create)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!Supported || OperatingSystem.IsWindows()) return null;   // (the analyzer needs the Windows check spelled out)
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
            var path = Path.Combine(dir, $"{address}_{port.ToString(System.Globalization.CultureInfo.InvariantCulture)}.sock");
            return System.Text.Encoding.UTF8.GetByteCount(path) < MaxPathBytes ? path : null;   // sun_path's limit
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The socket files a TCP connection to `addresses` (in order) at `port` would meet the listener of, in
    /// that order: per address the listener bound to it, then one bound to its family's wildcard (0.0.0.0 or ::), as
    /// TCP picks them. Only the files that exist.</summary>
    public static IEnumerable<string> Candidates(IEnumerable<IPAddress> addresses, int port)
    {
        foreach (var address in addresses)
        {
            var any = address.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any;
            foreach (var bound in new[] { address, any })
                if (For(bound, port, create: false) is { } path && File.Exists(path)) yield return path;
        }
    }
}
