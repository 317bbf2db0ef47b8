using System.Runtime.ExceptionServices;

namespace ActorTrainer.Kernels;

/// <summary>One job in flight on <see cref="GemmWorkers"/>: its parts' claim flags, how many have finished, and how many
/// helpers may join it. Owned by the caller between <see cref="TryClaim"/> and <see cref="Release"/>; helpers only
/// claim parts. A successful claim of a part means the job that published its flag stays live until that part is
/// counted (the caller waits for every part), so a helper reads the job only after claiming.</summary>
internal sealed class GemmJobSlot
{
    private int _owned;                // 1 while a caller holds the slot
    private IParallelJob? _job;
    private int _parts, _done, _helperLimit, _helpers;
    private readonly int[] _claimed = Enumerable.Repeat(1, GemmWorkers.MaxParts).ToArray(); // 1 = claimed / no job
    private Exception? _error;

    /// <summary>Takes the slot for one job; false when another caller holds it.</summary>
    public bool TryClaim() => Interlocked.CompareExchange(ref _owned, 1, 0) == 0;

    /// <summary>Gives the slot back (after <see cref="WaitAndClose"/>, or after a failure before publishing).</summary>
    public void Release() => Volatile.Write(ref _owned, 0);

    /// <summary>Opens parts 0..parts−1 of `job` to the caller and at most `helperLimit` helpers. The flags are written
    /// last, with full fences: that starts the job.</summary>
    public void Publish(IParallelJob job, int parts, int helperLimit)
    {
        _error = null;
        _job = job;
        _parts = parts;
        _helperLimit = helperLimit;
        Volatile.Write(ref _done, 0);
        for (int i = 0; i < parts; i++) Interlocked.Exchange(ref _claimed[i], 0);
    }

    /// <summary>A helper joins if the job is open and has room for it, runs what it can claim and leaves; true when it
    /// ran at least one part.</summary>
    public bool Help()
    {
        if (Volatile.Read(ref _owned) == 0 || !AnyOpen()) return false;
        if (Interlocked.Increment(ref _helpers) > Volatile.Read(ref _helperLimit))
        {
            Interlocked.Decrement(ref _helpers);
            return false;
        }
        try { return RunClaimable(); }
        finally { Interlocked.Decrement(ref _helpers); }
    }

    /// <summary>Claims and runs parts until none is left; each completed (or failed) part counts once. True when it
    /// ran at least one.</summary>
    public bool RunClaimable()
    {
        bool ran = false;
        for (int i = 0; i < GemmWorkers.MaxParts; i++)
        {
            if (Volatile.Read(ref _claimed[i]) != 0 || Interlocked.CompareExchange(ref _claimed[i], 1, 0) != 0) continue;
            ran = true;
            try { _job!.Run(i); }
            catch (Exception e) { Interlocked.CompareExchange(ref _error, e, null); }
            finally { Interlocked.Increment(ref _done); }
        }
        return ran;
    }

    /// <summary>The caller: waits until every part is counted, closes the job and rethrows the first failure.</summary>
    public void WaitAndClose()
    {
        var spin = new SpinWait();
        while (Volatile.Read(ref _done) != _parts) spin.SpinOnce(-1);
        _job = null;
        if (_error is { } e)
        {
            _error = null;
            ExceptionDispatchInfo.Capture(e).Throw();
        }
    }

    private bool AnyOpen()
    {
        int parts = Volatile.Read(ref _parts);
        for (int i = 0; i < parts; i++)
            if (Volatile.Read(ref _claimed[i]) == 0) return true;
        return false;
    }
}
