using System.Net;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>A worker node's log lines for the coordinator connections it refuses (<see cref="WorkerNodeServer"/>): a
/// coordinator opens one connection per gradient worker of the node, all with the same job, so a refused job came N
/// times at once and was logged N times. Now a reason is logged once per coordinator host and `interval`; connections
/// refused for it meanwhile are counted into the next line about it. The line keeps its text
/// ("data plane: connection from {peer} refused: {reason}").</summary>
internal sealed class RefusalLog(Action<string> log, TimeSpan interval, Func<DateTime>? clock = null)
{
    /// <summary>Most (host, reason) pairs remembered; past it, those whose interval is over are forgotten.</summary>
    public const int MaxRemembered = 1024;

    private readonly Dictionary<(string Host, string Reason), (DateTime Shown, int Quiet)> _shown = new();
    private readonly Lock _gate = new();

    /// <summary>The connection from `peer` was refused for `reason`: logged, or counted when the same host was refused
    /// for the same reason less than the interval ago.</summary>
    public void Refused(EndPoint peer, string reason)
    {
        var key = (Host(peer), reason);
        var now = clock?.Invoke() ?? DateTime.UtcNow;
        int quiet;
        lock (_gate)
        {
            if (_shown.TryGetValue(key, out var last) && now - last.Shown < interval)
            {
                _shown[key] = last with { Quiet = last.Quiet + 1 };
                return;
            }
            if (_shown.Count >= MaxRemembered)
                foreach (var old in _shown.Where(e => now - e.Value.Shown >= interval).Select(e => e.Key).ToList()) _shown.Remove(old);
            quiet = last.Quiet;
            _shown[key] = (now, 0);
        }
        log($"data plane: connection from {peer} refused: {reason}" +
            (quiet == 0 ? "" : $" ({quiet} more connection(s) from {key.Item1} refused for this reason since the last such line)"));
    }

    /// <summary>The peer's address without its port (a coordinator's connections differ only in their port).</summary>
    private static string Host(EndPoint peer) => peer is IPEndPoint ip ? ip.Address.ToString() : peer.ToString() ?? "";
}
