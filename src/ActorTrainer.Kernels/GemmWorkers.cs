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
/// Workers spin briefly after a job (back-to-back training calls), then block on a semaphore.
/// </summary>
internal static class GemmWorkers
{
    private static int s_busy;
    private static Worker[] s_workers = [];
    private static IParallelJob? s_job;
    private static int s_remaining;
    private static Exception? s_error;
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000; // 200 µs

    /// <summary>Claims the pool; false when another thread is using it.</summary>
    internal static bool TryEnter() => Interlocked.CompareExchange(ref s_busy, 1, 0) == 0;

    /// <summary>Releases the pool claimed by <see cref="TryEnter"/>.</summary>
    internal static void Exit() => Volatile.Write(ref s_busy, 0);

    /// <summary>Runs parts 0..parts−1 of the job (part 0 on the caller) and waits for all; rethrows the first failure.
    /// Requires the pool to be claimed.</summary>
    internal static void Run(IParallelJob job, int parts)
    {
        EnsureWorkers(parts - 1);
        s_job = job;
        s_error = null;
        Volatile.Write(ref s_remaining, parts - 1);
        for (int w = 0; w < parts - 1; w++) s_workers[w].Post();
        try
        {
            job.Run(0);
        }
        finally
        {
            var spin = new SpinWait();
            while (Volatile.Read(ref s_remaining) != 0) spin.SpinOnce(-1);
            s_job = null;
        }
        if (s_error is { } e) ExceptionDispatchInfo.Capture(e).Throw();
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
        private readonly int _part;
        private readonly SemaphoreSlim _wake = new(0);
        private int _posted, _seen, _sleeping;

        internal Worker(int part)
        {
            _part = part;
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
                try { s_job!.Run(_part); }
                catch (Exception e) { Interlocked.CompareExchange(ref s_error, e, null); }
                Interlocked.Decrement(ref s_remaining);
            }
        }

        private void WaitForPost()
        {
            long until = Stopwatch.GetTimestamp() + SpinTicks;
            var spin = new SpinWait();
            while (Volatile.Read(ref _posted) == _seen)
            {
                if (Stopwatch.GetTimestamp() < until) { spin.SpinOnce(-1); continue; }
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
