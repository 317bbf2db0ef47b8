using System.Net;
using System.Text.RegularExpressions;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>A node's log lines for the connections it refuses: a coordinator opens one connection per gradient worker
/// of a node, all with the same job, so a refused job came N times at once and was logged N times; a peer without a
/// trusted certificate retries its TLS handshake every cluster.join-retry. Now a reason is logged once per peer host and
/// `interval`; connections refused for it meanwhile are counted into the next line about it. <see cref="Refused"/>
/// keeps the line's text ("data plane: connection from {peer} refused: {reason}", or what `line` makes of peer and
/// reason); the peer's own text (host:port) in a reason does not make the reason another one.</summary>
internal sealed partial class RefusalLog(Action<string> log, TimeSpan interval, Func<DateTime>? clock = null,
    Func<EndPoint, string, string>? line = null)
{
    /// <summary>Most (host, reason) pairs remembered; past it, those whose interval is over are forgotten.</summary>
    public const int MaxRemembered = 1024;

    private readonly Dictionary<(string Host, string Reason), (DateTime Shown, int Quiet)> _shown = new();
    private readonly Lock _gate = new();

    /// <summary>The connection from `peer` was refused for `reason`: logged, or counted when the same host was refused
    /// for the same reason less than the interval ago.</summary>
    public void Refused(EndPoint peer, string reason)
    {
        string host = Host(peer);
        if (!Admit(host, reason.Replace(peer.ToString() ?? "", host, StringComparison.Ordinal), out int quiet)) return;
        log((line?.Invoke(peer, reason) ?? $"data plane: connection from {peer} refused: {reason}") + Suffix(quiet, host));
    }

    /// <summary>True when a refusal of `host` for `reason` is to be logged now, with `quiet` the refusals counted since
    /// the last line about it; false (counted) when one was logged less than the interval ago.</summary>
    public bool Admit(string host, string reason, out int quiet)
    {
        var key = (host, reason);
        var now = clock?.Invoke() ?? DateTime.UtcNow;
        lock (_gate)
        {
            if (_shown.TryGetValue(key, out var last) && now - last.Shown < interval)
            {
                _shown[key] = last with { Quiet = last.Quiet + 1 };
                quiet = 0;
                return false;
            }
            if (_shown.Count >= MaxRemembered)
                foreach (var old in _shown.Where(e => now - e.Value.Shown >= interval).Select(e => e.Key).ToList()) _shown.Remove(old);
            quiet = last.Quiet;
            _shown[key] = (now, 0);
            return true;
        }
    }

    /// <summary>The note a line gets for the refusals counted since the last one ("" when none).</summary>
    public static string Suffix(int quiet, string host) =>
        quiet == 0 ? "" : $" ({quiet} more connection(s) from {host} refused for this reason since the last such line)";

    /// <summary>The peer's address without its port (a coordinator's connections differ only in their port).</summary>
    public static string Host(EndPoint peer) => peer is IPEndPoint ip ? ip.Address.ToString() : peer.ToString() ?? "";

    /// <summary>The host of a peer written as text ("10.0.0.5:41234", "[::1]:41234", "[::ffff:10.0.0.5]:41234" or a name
    /// with a port): its address without the port; text that names no port as it is.</summary>
    public static string Host(string peer)
    {
        if (IPEndPoint.TryParse(peer, out var ip) && peer.Contains(':')) return ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4().ToString() : ip.Address.ToString();
        var m = HostPort().Match(peer);
        return m.Success ? m.Groups[1].Value : peer;
    }

    [GeneratedRegex(@"^\[?([^\[\]]+?)\]?:\d+$")]
    private static partial Regex HostPort();
}
