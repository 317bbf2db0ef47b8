using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Ports for processes a test starts and then names to others (a coordinator's cluster.port, a service's
/// --port). A port the kernel hands out for port 0 and the test releases again can be handed out once more, to the
/// next process binding port 0 (a worker node started first, its data plane), before the process meant for it binds
/// it: "Address already in use". So these come from below the kernel's ephemeral range
/// (/proc/sys/net/ipv4/ip_local_port_range), which port-0 binds never use, starting at a random offset per test
/// process (several test assemblies run at once) and checked free on 127.0.0.1.</summary>
internal static class FreePorts
{
    private static readonly (int Low, int High) Range = Outside();
    private static int _next = Random.Shared.Next(Range.High - Range.Low);

    /// <summary>A TCP port on 127.0.0.1 that no listener holds now and that no port-0 bind can be given.</summary>
    public static int Next()
    {
        for (int tries = 0; tries < 1000; tries++)
        {
            int port = Range.Low + (int)((uint)Interlocked.Increment(ref _next) % (uint)(Range.High - Range.Low));
            try
            {
                var l = new TcpListener(IPAddress.Loopback, port);
                l.Start();
                l.Stop();
                return port;
            }
            catch (SocketException) { }   // held by another test's process: the next one
        }
        throw new InvalidOperationException($"no free TCP port in {Range.Low}-{Range.High} on 127.0.0.1 after 1000 tries");
    }

    /// <summary>The ports below the ephemeral range (from 10000), else those above it.</summary>
    private static (int, int) Outside()
    {
        int low = 32768, high = 60999;
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range")
                .Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            (low, high) = (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException) { }
        return low - 10000 >= 2000 ? (10000, low) : (high + 1, 65535);
    }
}
