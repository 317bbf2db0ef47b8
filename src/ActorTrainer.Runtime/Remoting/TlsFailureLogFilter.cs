using System.Runtime.CompilerServices;
using System.Security.Authentication;
using System.Text.RegularExpressions;
using Akka.Event;

namespace ActorTrainer.Runtime.Remoting;

/// <summary>An Akka.NET log filter (<see cref="LogFilterSetup"/>) for remoting's failed TLS handshakes. A peer refused
/// at the handshake (a node without a certificate the CA issued, or one without TLS at all) retries every
/// cluster.join-retry from another port, and Akka.Remote logs each try as three events — "Error caught channel …" and
/// "TLS handshake failed on channel …" (several lines with troubleshooting advice such as "suppress-validation for
/// testing", which the trainer never turns on) with the exception, and "Rejected incoming connection from …" — that
/// differ in the port, so that no repeat filter caught them. All of them are dropped; instead the node logs one line of
/// its own per peer host and reason per `interval` ("TLS: remoting refused a connection from HOST:PORT: REASON"), the
/// refusals meanwhile counted into the next such line (<see cref="Clustering.RefusalLog"/>); none for a certificate
/// <see cref="TrustedCaValidator"/> rejected, which logs the certificate and why itself. The lines go to the
/// logger given to <see cref="Attach"/> (those of a refusal before it are kept until then).</summary>
public sealed partial class TlsFailureLogFilter : LogFilterBase
{
    private const int RecentChannels = 256;
    private readonly Clustering.RefusalLog _refusals;
    private readonly Lock _gate = new();
    private readonly ConditionalWeakTable<LogEvent, object> _asked = new();   // each logger asks about each event
    private readonly Queue<string> _channelOrder = new();
    private readonly HashSet<string> _channels = new(StringComparer.Ordinal);   // one refusal, two events on its channel
    private readonly List<string> _pending = [];
    private ILoggingAdapter? _log;

    /// <summary>A filter that logs a TLS refusal once per peer host and reason per `interval` (> 0); `clock` (UTC;
    /// tests) defaults to DateTime.UtcNow.</summary>
    public TlsFailureLogFilter(TimeSpan interval, Func<DateTime>? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _refusals = new Clustering.RefusalLog(_ => { }, interval, clock);
    }

    /// <inheritdoc/>
    public override LogFilterType FilterType => LogFilterType.Content;

    /// <summary>Where the node's own lines go (an error each); lines of refusals before this call are written now.</summary>
    public void Attach(ILoggingAdapter log)
    {
        ArgumentNullException.ThrowIfNull(log);
        string[] pending;
        lock (_gate)
        {
            _log = log;
            pending = [.. _pending];
            _pending.Clear();
        }
        foreach (var line in pending) log.Error(line);
    }

    /// <inheritdoc/>
    public override LogFilterDecision ShouldKeepMessage(LogEvent content, string? expandedMessage = null)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (content.LogClass?.Namespace?.StartsWith("Akka", StringComparison.Ordinal) != true) return LogFilterDecision.Keep;
        string text = content.Message?.ToString() ?? "";
        if (text.StartsWith("Rejected incoming connection from", StringComparison.Ordinal) && text.Contains("TLS", StringComparison.Ordinal))
            return LogFilterDecision.Drop;                                   // the same refusal as the two events below
        bool tls = text.StartsWith("TLS handshake failed on channel", StringComparison.Ordinal)
                   || text.StartsWith("TLS exception on channel", StringComparison.Ordinal)
                   || text.StartsWith("Error caught channel", StringComparison.Ordinal) && IsTlsFailure(content.Cause);
        if (tls && Channel().Match(text) is { Success: true } m) return Refused(content, m.Groups["remote"].Value, m.Groups["id"].Value, "refused a connection from");
        if (text.StartsWith("TLS handshake failed on outbound connection to", StringComparison.Ordinal) && Outbound().Match(text) is { Success: true } o)
            return Refused(content, o.Groups[1].Value, null, "could not connect to");
        return LogFilterDecision.Keep;
    }

    /// <summary>Counts the refusal once (whichever of its events and loggers asks first) and writes its line when its
    /// host and reason were not logged within the interval; the event itself is always dropped.</summary>
    private LogFilterDecision Refused(LogEvent e, string peer, string? channel, string what)
    {
        string host = Clustering.RefusalLog.Host(peer);
        string reason = Reason(e.Cause);
        if (reason.Contains("RemoteCertificateValidationCallback", StringComparison.Ordinal))
            return LogFilterDecision.Drop;          // the certificate validator refused it: its own line says why (TrustedCaValidator)
        string? line = null;
        lock (_gate)
        {
            if (_asked.TryGetValue(e, out _)) return LogFilterDecision.Drop;
            _asked.Add(e, e);
            if (channel is not null && !Remember(channel)) return LogFilterDecision.Drop;
            if (_refusals.Admit(host, reason, out int quiet))
            {
                line = $"TLS: remoting {what} {PeerText(peer)}: {reason}{Clustering.RefusalLog.Suffix(quiet, host)}";
                if (_log is null) { _pending.Add(line); line = null; }
            }
        }
        if (line is not null) _log!.Error(line);
        return LogFilterDecision.Drop;
    }

    /// <summary>True the first time a channel id comes (its second event is the same refusal).</summary>
    private bool Remember(string channel)
    {
        if (!_channels.Add(channel)) return false;
        _channelOrder.Enqueue(channel);
        if (_channelOrder.Count > RecentChannels) _channels.Remove(_channelOrder.Dequeue());
        return true;
    }

    /// <summary>"[::ffff:10.0.0.5]:41234" as "10.0.0.5:41234".</summary>
    private static string PeerText(string peer) =>
        System.Net.IPEndPoint.TryParse(peer, out var ip) && ip.Address.IsIPv4MappedToIPv6 ? $"{ip.Address.MapToIPv4()}:{ip.Port}" : peer;

    /// <summary>What went wrong, in one line: the innermost exception's message (Akka wraps it in its advice) without
    /// the bytes a non-TLS peer sent, which differ between its tries.</summary>
    public static string Reason(Exception? cause)
    {
        var e = cause;
        while (e?.InnerException is { } inner) e = inner;
        if (e is null) return "TLS handshake failed";
        string message = e.Message.Split('\n')[0].Trim().TrimEnd('.');
        message = HexBytes().Replace(message, "");
        return e.GetType().Name == "NotSslRecordException"
            ? message + " (the peer does not speak TLS: a node without cluster.tls, or not a cluster node)"
            : message;
    }

    private static bool IsTlsFailure(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is AuthenticationException || e.GetType().Name is "NotSslRecordException" or "TlsHandshakeException") return true;
        return false;
    }

    [GeneratedRegex(@"->(?<remote>.+?)\]\(Id=(?<id>[^)]+)\)")]
    private static partial Regex Channel();

    [GeneratedRegex(@"outbound connection to \[(.+?)\](?=\s|$)")]
    private static partial Regex Outbound();

    [GeneratedRegex(@":\s*[0-9a-fA-F]{8,}\s*$")]
    private static partial Regex HexBytes();
}
