using Microsoft.Data.Sqlite;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>`serve` when its job store (serve.database) cannot be written while a job runs: it must not run on with a
/// job state it cannot record (before, the job showed running forever and its slot stayed taken).</summary>
public class ServiceStoreTests
{
    [Fact]
    public void Job_store_that_cannot_record_a_job_ending_stops_the_service_naming_the_database_and_the_restart_records_it()
    {
        using var t = new TempDir();
        var db = Path.Combine(t["runs"], "jobs.db");
        string id;
        using (var d = new ServiceDaemon(t["runs"], null, null, "serve.database-lock-timeout=2s"))
        {
            // a job of ~3 s of training: the lock below must come before it ends (a 2-epoch job of 3000 samples, ~0.1 s
            // of training, once ended between the poll that saw it running and the lock)
            id = d.Submit(ServiceRuns.Long);
            d.WaitFor(id, j => j["state"]!.GetValue<string>() == "running" && j["pid"] is not null, 300, "running");
            // Another process holds the database's write lock (as a full disk or a read-only file, every write fails;
            // the daemon's wait for the lock ends after serve.database-lock-timeout: 2 s here, 30 s by default).
            using var holder = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = db, Pooling = false }.ToString());
            holder.Open();
            using (var begin = holder.CreateCommand()) { begin.CommandText = "BEGIN EXCLUSIVE;"; begin.ExecuteNonQuery(); }
            Assert.Equal("running", d.Job(id)["state"]!.GetValue<string>());   // the lock came before the job ended
            var code = d.WaitForExit(300, "after its job store could not record the end of a job");
            Assert.True(code == 74, $"exit {code}\n{d.Output}");
            Assert.Contains($"error: serve.database '{db}': cannot write the job store: ", d.Output);
            Assert.Contains("database is locked", d.Output);
            using (var rollback = holder.CreateCommand()) { rollback.CommandText = "ROLLBACK;"; rollback.ExecuteNonQuery(); }
        }
        using var again = new ServiceDaemon(t["runs"]);                 // the store can be written again
        var done = again.WaitFor(id, j => j["state"]!.GetValue<string>() is "succeeded" or "failed" or "cancelled", 300, "done");
        Assert.True(done["state"]!.GetValue<string>() == "succeeded", done.ToJsonString() + "\n" + again.Output);
        Assert.Equal(1, done["attempts"]!.GetValue<int>());               // the finished run was recorded, not run again
    }

    [Theory]
    [InlineData("0s")]
    [InlineData("500ms")]
    [InlineData("2h")]
    [InlineData("soon")]
    public void A_database_lock_timeout_that_is_not_whole_seconds_from_1s_to_1h_is_refused_naming_the_key(string value)
    {
        using var t = new TempDir();
        var r = Cli.Run(["serve", "--set", $"serve.port={ServiceDaemon.FreePort()}", "--set", $"serve.runs-root={t["runs"]}",
                         "--set", $"serve.database-lock-timeout={value}"], 60);
        Cli.AssertBadInput(r, "serve.database-lock-timeout", value);
        Assert.False(File.Exists(Path.Combine(t["runs"], "jobs.db")), "refused before the job store is opened");
    }
}
