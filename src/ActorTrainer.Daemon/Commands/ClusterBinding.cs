using System.Net;
using System.Net.Sockets;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Runtime.Remoting;
using Akka.Actor;

namespace ActorTrainer.Daemon.Commands;

/// <summary>A cluster node's listeners, with what goes wrong when they open (a port in use, a host name that does not
/// resolve, an address this machine does not have) refused as bad input naming the key (exit 2) — not an internal
/// error.</summary>
internal static class ClusterBinding
{
    /// <summary><see cref="ClusterNode.Create"/>; a transport that cannot bind names cluster.hostname and cluster.port.</summary>
    public static ActorSystem CreateNode(ClusterSettings s, Akka.Configuration.Config extra)
    {
        try
        {
            return ClusterNode.Create(s, extra);
        }
        catch (Exception e) when (e is Akka.Remote.RemoteTransportException || Innermost(e) is SocketException)
        {
            throw new ConfigException($"cluster.hostname:cluster.port = {s.Hostname}:{s.Port}: cannot listen: {Innermost(e).Message}");
        }
    }

    /// <summary>Starts the data plane's listener; a socket that cannot bind names cluster.data-plane.port.</summary>
    public static T DataPlane<T>(string host, int port, Func<T> start)
    {
        try
        {
            return start();
        }
        catch (SocketException e)
        {
            throw new ConfigException($"cluster.data-plane.port = {port} (on cluster.hostname {host}): cannot listen: {e.Message}");
        }
    }

    /// <summary>The address cluster.hostname names (an IP address, or a name that resolves).</summary>
    public static IPAddress Resolve(string host)
    {
        if (IPAddress.TryParse(host, out var ip)) return ip;
        try
        {
            return Dns.GetHostAddresses(host).FirstOrDefault() ?? throw new ConfigException($"config: cluster.hostname '{host}' does not resolve");
        }
        catch (SocketException e)
        {
            throw new ConfigException($"config: cluster.hostname '{host}' does not resolve: {e.Message}");
        }
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }
}
