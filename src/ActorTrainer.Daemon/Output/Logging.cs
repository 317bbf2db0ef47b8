using Microsoft.Extensions.Logging;

namespace ActorTrainer.Daemon.Output;

/// <summary>Console logging for the daemon: single-line text on stderr (stdout stays for the progress bar and
/// results), or one JSON object per line on stdout (output.log-format = json).</summary>
public static class Logging
{
    /// <summary>A logger factory in the requested format.</summary>
    public static ILoggerFactory Create(bool json) => LoggerFactory.Create(b =>
    {
        if (json) b.AddJsonConsole(o => o.IncludeScopes = false);
        else b.AddSimpleConsole(o => { o.SingleLine = true; o.IncludeScopes = false; });
        b.AddConsole(o => o.LogToStandardErrorThreshold = json ? LogLevel.Warning : LogLevel.Trace);
        b.AddFilter("Microsoft", LogLevel.Warning);
        b.SetMinimumLevel(LogLevel.Information);
    });

    /// <summary><see cref="Create"/>, built on a thread-pool thread while the caller goes on (<see cref="DeferredLoggerFactory"/>).</summary>
    public static ILoggerFactory Begin(bool json) => new DeferredLoggerFactory(() => Create(json));
}
