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

    /// <summary>True once the pipe failed (the run is over: no command to the coordinator will be answered).</summary>
    public bool Failed => _items.IsAddingCompleted;

    /// <summary>Fails the pipe: Take throws `e` once the queued steps are taken (the first failure wins).</summary>
    public void Fail(Exception e)
    {
        if (_items.IsAddingCompleted) return;
        _fault = e;
        _items.CompleteAdding();
    }

    /// <summary>Throws the failure (the first one) once the pipe failed.</summary>
    public void ThrowIfFailed()
    {
        if (_items.IsAddingCompleted) ExceptionDispatchInfo.Throw(_fault ?? new InvalidOperationException("the actor runtime stopped"));
    }

    /// <summary>Waits up to `timeout` for the next resolved step and drops it; false on a timeout or a failed pipe
    /// (a completed, empty collection returns at once).</summary>
    public bool TryTake(TimeSpan timeout) => _items.TryTake(out _, timeout);

    /// <summary>The next resolved step; blocks until one arrives; rethrows the failure when there is none. Once
    /// `cancel` is requested and `stuck` says the step cannot finish (checked every 100 ms while waiting), it throws
    /// <see cref="StepInterruptedException"/> instead of waiting on.</summary>
    public ResolvedStep Take(CancellationToken cancel = default, Func<bool>? stuck = null)
    {
        int wait = cancel.CanBeCanceled && stuck is not null ? 100 : Timeout.Infinite;
        while (true)
        {
            if (_items.TryTake(out var step, wait)) return step;
            if (_items.IsCompleted) break;
            if (cancel.IsCancellationRequested && stuck!())
                throw new StepInterruptedException("the step in flight cannot finish (no gradient worker is left) and training was cancelled");
        }
        ThrowIfFailed();
        throw new InvalidOperationException("unreachable");
    }

    /// <summary>The resolved steps queued now, without waiting.</summary>
    public List<ResolvedStep> TakeQueued()
    {
        var queued = new List<ResolvedStep>();
        while (_items.TryTake(out var step)) queued.Add(step);
        return queued;
    }
}

/// <summary>Workers alive now, as supervision sees them (thread-safe counter).</summary>
internal sealed class LiveWorkers
{
    private int _count, _peak;
    /// <summary>Current count.</summary>
    public int Count => Volatile.Read(ref _count);
    /// <summary>The most workers alive at once so far (local and remote: what the run trained on).</summary>
    public int Peak => Volatile.Read(ref _peak);
    /// <summary>A worker started.</summary>
    public void Started()
    {
        int now = Interlocked.Increment(ref _count), peak;
        while (now > (peak = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak) { }
    }
    /// <summary>A worker stopped for good.</summary>
    public void Stopped() => Interlocked.Decrement(ref _count);
}
