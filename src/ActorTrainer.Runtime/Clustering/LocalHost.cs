using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>Whether a host name or address names this machine: a loopback address, "localhost", or an address of one
/// of this machine's network interfaces. A name that does not resolve counts as another host.</summary>
internal static class LocalHost
{
    /// <summary>True when `host` is this machine.</summary>
    public static bool Is(string host)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)) return true;
        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out var ip)) addresses = [ip];
        else
        {
            try { addresses = Dns.GetHostAddresses(host); }
            catch (SocketException) { return false; }
        }
        if (addresses.Length == 0) return false;
        var own = OwnAddresses();
        return addresses.All(a => IPAddress.IsLoopback(a) || own.Contains(a));
    }

    private static HashSet<IPAddress> OwnAddresses()
    {
        var set = new HashSet<IPAddress>();
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
                foreach (var a in nic.GetIPProperties().UnicastAddresses) set.Add(a.Address);
        }
        catch (NetworkInformationException) { /* no interface list: only loopback addresses count as this host */ }
        return set;
    }
}
