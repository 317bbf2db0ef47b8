using ActorTrainer.Daemon.Commands;
using ActorTrainer.Daemon.Configuration;
using Microsoft.Extensions.Logging;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>The actor runtime's warm-up (ActorHost.WarmUp) runs while the run has not attached, and is skipped once it
/// has: the run never waits for it, and a warm-up begun after the run started would only compile what the run's first
/// steps already compiled, on the run's cores.</summary>
public sealed class ActorHostWarmupTests
{
    private sealed class Recording : ILogger
    {
        public readonly List<string> Lines = new();
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines) Lines.Add($"{logLevel}: {formatter(state, exception)}");
        }
    }

    [Fact]
    public void A_warmup_runs_before_the_run_attaches_and_is_skipped_after()
    {
        var s = TrainSettings.From(ConfigLoader.Load(null, ["trainer.runtime=actors"]));
        using var logs = LoggerFactory.Create(_ => { });
        using var host = ActorHost.Begin(s, logs);
        var model = s.BuildModel();
        float[][] wrong = [new float[3]];      // weights that do not fit the plan: a warm-up that runs fails, and logs it
        var before = new Recording();
        host.WarmUp(model.Plan, wrong, model.Optimizer, 4, before);
        Assert.Contains(before.Lines, l => l.StartsWith("Debug: actor runtime warm-up failed", StringComparison.Ordinal));
        host.Attach();
        var after = new Recording();
        host.WarmUp(model.Plan, wrong, model.Optimizer, 4, after);
        Assert.Empty(after.Lines);
    }
}
