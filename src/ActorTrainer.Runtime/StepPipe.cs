using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using ActorTrainer.Core;

namespace ActorTrainer.Runtime;

/// <summary>A resolved step as the executor receives it: global step, position and statistics, the parameter server's weights
/// after it (the weights' home, updated in place by the slices; stable until the next step opens, or in async mode
/// once the epoch drained), version, stale count, optimizer iterations and the parameter server's seconds so far.</summary>
internal sealed record ResolvedStep(long Step, StepOutcome Outcome, float[][] Weights, long Version, long Rejected, long Iterations,
    double ServerSeconds);

/// <summary>Resolved steps from the coordinator (actor thread) to the executor (the fit loop's thread), in
/// resolution order; a failure is delivered after the steps resolved before it.</summary>
internal sealed class StepPipe
{
    private readonly BlockingCollection<ResolvedStep> _items = new();
    private Exception? _fault;

    /// <summary>Queues a resolved step (ignored once failed).</summary>
    public void Add(ResolvedStep step)
    {
        if (!_items.IsAddingCompleted) _items.Add(step);
    }

    /// <summary>Fails the pipe: Take throws `e` once the queued steps are taken (the first failure wins).</summary>
    public void Fail(Exception e)
    {
        if (_items.IsAddingCompleted) return;
        _fault = e;
        _items.CompleteAdding();
    }

    /// <summary>Waits up to `timeout` for the next resolved step and drops it; false on a timeout or a failed pipe
    /// (a completed, empty collection returns at once).</summary>
    public bool TryTake(TimeSpan timeout) => _items.TryTake(out _, timeout);

    /// <summary>The next resolved step; blocks until one arrives; rethrows the failure when there is none.</summary>
    public ResolvedStep Take()
    {
        if (_items.TryTake(out var step, Timeout.Infinite)) return step;
        ExceptionDispatchInfo.Throw(_fault ?? new InvalidOperationException("the actor runtime stopped"));
        throw new InvalidOperationException("unreachable");
    }
}

/// <summary>Workers alive now, as supervision sees them (thread-safe counter).</summary>
internal sealed class LiveWorkers
{
    private int _count;
    /// <summary>Current count.</summary>
    public int Count => Volatile.Read(ref _count);
    /// <summary>A worker started.</summary>
    public void Started() => Interlocked.Increment(ref _count);
    /// <summary>A worker stopped for good.</summary>
    public void Stopped() => Interlocked.Decrement(ref _count);
}
