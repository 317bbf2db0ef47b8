namespace ActorTrainer.Runtime;

/// <summary>How a run uses the cores: Workers gradient workers, each running its GEMMs on ThreadsPerWorker threads.
/// The rule (trainer.workers = auto): sync mode — one worker per shard up to the cores,
/// workers = min(cores, shards-per-batch), and the cores shared among them, threads = max(1, cores / workers);
/// async mode — one single-threaded worker per core (whole batches, no shards). An explicit trainer.workers keeps
/// threads = max(1, cores / workers) (0 = one worker per core); an explicit trainer.threads-per-worker overrides
/// the threads. The layout never changes shards-per-batch, so it never changes the results.</summary>
/// <param name="Workers">Gradient workers.</param>
/// <param name="ThreadsPerWorker">GEMM threads of each worker.</param>
public readonly record struct WorkerLayout(int Workers, int ThreadsPerWorker)
{
    /// <summary>The layout for `cores` cores and the configured workers (−1 auto, 0 = cores, n), threads per worker
    /// (0 = auto), shards per batch and mode.</summary>
    public static WorkerLayout Choose(int cores, int workers, int threadsPerWorker, int shardsPerBatch, bool async)
    {
        cores = Math.Max(1, cores);
        int w = workers switch
        {
            RuntimeOptions.AutoWorkers => async ? cores : Math.Clamp(shardsPerBatch, 1, cores),
            0 => cores,
            _ => workers,
        };
        int t = threadsPerWorker > 0 ? threadsPerWorker
            : workers == RuntimeOptions.AutoWorkers && async ? 1 : Math.Max(1, cores / w);
        return new WorkerLayout(w, t);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Workers} worker{(Workers == 1 ? "" : "s")} x {ThreadsPerWorker} thread{(ThreadsPerWorker == 1 ? "" : "s")}";
}
