using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>SIGTERM to `serve` while it is starting a trainer: the new trainer is stopped with the others.</summary>
public class ServiceShutdownTests
{
    /// <summary>Before, a trainer whose start was under way when the stop began (the job's claim is a synchronous
    /// database write, then the spawn) got no SIGTERM: it outlived the daemon, or held the daemon's stop for
    /// serve.stop-timeout and was then killed without a checkpoint. The moment is hit by sending SIGTERM at several
    /// delays after a submission (on a 2-core machine about half of them landed in it).</summary>
    [Fact]
    public async Task Sigterm_right_after_a_submission_stops_the_trainer_being_started_and_leaves_none_behind()
    {
        foreach (var delay in new[] { 0, 10, 20, 30, 40, 60, 80 })
        {
            using var t = new TempDir();
            using var d = new ServiceDaemon(t["runs"]);
            var body = new JsonObject { ["set"] = new JsonObject(ServiceRuns.Long.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))) };
            var submit = d.Http.PostAsJsonAsync("jobs", body);
            await Task.Delay(delay);
            var sw = Stopwatch.StartNew();
            Assert.Equal(0, d.TerminateDaemon(120));
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"delay {delay} ms: the daemon took {sw.Elapsed.TotalSeconds:0} s to stop\n{d.Output}");
            try { (await submit).Dispose(); } catch (HttpRequestException) { }   // the stop may refuse the request
            var left = Trainers(t["runs"]);
            foreach (var pid in left) try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
            Assert.True(left.Count == 0, $"delay {delay} ms: trainer(s) {string.Join(", ", left)} outlived the daemon\n{d.Output}");
        }
    }

    /// <summary>The live `train` processes whose command line names a path under <paramref name="root"/>.</summary>
    private static List<int> Trainers(string root)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            try
            {
                var cmd = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (cmd.Contains("\0train\0", StringComparison.Ordinal) && cmd.Contains(root, StringComparison.Ordinal)) pids.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return pids;
    }
}
