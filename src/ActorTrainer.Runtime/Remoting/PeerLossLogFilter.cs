using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Akka.Event;

namespace ActorTrainer.Runtime.Remoting;

/// <summary>An Akka.NET log filter (<see cref="LogFilterSetup"/>) for the known events of a cluster node that went away
/// (a worker node killed mid-run, a coordinator whose run ended): Akka.Remote logs each of them with its exception's
/// stack trace — "Association with remote system … has failed; address is now gated … Reason is: [Disassociated …]",
/// "Error caught channel …" (connection reset), "Tried to associate with unreachable remote address …" (connection
/// refused while the node is down), AssociationError. The trainer says what happened in one line of its own (the
/// coordinator's "worker N (node …) lost: …; its shards go to the other workers", <see cref="PeerLossWatcher"/>'s
/// "cluster: node … is unreachable …"), so these are dropped: events whose exception (or the text of it Akka put in
/// the message) is a closed connection — <c>EndpointDisassociatedException</c>, a socket reset, aborted or broken —
/// and association failures of an address that went away (disassociated, unreachable or removed; see
/// <see cref="Gone"/>). Every other event is kept: a refused connection to an address never lost (a worker node
/// waiting for its coordinator; <see cref="RepeatedLogFilter"/> shows it once per 30 s), TLS, serialization,
/// quarantine, any error that is not a closed connection, and every event not logged by Akka's own classes.
/// (Failed TLS handshakes are <see cref="TlsFailureLogFilter"/>'s, which comes first.)</summary>
public sealed partial class PeerLossLogFilter : LogFilterBase
{
    private readonly ConcurrentDictionary<string, byte> _gone = new();

    /// <inheritdoc/>
    public override LogFilterType FilterType => LogFilterType.Content;

    /// <summary>The node at `address` ("akka.tcp://system@host:port") went away (unreachable, removed, disassociated):
    /// association failures with it are expected until it is back.</summary>
    public void Gone(string address) => _gone[Normal(address)] = 0;

    /// <summary>The node at `address` is back (reachable again, or a new member at the same address).</summary>
    public void Back(string address) => _gone.TryRemove(Normal(address), out _);

    /// <inheritdoc/>
    public override LogFilterDecision ShouldKeepMessage(LogEvent content, string? expandedMessage = null)
    {
        ArgumentNullException.ThrowIfNull(content);
        // only Akka's own events: the trainer's lines about a lost node (which quote its socket errors) are the clear ones
        if (content.LogLevel() < LogLevel.InfoLevel || content.LogClass?.Namespace?.StartsWith("Akka", StringComparison.Ordinal) != true)
            return LogFilterDecision.Keep;
        string text = content.Message?.ToString() ?? "";
        if (ClosedConnection(content.Cause) || ClosedConnectionText(text))
        {
            // "Association with remote system X has failed … Disassociated": X went away (its reconnects fail next)
            if (text.StartsWith("Association with remote system", StringComparison.Ordinal) && AddressOf(text) is { } a) Gone(a);
            return LogFilterDecision.Drop;
        }
        bool association = text.Contains("associat", StringComparison.OrdinalIgnoreCase);
        return association && Address().Matches(text).Any(m => _gone.ContainsKey(Normal(m.Value))) ? LogFilterDecision.Drop : LogFilterDecision.Keep;
    }

    /// <summary>The exception, or one inside it, says the connection was closed by the peer.</summary>
    private static bool ClosedConnection(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e.GetType().Name == "EndpointDisassociatedException") return true;
            if (e is SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown })
                return true;
            if (e is AggregateException agg && agg.InnerExceptions.Any(ClosedConnection)) return true;
        }
        return false;
    }

    /// <summary>Akka put the exception into the message's text ("Reason is: [Akka.Remote.EndpointDisassociatedException: …").</summary>
    private static bool ClosedConnectionText(string text) =>
        text.Contains("EndpointDisassociatedException", StringComparison.Ordinal)
        || text.Contains("Connection reset by peer", StringComparison.Ordinal)
        || text.Contains("Broken pipe", StringComparison.Ordinal);

    private static string? AddressOf(string text) => Address().Match(text) is { Success: true } m ? Normal(m.Value) : null;

    private static string Normal(string address) => address.TrimEnd('/');

    [GeneratedRegex(@"akka(\.ssl)?\.tcp://[^@\s\]\[]+@[^\s\]\[/]+")]
    private static partial Regex Address();
}
