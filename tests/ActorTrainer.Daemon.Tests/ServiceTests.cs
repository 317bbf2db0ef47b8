using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>`serve` as a real process: submit → run → succeed with the weights of `train`; events, files, metrics
/// and the client verbs; bad submissions → 400 naming the key; cancel → resumable; SIGKILL of the daemon mid-job →
/// restart → the job resumes and ends with the uninterrupted digest.</summary>
public class ServiceTests
{
    private static bool Is(JsonObject j, string state) => j["state"]!.GetValue<string>() == state;

    [Fact]
    public async Task Submitted_job_succeeds_with_the_weights_of_train_and_reports_events_files_and_metrics()
    {
        using var t = new TempDir();
        using var d = new ServiceDaemon(t["runs"]);
        var id = d.Submit(ServiceRuns.Small);
        var job = d.WaitFor(id, j => JobDone(j), 300, "done");
        Assert.True(Is(job, "succeeded"), job.ToJsonString() + "\n" + d.TrainLog(id));
        Assert.Equal(ServiceRuns.TrainDigest(ServiceRuns.Small), ServiceRuns.Digest(job));
        Assert.Equal(2, job["epoch"]!.GetValue<int>());
        Assert.Equal(2 * 24, job["step"]!.GetValue<long>());                       // 3000 / 128 → 24 steps per epoch
        Assert.InRange(job["metrics"]!["val_accuracy"]!.GetValue<double>(), 0.5, 1.0);
        Assert.Equal(Path.Combine(t["runs"], id), job["run_dir"]!.GetValue<string>());

        var events = await d.Http.GetStringAsync($"jobs/{id}/events");   // ends with the job
        Assert.Equal(2, CountOccurrences(events, "event: epoch\n"));
        Assert.Contains("event: test\n", events);
        Assert.EndsWith("event: end\ndata: {\"id\":\"" + id + "\",\"state\":\"succeeded\"}\n\n", events);

        var files = await d.Http.GetStringAsync($"jobs/{id}/files");
        Assert.Contains("\"summary.json\"", files);
        Assert.Contains("\"model/model.safetensors\"", files);
        var summary = JsonNode.Parse(await d.Http.GetStringAsync($"jobs/{id}/files/summary.json"))!;
        Assert.Equal(ServiceRuns.Digest(job), summary["weights_sha256"]!.GetValue<string>());
        using (var bad = await d.Http.GetAsync($"jobs/{id}/files/..%2Fjobs.db"))
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        using (var missing = await d.Http.GetAsync($"jobs/{id}/files/nothing.png"))
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        var metrics = await d.Http.GetStringAsync("metrics");
        Assert.Contains("actortrainer_jobs{state=\"succeeded\"} 1\n", metrics);
        var openApi = await d.Http.GetStringAsync("openapi/v1.json");
        Assert.Contains("\"/jobs/{id}/events\"", openApi);

        var list = Cli.Run(["jobs", "--server", d.Url]);
        Assert.True(list.ExitCode == 0, list.Describe());
        Assert.Contains(list.StdoutLines, l => l.StartsWith(id, StringComparison.Ordinal) && l.Contains("succeeded") && l.Contains("2/2"));
        var logs = Cli.Run(["logs", id, "-f", "--server", d.Url]);
        Assert.True(logs.ExitCode == 0, logs.Describe());
        Assert.Contains(logs.StdoutLines, l => l.StartsWith("epoch 2/2 loss ", StringComparison.Ordinal));
        Assert.Contains(logs.StdoutLines, l => RunDir.TestLine.IsMatch(l));
        var plain = Cli.Run(["logs", id, "--server", d.Url]);                      // the whole log at once: the same lines
        Assert.Contains(plain.StdoutLines, l => l.StartsWith("epoch 2/2 loss ", StringComparison.Ordinal));
        Assert.DoesNotContain(plain.StdoutLines, l => l.StartsWith('{'));
        Cli.AssertBadInput(Cli.Run(["submit", "--follow", "--server", d.Url]), "follow");     // logs only
        Assert.Contains($"job {id} succeeded", logs.Stderr);
        var second = Cli.Run(["serve", "--set", $"serve.port={ServiceDaemon.FreePort()}", "--set", $"serve.runs-root={t["runs"]}"], 60);
        Cli.AssertBadInput(second, "serve.runs-root", "in use by another running serve");
        var inUse = Cli.Run(["serve", "--set", $"serve.port={d.Port}", "--set", $"serve.runs-root={t["runs2"]}"], 60);
        var said = Cli.AssertBadInput(inUse, $"serve.address:serve.port = 127.0.0.1:{d.Port}: cannot listen");
        Assert.Single(said.Split('\n', StringSplitOptions.RemoveEmptyEntries));                 // one line, no stack trace
        Assert.DoesNotContain("serving on", inUse.Stdout + said);                                // it never served
        Cli.AssertBadInput(Cli.Run(["serve", "--set", $"serve.port={ServiceDaemon.FreePort()}", "--set", "serve.runs-root=/etc/passwd"], 60),
                           "serve.runs-root '/etc/passwd' is a file");
        var status = Cli.Run(["status", "--server", d.Url, id]);             // the id after the options, too
        Assert.True(status.ExitCode == 0, status.Describe());
        Assert.Equal(ServiceRuns.Digest(job), JsonNode.Parse(status.Stdout)!["summary"]!["weights_sha256"]!.GetValue<string>());
        Assert.DoesNotContain("\\u002B", status.Stdout);     // timestamps as written: +00:00
        Assert.Contains("+00:00", status.Stdout);
        var cancel = Cli.Run(["cancel", id, "--server", d.Url]);
        Assert.Contains($"job '{id}' is succeeded: only a queued or running job can be cancelled", cancel.Stderr);
    }

    [Fact]
    public async Task Bad_submissions_are_rejected_naming_the_key_and_nothing_is_queued()
    {
        using var t = new TempDir();
        using var d = new ServiceDaemon(t["runs"], sets: "serve.max-request-bytes=4096");
        var noMnist = Directory.CreateDirectory(t["no-mnist"]).FullName;      // a directory, but without the IDX files
        (string Body, string Fragment)[] cases =
        [
            ($"{{\"set\": {{\"data.dir\": \"{noMnist}\"}}}}", $"data.dir = '{noMnist}': MNIST directory '{noMnist}' is missing train-images-idx3-ubyte"),
            ("{\"set\": {\"trainer.epoch\": \"2\"}}", "trainer.epoch"),
            ("{\"set\": {\"trainer.batch-size\": \"0\"}}", "trainer.batch-size"),
            ("{\"config\": \"optimizer { type = lion }\"}", "optimizer.type"),
            ("{\"config\": \"trainer { epochs = }\"}", "trainer.epochs"),
            ("{\"set\": {\"data.dir\": \"/nonexistent/mnist\"}}", "data.dir"),
            ("{\"set\": {\"metrics\": \"{ port = 9100 }\"}}", "metrics.port"),
            ("{\"set\": {\"trainer.runtime\": \"actors\", \"cluster.enabled\": \"on\"}}", "cluster.enabled"),
            ("{\"set\": {\"model.layers.0.units\": \"2000000000\"}}", "model.layers[0]: a 784x2000000000 kernel"),
            ("{\"set\": {\"model.layers.1.units\": \"5\", \"loss\": \"mse\"}}", "the last dense layer has 5 units"),
            ("{\"set\": {\"model.layers.1.units\": \"5\"}}", "needs units >= 10"),
            ("{\"settings\": {}}", "settings"),
            ("{\"set\": {\"trainer.epochs\": \"1\\n\"}}", "the value of trainer.epochs holds a control character (\\n) at its end"),
            ("{\"set\": {\"trainer.epochs\\u0001\": \"1\"}}", "the key 'trainer.epochs\\u0001' holds a control character"),
            ("not json", "not valid JSON"),
        ];
        foreach (var (body, fragment) in cases)
        {
            // curl -d sends form encoding: the body is read as JSON whatever the Content-Type says.
            var type = body.Contains("batch-size", StringComparison.Ordinal) ? "application/x-www-form-urlencoded" : "application/json";
            using var r = await d.Http.PostAsync("jobs", new StringContent(body, Encoding.UTF8, type));
            var text = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{body} → {(int)r.StatusCode} {text}");
            Assert.Contains(fragment, JsonNode.Parse(text)!["error"]!.GetValue<string>());
        }
        var huge = "{\"config\": \"" + new string('#', 8192) + "\"}";
        using (var r = await d.Http.PostAsync("jobs", new StringContent(huge, Encoding.UTF8, "application/json")))
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        using (var r = await d.Http.GetAsync("jobs/j20990101-000000-abcdef"))
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Equal("[]", await d.Http.GetStringAsync("jobs"));

        var cli = Cli.Run(["submit", "--server", d.Url, "--set", "trainer.epochs=-1"]);
        Cli.AssertBadInput(cli, "trainer.epochs");
    }

    [Fact]
    public async Task Cancelled_job_is_resumable_and_resumes_to_the_uninterrupted_weights()
    {
        var expected = ServiceRuns.TrainDigest(ServiceRuns.Long);
        using var t = new TempDir();
        using var d = new ServiceDaemon(t["runs"]);
        var id = d.Submit(ServiceRuns.Long);
        var queued = d.Submit(ServiceRuns.Small);                                 // waits behind the first (1 concurrent job)
        // The event stream delivers the trainer's lines while it trains (the job is cancelled afterwards, so
        // these events cannot have come from a finished log).
        using var events = new StreamReader(await d.Http.GetStreamAsync($"jobs/{id}/events"));
        var live = Task.Run(() =>
        {
            string? line, evt = null;
            while ((line = events.ReadLine()) is not null)
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal)) evt = line[7..];
                else if (evt == "log" && line.StartsWith("data: run directory ", StringComparison.Ordinal)) return line;
            }
            return null;
        });
        Assert.True(await Task.WhenAny(live, Task.Delay(TimeSpan.FromSeconds(120))) == live, "no log event within 120 s");
        Assert.Contains(id, await live);
        d.WaitFor(id, j => Is(j, "running") && j["step"]!.GetValue<long>() > 0, 300, "running with a checkpoint");
        Assert.True(Is(d.Job(queued), "queued"));
        var cancel = Cli.Run(["cancel", id, "--server", d.Url]);
        Assert.True(cancel.ExitCode == 0, cancel.Describe());
        var cancelled = d.WaitFor(id, JobDone, 120, "done");
        var twice = Cli.Run(["cancel", id, "--server", d.Url]);                       // already done: 409, exit 2
        Cli.AssertBadInput(twice, $"job '{id}' is cancelled: only a queued or running job can be cancelled");
        Cli.AssertBadInput(Cli.Run(["logs", "j" + new string('0', 12), "-f", "--server", d.Url]), "no job");
        Assert.True(Is(cancelled, "cancelled"), cancelled.ToJsonString() + "\n" + d.TrainLog(id));
        Assert.True(cancelled["resumable"]!.GetValue<bool>());
        Assert.True(cancelled["summary"]!["interrupted"]!.GetValue<bool>());
        Assert.InRange(cancelled["summary"]!["steps"]!.GetValue<long>(), 1, 6 * 469 - 1);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(t["runs"], id, "checkpoints"), "ckpt-*.bin"));

        d.WaitFor(queued, j => Is(j, "succeeded"), 300, "succeeded");
        using (var r = await d.Http.PostAsync($"jobs/{id}/resume", null))
            Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        var done = d.WaitFor(id, JobDone, 300, "done");
        Assert.True(Is(done, "succeeded"), done.ToJsonString() + "\n" + d.TrainLog(id));
        Assert.True(done["summary"]!["resumed"]!.GetValue<bool>());
        Assert.Equal(expected, ServiceRuns.Digest(done));
        using (var again = await d.Http.PostAsync($"jobs/{id}/cancel", null))
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public void Daemon_killed_with_sigkill_mid_job_resumes_the_job_after_restart_with_the_uninterrupted_digest()
    {
        var expected = ServiceRuns.TrainDigest(ServiceRuns.Long);
        using var t = new TempDir();
        string id, queued;
        int trainerPid;
        using (var d = new ServiceDaemon(t["runs"]))
        {
            id = d.Submit(ServiceRuns.Long);
            queued = d.Submit(ServiceRuns.Small);
            var running = d.WaitFor(id, j => Is(j, "running") && j["step"]!.GetValue<long>() > 0, 300, "running with a checkpoint");
            trainerPid = running["pid"]!.GetValue<int>();
            // the trainer is paused while no daemon runs, so that it cannot finish the job before the new daemon finds
            // it (on a fast machine it could, and the job would succeed in one attempt with nothing to resume)
            Signal("STOP", trainerPid);
            d.KillDaemonOnly();
        }
        bool sigterm = false;
        var resumer = new Thread(() => sigterm = ContinueOnceTerminated(trainerPid)) { IsBackground = true };
        resumer.Start();
        try
        {
            using var again = new ServiceDaemon(t["runs"]);
            Assert.True(Is(again.Job(queued), "queued") || Is(again.Job(queued), "running") || Is(again.Job(queued), "succeeded"));
            var done = again.WaitFor(id, JobDone, 400, "done");
            Assert.True(Is(done, "succeeded"), done.ToJsonString() + "\n" + again.TrainLog(id));
            Assert.Equal(2, done["attempts"]!.GetValue<int>());
            Assert.True(done["summary"]!["resumed"]!.GetValue<bool>());
            Assert.Equal(expected, ServiceRuns.Digest(done));
            Assert.True(Is(again.WaitFor(queued, JobDone, 300, "done"), "succeeded"));
            Assert.Contains("outlived the previous daemon", again.Output);
            Assert.True(resumer.Join(TimeSpan.FromSeconds(10)) && sigterm, "the restarted daemon sent the paused trainer SIGTERM");
        }
        finally
        {
            Signal("CONT", trainerPid);
            // A trainer this test left behind (only when an assertion failed before the restarted daemon stopped it).
            var cmdline = $"/proc/{trainerPid}/cmdline";
            if (File.Exists(cmdline) && File.ReadAllText(cmdline).Contains(t["runs"], StringComparison.Ordinal))
                try { System.Diagnostics.Process.GetProcessById(trainerPid).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
        }
    }

    private static void Signal(string name, int pid)
    {
        using var kill = System.Diagnostics.Process.Start("kill", [$"-{name}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    /// <summary>Waits (up to 120 s) until the stopped process `pid` has a SIGTERM pending (ShdPnd bit 15 of
    /// /proc/PID/status), then continues it so it handles that SIGTERM; true when the SIGTERM came.</summary>
    private static bool ContinueOnceTerminated(int pid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        bool pending = false;
        while (!pending && DateTime.UtcNow < deadline)
        {
            try
            {
                var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("ShdPnd:", StringComparison.Ordinal));
                pending = line is not null && (Convert.ToUInt64(line[7..].Trim(), 16) & (1UL << 14)) != 0;
            }
            catch (IOException) { return false; }   // the process is gone
            if (!pending) Thread.Sleep(20);
        }
        Signal("CONT", pid);
        return pending;
    }

    [Fact]
    public void Daemon_and_trainer_both_killed_with_sigkill_resume_from_the_last_checkpoint_with_the_uninterrupted_digest()
    {
        var expected = ServiceRuns.TrainDigest(ServiceRuns.Long);
        using var t = new TempDir();
        string id;
        using (var d = new ServiceDaemon(t["runs"]))
        {
            id = d.Submit(ServiceRuns.Long);
            var running = d.WaitFor(id, j => Is(j, "running") && j["step"]!.GetValue<long>() > 0, 300, "running with a checkpoint");
            var trainerPid = running["pid"]!.GetValue<int>();
            d.KillDaemonOnly();                                              // a power cut: no SIGTERM, no checkpoint on the way out
            using var kill = System.Diagnostics.Process.Start("kill", ["-KILL", trainerPid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
        }
        using var again = new ServiceDaemon(t["runs"]);
        var done = again.WaitFor(id, JobDone, 400, "done");
        Assert.True(Is(done, "succeeded"), done.ToJsonString() + "\n" + again.TrainLog(id));
        Assert.True(done["summary"]!["resumed"]!.GetValue<bool>());
        Assert.Equal(expected, ServiceRuns.Digest(done));
    }

    [Fact]
    public async Task Sigterm_to_the_daemon_checkpoints_its_jobs_and_the_next_start_resumes_them()
    {
        var expected = ServiceRuns.TrainDigest(ServiceRuns.Long);
        using var t = new TempDir();
        string id;
        using (var d = new ServiceDaemon(t["runs"]))
        {
            id = d.Submit(ServiceRuns.Long);
            // a client following the job's events must not hold the shutdown (it held it for the host's whole timeout)
            using var follower = Cli.Start(["logs", id, "-f", "--server", d.Url]);
            var followerErr = follower.StandardError.ReadToEndAsync();
            var running = d.WaitFor(id, j => Is(j, "running") && j["step"]!.GetValue<long>() > 0, 300, "running with a checkpoint");
            var trainerPid = running["pid"]!.GetValue<int>();
            Assert.NotNull(follower.StandardOutput.ReadLine());        // it follows: the log's first line arrived
            var followerOut = follower.StandardOutput.ReadToEndAsync();
            var sw = Stopwatch.StartNew();
            Assert.Equal(0, d.TerminateDaemon(120));
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(40), $"the daemon took {sw.Elapsed.TotalSeconds:0} s to stop with a follower attached");
            Assert.True(follower.WaitForExit(30_000), "the follower did not end");
            var said = await followerErr;
            var printed = await followerOut;
            Assert.True(follower.ExitCode == 74 && said.Contains("closed the event stream", StringComparison.Ordinal),
                        $"follower exit {follower.ExitCode}\nstderr: {said}\nstdout tail: {printed[^Math.Min(2000, printed.Length)..]}");
            Assert.False(Directory.Exists($"/proc/{trainerPid}") && File.ReadAllText($"/proc/{trainerPid}/cmdline").Contains(t["runs"], StringComparison.Ordinal),
                         "the trainer outlived a graceful stop");
            Assert.True(RunDir.Summary(Path.Combine(t["runs"], id)).GetProperty("interrupted").GetBoolean(), d.Output);
        }
        using var again = new ServiceDaemon(t["runs"]);
        var done = again.WaitFor(id, JobDone, 400, "done");
        Assert.True(Is(done, "succeeded"), done.ToJsonString() + "\n" + again.TrainLog(id));
        Assert.Equal(expected, ServiceRuns.Digest(done));
        Assert.DoesNotContain("outlived the previous daemon", again.Output);
    }

    [Fact]
    public void Queue_starts_jobs_in_submission_order_and_runs_at_most_max_concurrent_jobs()
    {
        using var t = new TempDir();
        using var d = new ServiceDaemon(t["runs"], sets: "serve.max-concurrent-jobs=2");
        var tiny = new Dictionary<string, string>
        {
            ["data.train-limit"] = "1000", ["data.test-limit"] = "200", ["trainer.epochs"] = "1", ["trainer.runtime"] = "in-process",
            ["output.plots"] = "false", ["output.tensorboard"] = "false", ["output.save-model"] = "false",
        };
        var ids = Enumerable.Range(0, 4).Select(_ => d.Submit(tiny)).ToArray();
        var jobs = ids.Select(id => d.WaitFor(id, JobDone, 300, "done")).ToArray();
        Assert.All(jobs, j => Assert.True(Is(j, "succeeded"), j.ToJsonString()));
        var spans = jobs.Select(j => (Start: DateTimeOffset.Parse(j["started_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture),
                                      End: DateTimeOffset.Parse(j["finished_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        for (var i = 1; i < spans.Length; i++) Assert.True(spans[i - 1].Start <= spans[i].Start, "jobs did not start in submission order");
        var overlap = spans.Max(a => spans.Count(b => b.Start <= a.Start && a.Start < b.End));
        Assert.Equal(2, overlap);
    }

    [Fact]
    public async Task Job_that_fails_in_the_trainer_is_failed_with_the_trainers_error_and_the_service_lives_on()
    {
        using var t = new TempDir();
        using var d = new ServiceDaemon(t["runs"]);
        // Valid for the config checks, wrong for the data (784 pixels per MNIST sample): only the trainer finds out.
        var id = d.Submit(new Dictionary<string, string>(ServiceRuns.Small) { ["model.input-shape"] = "[100]" });
        var job = d.WaitFor(id, JobDone, 300, "done");
        Assert.True(Is(job, "failed"), job.ToJsonString());
        Assert.Equal(2, job["exit_code"]!.GetValue<int>());
        var error = job["error"]!.GetValue<string>();
        Assert.StartsWith("error: ", error);                                     // the trainer's own one-line error
        Assert.Contains("the model takes 100 values per sample", error);
        // It failed before its first checkpoint: nothing to resume (before, "resumable": true and a resume ran it again
        // from the start, to the same failure).
        Assert.False(job["resumable"]!.GetValue<bool>(), job.ToJsonString());
        using (var resume = await d.Http.PostAsync($"jobs/{id}/resume", null))
        {
            var body = await resume.Content.ReadAsStringAsync();
            Assert.True(resume.StatusCode == HttpStatusCode.Conflict, $"{(int)resume.StatusCode}: {body}");
            Assert.Contains($"job '{id}' is failed and has no checkpoint to resume from", body);
        }
        var refused = Cli.Run(["resume", id, "--server", d.Url]);
        Cli.AssertBadInput(refused, $"job '{id}' is failed and has no checkpoint to resume from", "submit it again");
        Assert.Equal("failed", d.Job(id)["state"]!.GetValue<string>());
        using var health = await d.Http.GetAsync("healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Contains("actortrainer_jobs{state=\"failed\"} 1\n", await d.Http.GetStringAsync("metrics"));
    }

    private static bool JobDone(JsonObject j) => j["state"]!.GetValue<string>() is "succeeded" or "failed" or "cancelled";

    private static int CountOccurrences(string text, string what)
    {
        var n = 0;
        for (var i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}
