using System.Net;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A refused `serve` start leaves the disk as it found it. Before, a start refused for a port in use had
/// created the runs root, its serve.lock and the job store (jobs.db, jobs.db.lock) all the same, and one given a
/// serve.database that is not a job store (an SQLite database of something else) added its table to that file and
/// switched it to WAL, or failed with SQLite's own words ("no such column: id").</summary>
public class ServeStartRefusalTests
{
    private static CliResult Serve(int port, string runsRoot, params string[] sets) =>
        Cli.Run(["serve", "--set", $"serve.port={port}", "--set", $"serve.runs-root={runsRoot}",
                 .. sets.SelectMany(s => new[] { "--set", s })], 60);

    private static TcpListener Occupy()
    {
        var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        return busy;
    }

    private static int PortOf(TcpListener l) => ((IPEndPoint)l.LocalEndpoint).Port;

    [Fact]
    public void Serve_refused_for_a_port_in_use_removes_the_runs_root_and_job_store_it_created()
    {
        using var t = new TempDir();
        var busy = Occupy();
        try
        {
            var runs = Path.Combine(t["new"], "runs");                 // neither folder exists yet
            var db = Path.Combine(t["store"], "sub", "jobs.db");       // nor the database's folders
            var r = Serve(PortOf(busy), runs, $"serve.database={db}");
            Cli.AssertBadInput(r, $"serve.address:serve.port = 127.0.0.1:{PortOf(busy)}: cannot listen");
            Assert.False(Directory.Exists(t["new"]), $"the refused start left {t["new"]}: {Listing(t["new"])}");
            Assert.False(Directory.Exists(t["store"]), $"the refused start left {t["store"]}: {Listing(t["store"])}");

            // A runs root that was there stays, with what it held; only what the start created goes.
            Directory.CreateDirectory(t["mine"]);
            File.WriteAllText(Path.Combine(t["mine"], "notes.txt"), "mine");
            var again = Serve(PortOf(busy), t["mine"]);
            Cli.AssertBadInput(again, "cannot listen");
            Assert.Equal(["notes.txt"], Directory.EnumerateFileSystemEntries(t["mine"]).Select(p => Path.GetFileName(p)!).ToArray());
        }
        finally
        {
            busy.Stop();
        }
    }

    [Fact]
    public void Serve_refused_for_a_port_in_use_leaves_the_queued_jobs_of_its_job_store_as_they_were()
    {
        using var t = new TempDir();
        Directory.CreateDirectory(t["runs"]);
        var db = Path.Combine(t["runs"], "jobs.db");
        var runDir = Path.Combine(t["runs"], "j20261204-100000-aaaaaa");
        Sql(db, $"""
            PRAGMA journal_mode = WAL;
            CREATE TABLE jobs (id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, state TEXT NOT NULL, created_at TEXT NOT NULL,
              started_at TEXT, finished_at TEXT, config TEXT NOT NULL, run_dir TEXT NOT NULL, pid INTEGER, pid_start INTEGER,
              exit_code INTEGER, error TEXT, resume INTEGER NOT NULL DEFAULT 0, cancel_requested INTEGER NOT NULL DEFAULT 0,
              attempts INTEGER NOT NULL DEFAULT 0, queue_seq INTEGER);
            INSERT INTO jobs (id, seq, state, created_at, config, run_dir, queue_seq)
              VALUES ('j20261204-100000-aaaaaa', 1, 'queued', '2026-12-04T10:00:00Z', 'trainer.epochs = 1', '{runDir}', 1);
            """);
        var busy = Occupy();
        try
        {
            Cli.AssertBadInput(Serve(PortOf(busy), t["runs"]), "cannot listen");
        }
        finally
        {
            busy.Stop();
        }
        // before, the job runner started before Kestrel bound: it claimed the job (running, attempt 1) and started its trainer
        Assert.Equal("queued|0", Sql(db, "SELECT state || '|' || attempts FROM jobs"));
        Assert.False(Directory.Exists(runDir), "the refused start began the queued job");
        Assert.False(File.Exists(Path.Combine(t["runs"], "serve.lock")), "the refused start left its serve.lock");
    }

    [Theory]
    [InlineData("text", "not an SQLite database")]
    [InlineData("other-tables", "an SQLite database with other tables (notes)")]
    [InlineData("other-jobs-table", "its table 'jobs' lacks the columns id, seq, state")]
    public void Serve_refuses_a_database_that_is_not_a_job_store_naming_the_key_and_leaves_it_unchanged(string kind, string says)
    {
        using var t = new TempDir();
        var db = t["foreign.db"];
        if (kind == "text") File.WriteAllText(db, "these are my notes, not a database\n");
        else Sql(db, kind == "other-tables" ? "CREATE TABLE notes (a TEXT); INSERT INTO notes VALUES ('x');"
                                            : "CREATE TABLE jobs (name TEXT, size INTEGER); INSERT INTO jobs VALUES ('x', 1);");
        var before = File.ReadAllBytes(db);
        var r = Serve(ServiceDaemon.FreePort(), t["runs"], $"serve.database={db}");
        var err = Cli.AssertBadInput(r, $"serve.database '{db}' is not a job store", says, "it was left as it is");
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));      // one line
        Assert.DoesNotContain("serving on", r.Stdout);
        Assert.Equal(before, File.ReadAllBytes(db));
        Assert.Equal(["foreign.db"], Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(db)!).Select(p => Path.GetFileName(p)!).ToArray());
    }

    private static string Sql(string db, string sql)
    {
        using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Pooling = false }.ToString());
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar()?.ToString() ?? "";
    }

    private static string Listing(string dir) =>
        Directory.Exists(dir) ? string.Join(", ", Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories)) : "";
}
