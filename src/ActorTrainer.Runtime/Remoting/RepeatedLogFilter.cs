using System.Text.RegularExpressions;
using Akka.Event;

namespace ActorTrainer.Runtime.Remoting;

/// <summary>An Akka.NET log filter (<see cref="LogFilterSetup"/>) that shows a message at most once per `interval`: an
/// event with the same level, source, exception type and text as the last one shown — counters in brackets, such as
/// Akka's "after [3] attempts", count as the same text — is dropped until `interval` has passed since that one. Cluster
/// nodes use it with 30 s (<see cref="ClusterNode.Create"/>): a worker node started before its coordinator printed two
/// warnings a second (a failed join and an unreachable address, once per cluster.join-retry) for as long as it waited.
/// Events that differ in anything else (another node's address, another reason) are shown as they come. Several
/// loggers asking about the same event get the same answer.</summary>
public sealed partial class RepeatedLogFilter : LogFilterBase
{
    /// <summary>Most distinct messages remembered; past it, those whose interval is over are forgotten.</summary>
    public const int MaxRemembered = 4096;

    private readonly TimeSpan _interval;
    private readonly Func<DateTime> _clock;
    private readonly Dictionary<string, (DateTime Shown, LogEvent Event)> _shown = new();
    private readonly Lock _gate = new();

    /// <summary>A filter showing each message at most once per `interval` (> 0); `clock` (UTC; tests) defaults to
    /// DateTime.UtcNow.</summary>
    public RepeatedLogFilter(TimeSpan interval, Func<DateTime>? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _interval = interval;
        _clock = clock ?? (() => DateTime.UtcNow);
    }

    /// <summary>Distinct messages remembered now (at most MaxRemembered).</summary>
    public int Remembered { get { lock (_gate) return _shown.Count; } }

    /// <inheritdoc/>
    public override LogFilterType FilterType => LogFilterType.Content;

    /// <inheritdoc/>
    public override LogFilterDecision ShouldKeepMessage(LogEvent content, string? expandedMessage = null)
    {
        ArgumentNullException.ThrowIfNull(content);
        string key = Key(content);
        var now = _clock();
        lock (_gate)
        {
            if (_shown.TryGetValue(key, out var last))
            {
                if (ReferenceEquals(last.Event, content)) return LogFilterDecision.Keep;
                if (now - last.Shown < _interval) return LogFilterDecision.Drop;
            }
            if (_shown.Count >= MaxRemembered) Forget(now);
            _shown[key] = (now, content);
            return LogFilterDecision.Keep;
        }
    }

    /// <summary>Level, source, exception type and text with bracketed counters masked.</summary>
    private static string Key(LogEvent e) =>
        $"{e.LogLevel()}|{e.LogSource}|{e.Cause?.GetType().FullName}|{Counter().Replace(e.Message?.ToString() ?? "", "[#]")}";

    private void Forget(DateTime now)
    {
        foreach (var k in _shown.Where(kv => now - kv.Value.Shown >= _interval).Select(kv => kv.Key).ToList()) _shown.Remove(k);
        if (_shown.Count >= MaxRemembered) _shown.Clear();   // all within the interval: start over rather than grow
    }

    [GeneratedRegex(@"\[\d+\]")]
    private static partial Regex Counter();
}
