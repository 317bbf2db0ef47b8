using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using ActorTrainer.Daemon.Output;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorTrainer.Daemon.Service;

/// <summary>
/// Runs queued jobs first-in first-out (<see cref="JobStore.Queue"/>), at most serve.max-concurrent-jobs at a time, each as a <c>train</c> child
/// process (a crashing job cannot take the service down). On start it takes over the jobs a previous daemon left
/// running: a trainer still alive is stopped with SIGTERM (it checkpoints), and the job resumes from its newest
/// checkpoint. On shutdown every child gets SIGTERM and its job resumes on the next start. A change the job store
/// cannot record stops the service the same way (see <see cref="StoreFailure"/>).
/// </summary>
public sealed class JobRunner(JobStore store, JobProgressBook progress, ServeOptions options, IHostApplicationLifetime lifetime,
                              ILogger<JobRunner> log) : BackgroundService
{
    private readonly ConcurrentDictionary<string, Process> _children = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0);
    private readonly object _startGate = new();       // a trainer starts wholly before StopAsync looks, or not at all
    private volatile bool _stopping;
    private JobStoreException? _storeFailure;

    /// <summary>The first change the job store could not write, or null. The service then stops as on SIGTERM (its
    /// trainers checkpoint; the store still says running, so their jobs resume on the next start) and exits 74,
    /// rather than run on with job states it can no longer record.</summary>
    public JobStoreException? StoreFailure => Volatile.Read(ref _storeFailure);

    /// <summary>Records a failed job store write (the first one is logged) and stops the service.</summary>
    public void OnStoreFailure(JobStoreException e)
    {
        if (Interlocked.CompareExchange(ref _storeFailure, e, null) is not null) return;
        log.LogCritical("{Error}; stopping the service (its trainers checkpoint, and their jobs resume on the next start)", e.Message);
        lifetime.StopApplication();
    }

    /// <summary><see cref="JobStore.Update"/>, or null (and the service stopping) when the store cannot write.</summary>
    private JobRecord? Write(string id, Func<JobRecord, JobRecord?> change)
    {
        try { return store.Update(id, change); }
        catch (JobStoreException e) { OnStoreFailure(e); return null; }
    }

    /// <summary>Number of trainer processes running now.</summary>
    public int Running => _children.Count;

    /// <summary>Wakes the dispatcher (a job was queued or finished).</summary>
    public void Wake() { if (_wake.CurrentCount == 0) _wake.Release(); }

    /// <summary>Takes over and starts jobs only once the service listens: hosted services start before Kestrel binds,
    /// and a start refused then (a port in use) must leave every job as it was, with no trainer started.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => listening.TrySetResult()))
        using (stoppingToken.Register(() => listening.TrySetCanceled()))
        {
            try { await listening.Task; }
            catch (OperationCanceledException) { return; }
        }
        await RecoverAsync();
        while (!stoppingToken.IsCancellationRequested)
        {
            Dispatch();
            foreach (var id in _children.Keys)
                if (store.Get(id) is { } job) progress.For(job).Poll();
            try { await _wake.WaitAsync(TimeSpan.FromMilliseconds(500), stoppingToken); }
            catch (OperationCanceledException) { break; }
        }
    }

    /// <summary>Takes over the jobs a previous daemon left in state running.</summary>
    private async Task RecoverAsync()
    {
        foreach (var job in store.All().Where(j => j.State == JobStates.Running))
        {
            if (StoreFailure is not null) return;          // the service is stopping; the next start takes over
            if (job.Pid is { } pid && job.PidStart is { } start && TrainerProcess.IsAlive(pid, start))
            {
                log.LogWarning("job {Id}: trainer {Pid} outlived the previous daemon; stopping it with SIGTERM to resume from its checkpoint", job.Id, pid);
                await TrainerProcess.StopOrphanAsync(pid, start, options.StopTimeout);
            }
            var summary = ReadSummary(job.RunDir);
            if (summary is { Interrupted: false })
                Write(job.Id, j => j with { State = JobStates.Succeeded, FinishedAt = DateTimeOffset.UtcNow, Pid = null, ExitCode = 0 });
            else if (job.CancelRequested)
                Write(job.Id, j => j with { State = JobStates.Cancelled, FinishedAt = DateTimeOffset.UtcNow, Pid = null, Resume = true });
            else
            {
                log.LogInformation("job {Id}: resuming after a daemon restart", job.Id);
                Write(job.Id, j => j with { State = JobStates.Queued, Pid = null, PidStart = null, Resume = true });
            }
        }
    }

    /// <summary>Starts the oldest queued jobs while fewer than serve.max-concurrent-jobs run. Under the start gate, so
    /// that a stop that begins meanwhile finds the trainer it starts among the children (a trainer spawned after
    /// StopAsync took its list got no SIGTERM: it outlived the service, or held its stop for serve.stop-timeout).</summary>
    private void Dispatch()
    {
        lock (_startGate)
        {
            foreach (var job in store.Queue())
            {
                if (_stopping || StoreFailure is not null || _children.Count >= options.MaxConcurrentJobs) return;
                try { StartJob(job); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    log.LogError("job {Id}: could not start the trainer: {Error}", job.Id, e.Message);
                    Write(job.Id, j => j with { State = JobStates.Failed, FinishedAt = DateTimeOffset.UtcNow, Error = "could not start the trainer: " + e.Message });
                }
            }
        }
    }

    private void StartJob(JobRecord job)
    {
        // Claim the job first, so a cancel that raced with this dispatch is not overwritten.
        var claimed = Write(job.Id, j => j.State != JobStates.Queued ? null : j with
        {
            State = JobStates.Running, StartedAt = DateTimeOffset.UtcNow, Pid = null, PidStart = null,
            ExitCode = null, Error = null, Attempts = j.Attempts + 1,
        });
        if (claimed is null) return;
        Directory.CreateDirectory(job.RunDir);
        var resume = job.Resume && JobResumability.HasCheckpoint(job.RunDir);
        if (!resume) RunFiles.WriteText(Path.Combine(job.RunDir, TrainerProcess.ConfigFile), job.Config);
        var child = TrainerProcess.Start(job.RunDir, resume);
        _children[job.Id] = child;
        var start = TrainerProcess.StartTime(child.Id);
        var now = Write(job.Id, j => j with { Pid = child.Id, PidStart = start });
        if (now is { CancelRequested: true }) TrainerProcess.Terminate(child.Id);          // cancelled while it was starting
        log.LogInformation("job {Id}: started trainer {Pid}{Resume} in {RunDir}", job.Id, child.Id, resume ? " (resuming)" : "", job.RunDir);
        _ = Task.Run(async () =>
        {
            await child.WaitForExitAsync();
            OnExit(job.Id, child);
        });
    }

    private void OnExit(string id, Process child)
    {
        var code = child.ExitCode;
        child.Dispose();
        try
        {
            var job = store.Get(id)!;
            progress.For(job).Poll();
            var summary = ReadSummary(job.RunDir);
            if (Write(id, j => Classify(j, code, summary)) is not { } now)
                log.LogError("job {Id}: trainer exited with code {Code}; the job store cannot record it (the next start will)", id, code);
            else
                log.LogInformation("job {Id}: trainer exited with code {Code}; job {State}", id, code, now.State);
        }
        finally
        {
            _children.TryRemove(id, out _);      // whatever happened above: a stopping service must not wait for it
            Wake();
        }
    }

    private JobRecord Classify(JobRecord j, int code, RunSummary? summary)
    {
        var done = DateTimeOffset.UtcNow;
        if (code == 0 && summary is { Interrupted: false })
            return j with { State = JobStates.Succeeded, FinishedAt = done, ExitCode = 0, Pid = null, Resume = false };
        if (j.CancelRequested)
            return j with { State = JobStates.Cancelled, FinishedAt = done, ExitCode = code, Pid = null, Resume = true };
        var stopped = code == 0 && summary is { Interrupted: true } || code is 128 + 15 or 128 + 9;
        if (stopped && _stopping)
            return j with { ExitCode = code, Resume = true };                 // resumes on the next start
        if (code == 0 && summary is { Interrupted: true })
            return j with { State = JobStates.Queued, ExitCode = code, Pid = null, Resume = true };   // SIGTERM from outside
        var error = progress.For(j).LastError ?? $"the trainer exited with code {code}; see {TrainerProcess.LogFile} in the run directory";
        if (code == 0) error = "the trainer exited without writing summary.json";
        return j with { State = JobStates.Failed, FinishedAt = done, ExitCode = code, Pid = null, Error = error };
    }

    /// <summary>Cancels a job: a queued one at once, a running one with SIGTERM (checkpoint, then state cancelled;
    /// killed after serve.stop-timeout). Returns the updated record, or null when the job does not exist.</summary>
    public JobRecord? Cancel(string id)
    {
        var job = store.Update(id, j => j.State switch
        {
            JobStates.Queued => j with { State = JobStates.Cancelled, FinishedAt = DateTimeOffset.UtcNow, CancelRequested = true },
            JobStates.Running => j with { CancelRequested = true },
            _ => j,
        });
        if (job is { State: JobStates.Running } && _children.TryGetValue(id, out var child))
        {
            var pid = child.Id;
            TrainerProcess.Terminate(pid);
            _ = Task.Run(async () =>
            {
                await Task.Delay(options.StopTimeout);
                if (_children.TryGetValue(id, out var c) && c.Id == pid) TrainerProcess.ForceKill(pid);
            });
        }
        return job;
    }

    /// <summary>Queues a cancelled or failed job again, at the back of the queue (behind every job queued meanwhile, as a
    /// new submission; a job interrupted by a restart keeps its place instead); it continues from its newest
    /// checkpoint (<see cref="JobResumability"/>). Returns the updated record, unchanged with <paramref name="refused"/>
    /// saying why when it cannot be resumed, or null when it does not exist.</summary>
    public JobRecord? Resume(string id, out string? refused)
    {
        string? why = null;
        var job = store.Update(id, j => (why = JobResumability.WhyNot(j)) is null
            ? j with { State = JobStates.Queued, FinishedAt = null, CancelRequested = false, Resume = true, Error = null, QueueSeq = store.BackOfQueue() }
            : j);
        refused = why;
        Wake();
        return job;
    }

    /// <summary>SIGTERMs every child and waits (up to serve.stop-timeout) for their checkpoints; their jobs stay
    /// running in the store and resume on the next start.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        KeyValuePair<string, Process>[] children;
        lock (_startGate)                                 // waits for a trainer being started (one store write and a spawn)
        {
            _stopping = true;
            children = _children.ToArray();
        }
        foreach (var (_, c) in children) TrainerProcess.Terminate(c.Id);
        var deadline = DateTime.UtcNow + options.StopTimeout;
        while (!_children.IsEmpty && DateTime.UtcNow < deadline) await Task.Delay(100, CancellationToken.None);
        foreach (var (_, c) in _children.ToArray()) TrainerProcess.ForceKill(c.Id);
        await base.StopAsync(cancellationToken);
    }

    /// <summary>The fields of a run's summary.json the runner needs.</summary>
    public sealed record RunSummary(bool Interrupted);

    /// <summary>Reads summary.json of a run directory, or null when it is missing or unreadable.</summary>
    public static RunSummary? ReadSummary(string runDir)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(runDir, "summary.json")));
            return new RunSummary(doc.RootElement.TryGetProperty("interrupted", out var i) && i.ValueKind == JsonValueKind.True);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
