using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>The README's three processes (a coordinator, two worker nodes) with one worker node killed (SIGKILL):
/// mid-run, the coordinator says so in one line naming the node and what happens next, and neither its log nor the
/// surviving worker's shows Akka's stack traces about the lost node; after the run's last shard, the coordinator still
/// ends promptly once its outputs are written.</summary>
public partial class ClusterNodeLossLogTests
{
    private static string[] Coordinator(string runDir, int port, params string[] extra) =>
    [
        "train", "--run-dir", runDir, .. Cli.Tiny, "--set", "output.plots=false", "--set", "output.tensorboard=false",
        "--set", "trainer.runtime=actors", "--set", "cluster.enabled=on", "--set", $"cluster.port={port}",
        "--set", ClusterCliTests.Seed(port), "--set", "cluster.min-workers=2", .. extra,
    ];

    [Fact]
    public void A_worker_node_killed_mid_run_is_one_clear_line_and_no_akka_stack_trace_in_the_other_logs()
    {
        using var t = new TempDir();
        int port = ClusterCliTests.FreePort();
        using var a = CapturedProcess.Worker(port);
        using var b = CapturedProcess.Worker(port);
        // long enough to outlast the failure detector and the split-brain resolver after the kill (shared memory
        // between the processes on this host makes a step faster than it was over the socket)
        using var c = new CapturedProcess(Coordinator(t["run"], port, "--set", "data.train-limit=12000", "--set", "trainer.epochs=120"));
        Assert.True(a.WaitFor("first shard computed", 1, TimeSpan.FromSeconds(120)), "worker A computed a shard:\n" + a.Text + "\n---\n" + c.Text);
        Thread.Sleep(1000);
        Cli.Signal(a.Process, "KILL");
        var killed = Stopwatch.StartNew();
        Assert.True(c.Process.WaitForExit(TimeSpan.FromSeconds(240)), "the coordinator ended:\n" + c.Text);
        c.Process.WaitForExit();
        Assert.True(c.Process.ExitCode == 0, $"exit {c.Process.ExitCode}\n{c.Text}\n--- B ---\n{b.Text}");
        // the failure detector (3 s) and the split-brain resolver (cluster.stable-after, 7 s) had their turn meanwhile
        Assert.True(killed.Elapsed > TimeSpan.FromSeconds(10), $"the run went on {killed.Elapsed.TotalSeconds:F1} s after the kill; make it longer\n{c.Text}");
        var lost = c.Text.Split('\n').Where(l => l.Contains(") lost: ", StringComparison.Ordinal)).ToArray();
        Assert.True(lost.Length == 1, "one line about the lost node:\n" + c.Text);
        Assert.Matches(@"worker \d+ \(node 127\.0\.0\.1:\d+\) lost: .*; its shards go to the other gradient workers$", lost[0]);
        AssertNoStackTrace("coordinator", c.Text);
        AssertNoStackTrace("surviving worker", b.Text);
    }

    [Fact]
    public void A_worker_node_killed_after_the_last_shard_does_not_hold_up_the_coordinators_exit()
    {
        using var t = new TempDir();
        int port = ClusterCliTests.FreePort();
        using var a = CapturedProcess.Worker(port);
        using var b = CapturedProcess.Worker(port);
        // the test set is evaluated on the coordinator after the last step: the node dies while nothing is asked of it,
        // so no data-plane read fails; Akka's failure detector would notice only after the coordinator began to leave
        using var c = new CapturedProcess(Coordinator(t["run"], port, "--set", "data.train-limit=6000", "--set", "data.test-limit=10000",
            "--set", "trainer.epochs=3"));
        Assert.True(c.WaitFor("val_accuracy", 3, TimeSpan.FromSeconds(180)), "the last epoch ended:\n" + c.Text);
        Cli.Signal(a.Process, "KILL");
        if (!c.WaitFor("wrote ", 1, TimeSpan.FromSeconds(60)))
        {
            bool ended = c.Process.WaitForExit(TimeSpan.FromSeconds(5));
            if (ended) c.Process.WaitForExit();   // the rest of its output read
            Assert.Fail($"the run wrote its outputs ({(ended ? $"exit {c.Process.ExitCode}" : "still running")}):\n{c.Text}\n--- A ---\n{a.Text}\n--- B ---\n{b.Text}");
        }
        var sw = Stopwatch.StartNew();
        // before: 10 s (CoordinatedShutdown's cluster-exiting phase timed out waiting for the dead member)
        Assert.True(c.Process.WaitForExit(TimeSpan.FromSeconds(9)), $"the coordinator exited within 9 s (a held-up exit waits out the 10 s cluster-leave timeout) of writing its outputs:\n{c.Text}");
        c.Process.WaitForExit();
        Assert.True(c.Process.ExitCode == 0, $"exit {c.Process.ExitCode} after {sw.Elapsed.TotalSeconds:F1} s\n{c.Text}");
        Assert.DoesNotContain("timed out", c.Text);
    }

    private static void AssertNoStackTrace(string who, string log)
    {
        var frames = log.Split('\n').Where(l => StackFrame().IsMatch(l) || l.Contains("Exception:", StringComparison.Ordinal)).ToArray();
        Assert.True(frames.Length == 0, $"{who}'s log has stack traces:\n{string.Join("\n", frames.Take(10))}\n--- full log ---\n{log}");
    }

    [GeneratedRegex(@"^\s+at \S+\(|---> |Cause: ")]
    private static partial Regex StackFrame();
}
