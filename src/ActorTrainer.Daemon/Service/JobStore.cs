using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace ActorTrainer.Daemon.Service;

/// <summary>
/// The durable job store: one SQLite table in WAL mode with synchronous = FULL, so a change is on disk before the
/// call returns (a job survives <c>kill -9</c> of the daemon once POST /jobs answered). Reads are served from an
/// in-memory copy that every write updates after the database commit.
/// </summary>
public sealed class JobStore : IDisposable
{
    private readonly SqliteConnection _db;
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, JobRecord> _jobs = new(StringComparer.Ordinal);
    private long _nextSeq;
    private long _nextQueueSeq;

    /// <summary>Opens (creating if needed) the database at <paramref name="path"/> and loads every job; a write waits up
    /// to <paramref name="lockTimeout"/> (whole seconds; default 30 s) for a lock another process holds before it fails.
    /// A file that is not a job store nor a new database is refused unchanged (<see cref="JobStoreFormatException"/>).</summary>
    public JobStore(string path, TimeSpan lockTimeout = default)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        Path = path;
        int seconds = lockTimeout == default ? 30 : (int)Math.Max(1, Math.Ceiling(lockTimeout.TotalSeconds));
        _db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, DefaultTimeout = seconds }.ToString());
        _db.Open();
        try { JobStoreSchema.Check(_db, path); }          // before anything is written to it
        catch { _db.Dispose(); throw; }
        Exec("PRAGMA journal_mode = WAL;");
        Exec("PRAGMA synchronous = FULL;");
        Exec("""
             CREATE TABLE IF NOT EXISTS jobs (
               id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, state TEXT NOT NULL, created_at TEXT NOT NULL,
               started_at TEXT, finished_at TEXT, config TEXT NOT NULL, run_dir TEXT NOT NULL, pid INTEGER,
               pid_start INTEGER, exit_code INTEGER, error TEXT, resume INTEGER NOT NULL DEFAULT 0,
               cancel_requested INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, queue_seq INTEGER);
             """);
        AddQueueSeqColumn();
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT id, seq, state, created_at, started_at, finished_at, config, run_dir, pid, pid_start, exit_code, error, resume, cancel_requested, attempts, COALESCE(queue_seq, seq) FROM jobs";
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var job = new JobRecord(r.GetString(0), r.GetInt64(1), r.GetString(2), Time(r.GetString(3)),
                r.IsDBNull(4) ? null : Time(r.GetString(4)), r.IsDBNull(5) ? null : Time(r.GetString(5)), r.GetString(6),
                r.GetString(7), r.IsDBNull(8) ? null : r.GetInt32(8), r.IsDBNull(9) ? null : r.GetInt64(9),
                r.IsDBNull(10) ? null : r.GetInt32(10), r.IsDBNull(11) ? null : r.GetString(11), r.GetInt64(12) != 0,
                r.GetInt64(13) != 0, r.GetInt32(14), r.GetInt64(15));
            _jobs[job.Id] = job;
            _nextSeq = Math.Max(_nextSeq, job.Seq);
            _nextQueueSeq = Math.Max(_nextQueueSeq, Math.Max(job.Seq, job.QueueSeq));
        }
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>Every job in submission order.</summary>
    public IReadOnlyList<JobRecord> All() => _jobs.Values.OrderBy(j => j.Seq).ToList();

    /// <summary>The job with this id, or null.</summary>
    public JobRecord? Get(string id) => _jobs.GetValueOrDefault(id);

    /// <summary>Inserts a new queued job durably; returns it.</summary>
    public JobRecord Insert(string id, string config, string runDir)
    {
        lock (_gate)
        {
            var job = new JobRecord(id, ++_nextSeq, JobStates.Queued, DateTimeOffset.UtcNow, null, null, config, runDir,
                                    null, null, null, null, false, false, 0, ++_nextQueueSeq);
            using var cmd = _db.CreateCommand();
            cmd.CommandText = "INSERT INTO jobs (id, seq, state, created_at, config, run_dir, queue_seq) VALUES ($id, $seq, $state, $created, $config, $run_dir, $queue_seq)";
            cmd.Parameters.AddWithValue("$queue_seq", job.QueueSeq);
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$seq", job.Seq);
            cmd.Parameters.AddWithValue("$state", job.State);
            cmd.Parameters.AddWithValue("$created", Text(job.CreatedAt));
            cmd.Parameters.AddWithValue("$config", config);
            cmd.Parameters.AddWithValue("$run_dir", runDir);
            Write(cmd);
            _jobs[id] = job;
            return job;
        }
    }

    /// <summary>Applies <paramref name="change"/> to the current record and writes every mutable column; returns
    /// the new record, or null when the job does not exist or <paramref name="change"/> returned null (no change).</summary>
    public JobRecord? Update(string id, Func<JobRecord, JobRecord?> change)
    {
        lock (_gate)
        {
            if (!_jobs.TryGetValue(id, out var old)) return null;
            var job = change(old);
            if (job is null) return null;
            using var cmd = _db.CreateCommand();
            cmd.CommandText = """
                UPDATE jobs SET state = $state, started_at = $started, finished_at = $finished, pid = $pid,
                  pid_start = $pid_start, exit_code = $exit, error = $error, resume = $resume,
                  cancel_requested = $cancel, attempts = $attempts, queue_seq = $queue_seq WHERE id = $id
                """;
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$state", job.State);
            cmd.Parameters.AddWithValue("$started", (object?)(job.StartedAt is { } s ? Text(s) : null) ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$finished", (object?)(job.FinishedAt is { } f ? Text(f) : null) ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$pid", (object?)job.Pid ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$pid_start", (object?)job.PidStart ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$exit", (object?)job.ExitCode ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$error", (object?)job.Error ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$resume", job.Resume ? 1 : 0);
            cmd.Parameters.AddWithValue("$cancel", job.CancelRequested ? 1 : 0);
            cmd.Parameters.AddWithValue("$attempts", job.Attempts);
            cmd.Parameters.AddWithValue("$queue_seq", job.QueueSeq);
            Write(cmd);
            _jobs[id] = job;
            return job;
        }
    }

    /// <summary>A place at the back of the queue, behind every job queued so far (for a resumed job; used inside an
    /// <see cref="Update"/> change).</summary>
    public long BackOfQueue() { lock (_gate) return ++_nextQueueSeq; }

    /// <summary>Queued jobs in queue order: the order the runner starts them.</summary>
    public IReadOnlyList<JobRecord> Queue() =>
        _jobs.Values.Where(j => j.State == JobStates.Queued).OrderBy(j => j.QueueSeq).ThenBy(j => j.Seq).ToList();

    /// <summary>Each queued job's place in the queue: 1 for the one that starts next.</summary>
    public IReadOnlyDictionary<string, int?> QueuePositions() =>
        Queue().Select((j, i) => (j.Id, i + 1)).ToDictionary(p => p.Id, p => (int?)p.Item2, StringComparer.Ordinal);

    /// <summary>A job store written before queue_seq existed gains the column (NULL: the job's seq).</summary>
    private void AddQueueSeqColumn()
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = 'queue_seq'";
        if (Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) == 0) Exec("ALTER TABLE jobs ADD COLUMN queue_seq INTEGER;");
    }

    /// <summary>Runs a change; a failure (a full disk, a read-only file, a lock held longer than the command timeout)
    /// is a <see cref="JobStoreException"/> naming the database. The in-memory copy is updated only after it.</summary>
    private void Write(SqliteCommand cmd)
    {
        try
        {
            cmd.ExecuteNonQuery();
        }
        catch (SqliteException e)
        {
            throw new JobStoreException($"serve.database '{Path}': cannot write the job store: {e.Message.TrimEnd('.')}", e);
        }
    }

    private void Exec(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static string Text(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset Time(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    /// <summary>Closes the database.</summary>
    public void Dispose() => _db.Dispose();
}

/// <summary>A change could not be written to the job store (serve.database); the message names the file.</summary>
public sealed class JobStoreException(string message, Exception inner) : IOException(message, inner);
