using ActorTrainer.Daemon.Output;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>The daemon's logger factory is built off the main thread: loggers are handed out at once and wait for it
/// at their first use; Dispose disposes what was built.</summary>
public sealed class DeferredLoggerFactoryTests
{
    private sealed class Recording : ILoggerFactory, ILogger
    {
        public readonly List<string> Lines = new();
        public readonly List<string> Categories = new();
        public bool Disposed;
        public ILogger CreateLogger(string categoryName) { lock (Lines) Categories.Add(categoryName); return this; }
        public void AddProvider(ILoggerProvider provider) { }
        public void Dispose() => Disposed = true;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines) Lines.Add($"{logLevel}: {formatter(state, exception)}");
        }
    }

    [Fact]
    public void Loggers_are_handed_out_before_the_factory_is_built_and_log_through_it_once_it_is()
    {
        var inner = new Recording();
        using var release = new ManualResetEventSlim();
        var factory = new DeferredLoggerFactory(() => { release.Wait(TimeSpan.FromSeconds(30)); return inner; });
        var log = factory.CreateLogger("train");                 // does not wait for the build
        Assert.Empty(inner.Categories);
        var first = Task.Run(() => log.LogInformation("run directory {Dir}", "runs/x"));
        Assert.False(first.Wait(TimeSpan.FromMilliseconds(200)), "a log call went through before the factory was built");
        release.Set();
        Assert.True(first.Wait(TimeSpan.FromSeconds(30)));
        Assert.False(log.IsEnabled(LogLevel.Debug));             // the built logger's levels
        Assert.True(log.IsEnabled(LogLevel.Warning));
        log.LogWarning("second");
        Assert.Equal(["Information: run directory runs/x", "Warning: second"], inner.Lines);
        Assert.Equal(["train"], inner.Categories);               // one logger of the built factory per deferred logger
        Assert.False(inner.Disposed);
        factory.Dispose();
        Assert.True(inner.Disposed);
    }
}
