using Microsoft.Extensions.Logging;

namespace ActorTrainer.Daemon.Output;

/// <summary>A logger factory built on a thread-pool thread while the process goes on: its loggers wait for it at their
/// first use, and Dispose waits for it and disposes it (flushing the console's queue). The console factory's set-up
/// (options, dependency injection, the console's writer thread) took ~45 ms of every command's start on the main
/// thread; `train` now reads and parses its config meanwhile.</summary>
public sealed class DeferredLoggerFactory : ILoggerFactory
{
    private readonly Task<ILoggerFactory> _factory;

    /// <summary>Starts building the factory `create` makes.</summary>
    public DeferredLoggerFactory(Func<ILoggerFactory> create) => _factory = Task.Run(create);

    private ILoggerFactory Factory => _factory.GetAwaiter().GetResult();

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName) => new DeferredLogger(this, categoryName);

    /// <inheritdoc/>
    public void AddProvider(ILoggerProvider provider) => Factory.AddProvider(provider);

    /// <inheritdoc/>
    public void Dispose() => Factory.Dispose();

    /// <summary>A logger of the factory once it is built (the first call waits for it).</summary>
    private sealed class DeferredLogger(DeferredLoggerFactory owner, string category) : ILogger
    {
        private ILogger? _logger;   // two threads may both make it: the factory hands out equivalent loggers

        private ILogger Logger => _logger ??= owner.Factory.CreateLogger(category);

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => Logger.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => Logger.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Logger.Log(logLevel, eventId, state, exception, formatter);
    }
}
