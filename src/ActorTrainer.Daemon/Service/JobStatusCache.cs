using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ActorTrainer.Daemon.Service;

/// <summary>
/// The serialized body of <c>GET /jobs/{id}</c> per job, so that many clients polling a job cost one view build
/// and one serialization per <see cref="MaxAge"/> instead of one per request. An entry is rebuilt when it is older
/// than <see cref="MaxAge"/> (the progress read from train.log is at most that old anyway) or when the job's
/// record changed (the store replaces the record on every update, so a state change shows at once).
/// </summary>
public sealed class JobStatusCache(JobStore store, JobProgressBook progress, JsonSerializerOptions json)
{
    /// <summary>How long a cached body may be served while the job's record is unchanged.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMilliseconds(250);

    private sealed record Entry(JobRecord Job, long BuiltAt, byte[] Body);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly object _build = new();

    /// <summary>The UTF-8 JSON of <see cref="JobViews.View"/> (with summary) of <paramref name="job"/>, at most
    /// <see cref="MaxAge"/> old.</summary>
    public byte[] Body(JobRecord job)
    {
        if (Fresh(job) is { } body) return body;
        lock (_build)
        {
            // Of many clients that found the entry stale at once, only the first rebuilds it.
            if (Fresh(job) is { } again) return again;
            var built = JsonSerializer.SerializeToUtf8Bytes<JsonNode>(JobViews.View(job, progress.For(job), true, store.QueuePositions().GetValueOrDefault(job.Id)), json);
            _entries[job.Id] = new Entry(job, Environment.TickCount64, built);
            return built;
        }
    }

    private byte[]? Fresh(JobRecord job) =>
        _entries.TryGetValue(job.Id, out var e) && ReferenceEquals(e.Job, job) && Environment.TickCount64 - e.BuiltAt < MaxAge.TotalMilliseconds
            ? e.Body : null;
}
