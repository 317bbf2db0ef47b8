using System.Text.Json.Nodes;
using ActorTrainer.Daemon.Service;
using Microsoft.Data.Sqlite;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Queue order of a resumed job: `POST /jobs/{id}/resume` queues it at the back, behind the jobs queued while it
/// was cancelled or failed, as a new submission would be (a batch queue's requeue). Before, it kept the place of its
/// first submission and overtook them. A job interrupted by a restart keeps its place. A queued job shows its place
/// (queue_position), since GET /jobs lists jobs in submission order.</summary>
public class ServiceQueueOrderTests
{
    [Fact]
    public async Task Resumed_job_queues_behind_the_jobs_submitted_while_it_was_cancelled()
    {
        using var t = new TempDir();
        using var d = new ServiceDaemon(t["runs"]);                  // one job at a time (the default)
        var busy = d.Submit(ServiceRuns.Long);
        d.WaitFor(busy, j => j["state"]!.GetValue<string>() == "running", 300, "running");
        var small = new Dictionary<string, string>(ServiceRuns.Small) { ["trainer.epochs"] = "1" };
        var first = d.Submit(small);
        using (var cancel = await d.Http.PostAsync($"jobs/{first}/cancel", null)) Assert.Equal(202, (int)cancel.StatusCode);
        var second = d.Submit(small);
        using (var resume = await d.Http.PostAsync($"jobs/{first}/resume", null)) Assert.Equal(202, (int)resume.StatusCode);
        Assert.Equal("running", d.Job(busy)["state"]!.GetValue<string>());   // both waited behind it
        // where each one stands (1 = starts next), in GET /jobs/{id} and GET /jobs; `logs` says why it shows nothing
        Assert.Equal(1, d.Job(second)["queue_position"]?.GetValue<int>());
        Assert.Equal(2, d.Job(first)["queue_position"]?.GetValue<int>());
        Assert.Null(d.Job(busy)["queue_position"]);
        var listed = JsonNode.Parse(await d.Http.GetStringAsync("jobs"))!.AsArray();
        Assert.Equal([null, 2, 1], listed.Select(j => j!["queue_position"]?.GetValue<int>()));
        var logs = Cli.Run(["logs", first, "--server", d.Url]);
        Assert.True(logs.ExitCode == 0 && logs.Stdout.Length == 0, logs.Describe());
        Assert.Contains($"job {first} is queued and has no train.log yet (place 2 in the queue)", logs.Stderr);

        var a = d.WaitFor(first, j => j["state"]!.GetValue<string>() == "succeeded", 600, "succeeded");
        var b = d.WaitFor(second, j => j["state"]!.GetValue<string>() == "succeeded", 600, "succeeded");
        var resumedStart = a["started_at"]!.GetValue<DateTimeOffset>();
        var secondEnd = b["finished_at"]!.GetValue<DateTimeOffset>();
        Assert.True(resumedStart >= secondEnd, $"the resumed job {first} started at {resumedStart:O}, before {second} (submitted while it was cancelled) finished at {secondEnd:O}");
    }

    [Fact]
    public void Job_store_from_before_queue_places_opens_with_each_job_in_its_submission_place()
    {
        using var t = new TempDir();
        var db = t["jobs.db"];
        using (var old = new SqliteConnection($"Data Source={db};Pooling=False"))
        {
            old.Open();
            using var cmd = old.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE jobs (id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, state TEXT NOT NULL, created_at TEXT NOT NULL,
                  started_at TEXT, finished_at TEXT, config TEXT NOT NULL, run_dir TEXT NOT NULL, pid INTEGER, pid_start INTEGER,
                  exit_code INTEGER, error TEXT, resume INTEGER NOT NULL DEFAULT 0, cancel_requested INTEGER NOT NULL DEFAULT 0,
                  attempts INTEGER NOT NULL DEFAULT 0);
                INSERT INTO jobs (id, seq, state, created_at, config, run_dir) VALUES
                  ('j20261204-100000-aaaaaa', 1, 'queued', '2026-12-04T10:00:00Z', 'c', '/r/a'),
                  ('j20261204-100001-bbbbbb', 2, 'queued', '2026-12-04T10:00:01Z', 'c', '/r/b');
                """;
            cmd.ExecuteNonQuery();
        }
        using var store = new JobStore(db);
        Assert.Equal(["j20261204-100000-aaaaaa", "j20261204-100001-bbbbbb"], store.Queue().Select(j => j.Id));
        var c = store.Insert("j20261204-100002-cccccc", "c", "/r/c");
        Assert.Equal(3, c.QueueSeq);
        store.Update("j20261204-100000-aaaaaa", j => j with { QueueSeq = store.BackOfQueue() });
        Assert.Equal(["j20261204-100001-bbbbbb", "j20261204-100002-cccccc", "j20261204-100000-aaaaaa"], store.Queue().Select(j => j.Id));
    }
}
