using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace ActorTrainer.Kernels;

/// <summary>A unit of parallel work split into parts 0..parts−1.</summary>
internal interface IParallelJob
{
    /// <summary>Runs one part; parts are independent (disjoint outputs).</summary>
    void Run(int part);
}

/// <summary>
/// Persistent worker threads for GEMM (allocation-free dispatch, unlike Parallel.For). One job at a time: a caller
/// that cannot <see cref="TryEnter"/> runs its GEMM on its own thread, which gives the same bits.
/// Parts are claimed dynamically (compare-and-swap per part), so a worker that is descheduled on a busy machine
/// never delays the caller: the caller runs every part nobody has claimed yet. Workers busy-spin briefly after a
/// job (back-to-back training calls), then block on a semaphore.
/// </summary>
internal static class GemmWorkers
{
    /// <summary>Most parts one job may have.</summary>
    internal const int MaxParts = 64;

    private static int s_busy;
    private static Worker[] s_workers = [];
    private static IParallelJob? s_job;
    private static int s_parts;
    private static int s_done;
    private static readonly int[] s_claimed = Enumerable.Repeat(1, MaxParts).ToArray(); // 1 = claimed / no job
    private static Exception? s_error;
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000; // 200 µs

    /// <summary>Claims the pool; false when another thread is using it.</summary>
    internal static bool TryEnter() => Interlocked.CompareExchange(ref s_busy, 1, 0) == 0;

    /// <summary>Runs the job's parts on the pool when it is free (true), else does nothing (false: the caller runs
    /// the work itself). The job object must belong to the calling thread (a [ThreadStatic] instance): its fields are
    /// set before the pool is claimed. At most `threads` threads (the caller included) work on it.</summary>
    internal static bool TryRun(IParallelJob job, int parts, int threads = int.MaxValue)
    {
        if (parts < 2 || parts > MaxParts || threads < 2 || !TryEnter()) return false;
        try { Run(job, parts, threads); }
        finally { Exit(); }
        return true;
    }

    /// <summary>Releases the pool claimed by <see cref="TryEnter"/>.</summary>
    internal static void Exit() => Volatile.Write(ref s_busy, 0);

    /// <summary>Runs parts 0..parts−1 of the job on the caller and up to min(parts, threads)−1 workers, waits for all,
    /// and rethrows the first failure. Requires the pool to be claimed; 2 ≤ parts ≤ <see cref="MaxParts"/>.</summary>
    internal static void Run(IParallelJob job, int parts, int threads = int.MaxValue)
    {
        int helpers = Math.Min(parts, threads) - 1;
        EnsureWorkers(helpers);
        s_error = null;
        Volatile.Write(ref s_done, 0);
        s_parts = parts;
        s_job = job;
        // Publishing the claim flags (last, with full fences) starts the job; parts ≥ `parts` stay claimed.
        for (int i = parts; i < MaxParts; i++) Volatile.Write(ref s_claimed[i], 1);
        for (int i = 0; i < parts; i++) Interlocked.Exchange(ref s_claimed[i], 0);
        for (int w = 0; w < helpers; w++) s_workers[w].Post();
        try
        {
            RunClaimable();
        }
        finally
        {
            var spin = new SpinWait();
            while (Volatile.Read(ref s_done) != parts) spin.SpinOnce(-1);
            for (int i = 0; i < parts; i++) Volatile.Write(ref s_claimed[i], 1);
            s_job = null;
        }
        if (s_error is { } e) ExceptionDispatchInfo.Capture(e).Throw();
    }

    /// <summary>Claims and runs parts until none is left; each completed (or failed) part counts once in s_done.</summary>
    private static void RunClaimable()
    {
        for (int i = 0; i < MaxParts; i++)
        {
            if (Interlocked.CompareExchange(ref s_claimed[i], 1, 0) != 0) continue;
            // A successful claim means the job that published this flag is live until this part is counted.
            try { s_job!.Run(i); }
            catch (Exception e) { Interlocked.CompareExchange(ref s_error, e, null); }
            finally { Interlocked.Increment(ref s_done); }
        }
    }

    private static void EnsureWorkers(int count)
    {
        if (s_workers.Length >= count) return;
        var grown = new Worker[count];
        Array.Copy(s_workers, grown, s_workers.Length);
        for (int w = s_workers.Length; w < count; w++) grown[w] = new Worker(w + 1);
        s_workers = grown;
    }

    private sealed class Worker
    {
        private readonly SemaphoreSlim _wake = new(0);
        private int _posted, _seen, _sleeping;

        internal Worker(int part)
        {
            var t = new Thread(Loop) { IsBackground = true, Name = $"ActorTrainer.Gemm.{part}" };
            t.Start();
        }

        /// <summary>Signals one job to this worker; wakes it if it is blocked.</summary>
        internal void Post()
        {
            Interlocked.Increment(ref _posted);
            if (Interlocked.Exchange(ref _sleeping, 0) == 1) _wake.Release();
        }

        private void Loop()
        {
            while (true)
            {
                WaitForPost();
                _seen++;
                RunClaimable();
            }
        }

        private void WaitForPost()
        {
            long until = Stopwatch.GetTimestamp() + SpinTicks;
            while (Volatile.Read(ref _posted) == _seen)
            {
                if (Stopwatch.GetTimestamp() < until) { Thread.SpinWait(20); continue; }
                Interlocked.Exchange(ref _sleeping, 1);
                if (Volatile.Read(ref _posted) != _seen)
                {
                    // A post raced with going to sleep: if the poster already cleared the flag it also released.
                    if (Interlocked.Exchange(ref _sleeping, 0) == 0) _wake.Wait();
                    return;
                }
                _wake.Wait();
                until = Stopwatch.GetTimestamp() + SpinTicks;
            }
        }
    }
}
