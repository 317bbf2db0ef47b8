namespace ActorTrainer.Kernels;

/// <summary>Work split into parts over disjoint data (part p of n touches only its own share), so the result does not
/// depend on which thread runs which part.</summary>
public interface IPartitionedWork
{
    /// <summary>Runs part `part` of `parts` (0 ≤ part &lt; parts).</summary>
    void Run(int part, int parts);
}

/// <summary>Runs partitioned element-wise work (an optimizer update over 400 k parameters) on the calling thread and the
/// GEMM kernels' persistent worker threads: no allocation, no thread-pool hop. While another thread's GEMM holds the
/// workers, every part runs on the calling thread.</summary>
public static class KernelThreads
{
    private sealed class Job : IParallelJob
    {
        public IPartitionedWork? Work;
        public int Parts;
        public void Run(int part) => Work!.Run(part, Parts);
    }

    [ThreadStatic] private static Job? t_job;

    /// <summary>Runs parts 0..parts−1 of `work` and returns when all are done; at most
    /// <see cref="KernelSettings.MaxDegreeOfParallelism"/> threads (of the calling thread's scope) run at once. The first
    /// failure of a part is rethrown.</summary>
    public static void Run(IPartitionedWork work, int parts)
    {
        ArgumentNullException.ThrowIfNull(work);
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        var job = t_job ??= new Job();
        job.Work = work;
        job.Parts = parts;
        try
        {
            if (GemmWorkers.TryRun(job, parts, KernelSettings.MaxDegreeOfParallelism)) return;
        }
        finally { job.Work = null; }
        for (int p = 0; p < parts; p++) work.Run(p, parts);
    }
}
