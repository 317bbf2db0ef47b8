using Microsoft.Data.Sqlite;

namespace ActorTrainer.Daemon.Service;

/// <summary>Checks, before the job store writes anything (WAL mode, its table), that serve.database is a job store or
/// a new (empty) database: a text file, a corrupt database or an SQLite database of something else (other tables, or a
/// <c>jobs</c> table without the job store's columns) is refused with a <see cref="JobStoreFormatException"/> naming the
/// file, and left exactly as it was.</summary>
internal static class JobStoreSchema
{
    /// <summary>The columns every job store has had (queue_seq, added later, is added when missing).</summary>
    private static readonly string[] Columns =
    [
        "id", "seq", "state", "created_at", "started_at", "finished_at", "config", "run_dir", "pid", "pid_start",
        "exit_code", "error", "resume", "cancel_requested", "attempts",
    ];

    /// <summary>Throws <see cref="JobStoreFormatException"/> unless the open database <paramref name="db"/> at
    /// <paramref name="path"/> is empty or a job store. Only reads.</summary>
    public static void Check(SqliteConnection db, string path)
    {
        List<string> tables;
        try
        {
            tables = Strings(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 26 or 11)    // SQLITE_NOTADB, SQLITE_CORRUPT
        {
            throw new JobStoreFormatException($"serve.database '{path}' is not a job store: not an SQLite database, or a corrupt one " +
                                              $"({e.Message.TrimEnd('.')}); it was left as it is: point serve.database at a job store or a new file", e);
        }
        var others = tables.Where(t => t != "jobs").ToList();
        if (others.Count > 0)
            throw new JobStoreFormatException($"serve.database '{path}' is not a job store: an SQLite database with other tables " +
                                              $"({string.Join(", ", others)}); it was left as it is: point serve.database at a job store or a new file");
        if (tables.Count == 0) return;
        var have = Strings(db, "SELECT name FROM pragma_table_info('jobs')");
        var missing = Columns.Where(c => !have.Contains(c, StringComparer.OrdinalIgnoreCase)).ToList();
        if (missing.Count > 0)
            throw new JobStoreFormatException($"serve.database '{path}' is not a job store: its table 'jobs' lacks the columns " +
                                              $"{string.Join(", ", missing)}; it was left as it is: point serve.database at a job store or a new file");
    }

    private static List<string> Strings(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var list = new List<string>();
        while (r.Read()) list.Add(r.GetString(0));
        return list;
    }
}

/// <summary>serve.database is not a job store (nor a new database); the message names the file.</summary>
public sealed class JobStoreFormatException(string message, Exception? inner = null) : Exception(message, inner);
