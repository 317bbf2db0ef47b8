using System.Diagnostics;

namespace ActorTrainer.Kernels;

/// <summary>A unit of parallel work split into parts 0..parts−1.</summary>
internal interface IParallelJob
{
    /// <summary>Runs one part; parts are independent (disjoint outputs).</summary>
    void Run(int part);
}

/// <summary>
/// Persistent worker threads for GEMM and partitioned element-wise work (allocation-free dispatch, unlike
/// Parallel.For), shared by every calling thread: up to <see cref="MaxJobs"/> jobs run at once, each on its caller and
/// at most `threads − 1` helpers, so that gradient workers that each run their GEMMs on several threads
/// (trainer.threads-per-worker) get their threads at the same time instead of taking turns. Parts are claimed
/// dynamically (compare-and-swap per part), so a helper that is descheduled on a busy machine never delays the caller:
/// the caller runs every part nobody has claimed yet. Which thread runs which part never changes a result (parts
/// have disjoint outputs). Helpers busy-spin briefly after a job (back-to-back training calls), then block.
/// </summary>
internal static class GemmWorkers
{
    /// <summary>Most parts one job may have.</summary>
    internal const int MaxParts = 64;

    /// <summary>Most jobs in flight at once; a caller that finds them all taken runs its job on its own thread.</summary>
    internal const int MaxJobs = 16;

    /// <summary>Most helper threads the pool creates: it grows to the most helpers the jobs in flight asked for at
    /// once, up to twice the cores (at least 4), so that many concurrent callers never start hundreds of threads.</summary>
    internal static readonly int MaxHelpers = Math.Clamp(2 * Environment.ProcessorCount, 4, 4 * MaxParts);

    private static readonly GemmJobSlot[] s_slots = Enumerable.Range(0, MaxJobs).Select(_ => new GemmJobSlot()).ToArray();
    private static Worker[] s_workers = [];
    private static readonly object s_grow = new();
    private static int s_demand;       // helpers asked for by the jobs in flight
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000; // 200 µs

    /// <summary>True on a thread while it runs a part: a kernel called from inside a part runs on that thread alone.</summary>
    [ThreadStatic] private static bool t_inPart;

    /// <summary>Runs the job's parts on the calling thread and up to min(parts, threads) − 1 helpers, waits for all of
    /// them and rethrows the first failure (true); returns false, doing nothing, when the job is too small to split,
    /// all job slots are taken or the caller is itself running a part (the caller then runs the work itself). The job
    /// object must belong to the calling thread (a [ThreadStatic] instance): its fields are set before it is
    /// published.</summary>
    internal static bool TryRun(IParallelJob job, int parts, int threads = int.MaxValue)
    {
        if (parts < 2 || parts > MaxParts || threads < 2 || t_inPart) return false;
        var slot = ClaimSlot();
        if (slot is null) return false;
        int helpers = Math.Min(Math.Min(parts, threads) - 1, MaxHelpers);
        try
        {
            int demand = Interlocked.Add(ref s_demand, helpers);
            EnsureWorkers(Math.Min(demand, MaxHelpers));
            slot.Publish(job, parts, helpers);
            Post(helpers);
            RunParts(slot);
            slot.WaitAndClose();
        }
        finally
        {
            Interlocked.Add(ref s_demand, -helpers);
            slot.Release();
        }
        return true;
    }

    /// <summary>Helper threads started so far.</summary>
    internal static int HelperCount => Volatile.Read(ref s_workers).Length;

    private static GemmJobSlot? ClaimSlot()
    {
        foreach (var s in s_slots)
            if (s.TryClaim()) return s;
        return null;
    }

    /// <summary>Claims and runs the slot's open parts until none is left.</summary>
    private static void RunParts(GemmJobSlot slot)
    {
        t_inPart = true;
        try { slot.RunClaimable(); }
        finally { t_inPart = false; }
    }

    /// <summary>Wakes `count` helpers: idle ones first, each reserved by this post so that jobs published at the same
    /// time wake different helpers; when fewer are idle, busy ones (they join when they finish). The search always
    /// starts at the first helper, so the lowest-numbered helpers take the work (still spinning from their last job)
    /// and helpers beyond what the jobs in flight need stay blocked: the pool grows to the most helpers ever asked for
    /// at once (a warm-up beside a run's first GEMMs, TensorBoard's prediction grid beside its probe gradient), and when
    /// posts went round-robin over all of them every one kept spinning after its turn — on 2 cores an extra spinning
    /// thread beside the in-process runtime's lanes made README's `train` ~1.1× slower (bench/RESULTS.md, 2026-12-03).</summary>
    private static void Post(int count)
    {
        var workers = Volatile.Read(ref s_workers);
        int n = workers.Length;
        if (n == 0) return;
        int posted = 0;
        for (int i = 0; i < n && posted < count; i++)
        {
            var w = workers[i];
            if (w.TryReserve()) { w.Post(); posted++; }
        }
        for (int i = 0; posted < count; i++, posted++) workers[i % n].Post();
    }

    private static void EnsureWorkers(int count)
    {
        if (Volatile.Read(ref s_workers).Length >= count) return;
        lock (s_grow)
        {
            var old = s_workers;
            if (old.Length >= count) return;
            var grown = new Worker[count];
            Array.Copy(old, grown, old.Length);
            for (int w = old.Length; w < count; w++) grown[w] = new Worker(w + 1);
            Volatile.Write(ref s_workers, grown);
        }
    }

    /// <summary>A helper's pass: joins every open job that has room for another helper and runs its parts, until a
    /// pass finds nothing to do.</summary>
    private static void HelpAll()
    {
        t_inPart = true;
        try
        {
            bool ran = true;
            while (ran)
            {
                ran = false;
                foreach (var s in s_slots) ran |= s.Help();
            }
        }
        finally { t_inPart = false; }
    }

    private sealed class Worker
    {
        private readonly SemaphoreSlim _wake = new(0);
        private int _posted, _seen, _sleeping;
        private int _idle = 1;   // 1: waiting for work and not reserved by a post

        /// <summary>Reserves this helper for one post if it is idle.</summary>
        internal bool TryReserve() => Interlocked.CompareExchange(ref _idle, 0, 1) == 1;

        internal Worker(int index)
        {
            var t = new Thread(Loop) { IsBackground = true, Name = $"ActorTrainer.Gemm.{index}" };
            t.Start();
        }

        /// <summary>Signals work to this helper; wakes it if it is blocked.</summary>
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
                _seen = Volatile.Read(ref _posted);
                Volatile.Write(ref _idle, 0);
                HelpAll();
                Volatile.Write(ref _idle, 1);
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
