using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>`ps` processes holding the parameter-server slices (cluster.ps-nodes) of a coordinator whose gradient workers
/// run in `worker` processes, on 127.0.0.1: the single-process digest, a killed ps node ends the run with exit 69 and
/// `train --resume` with a new ps node finishes it with the same digest; a frozen one ends the run too and, thawed,
/// rejoins by itself; bad combinations are refused naming the keys.</summary>
public class ClusterPsCliTests
{
    private static readonly string[] Small = [.. ClusterCliTests.Small, "--set", "trainer.epochs=3"];

    private static CapturedProcess Ps(int port) => new(["ps", "--set", ClusterCliTests.Seed(port)]);

    [Fact]
    public void Slices_on_a_ps_node_keep_the_digest_and_a_killed_ps_node_ends_the_run_which_resumes_with_a_new_one()
    {
        using var t = new TempDir();
        Cli.Train(t["single"], [.. Small, "--set", "trainer.runtime=in-process"]);
        int port = ClusterCliTests.FreePort();
        using var a = CapturedProcess.Worker(port);
        using var b = CapturedProcess.Worker(port);
        string[] cluster = [.. Cli.Tiny, .. Small, "--set", "trainer.runtime=actors", "--set", "cluster.enabled=on", "--set", $"cluster.port={port}",
            "--set", ClusterCliTests.Seed(port), "--set", "cluster.min-workers=2", "--set", "cluster.ps-nodes=1", "--set", "trainer.checkpoint.every-steps=5"];
        using (var ps = Ps(port))
        {
            var whole = Cli.Run(["train", "--run-dir", t["whole"], .. cluster], 240);
            Assert.True(whole.ExitCode == 0, whole.Describe() + "\n--- ps ---\n" + ps.Text);
            Assert.Equal(ClusterCliTests.Sha(t["single"]), ClusterCliTests.Sha(t["whole"]));
            Assert.True(ps.Count("parameter server: coordinator") >= 1 && ps.Count("slices 0..") == 1, "the ps node held the slices:\n" + ps.Text);
        }
        // the next run: its ps node is killed (kill -9) after the first checkpoint
        using (var doomed = Ps(port))
        using (var first = Cli.Start(["train", "--run-dir", t["cluster"], .. cluster]))
        {
            Cli.WaitForFirstCheckpoint(first, t["cluster"]);
            var killed = System.Diagnostics.Stopwatch.StartNew();
            Cli.Signal(doomed.Process, "KILL");
            Assert.True(first.WaitForExit(60_000), "the coordinator ended after its ps node was killed");
            Assert.True(first.ExitCode == 69, $"exit {first.ExitCode}, expected 69 (EX_UNAVAILABLE)");
            // its link's connection closed at once; the run ends without waiting for Akka's failure detector (~5 s
            // before it marks the node unreachable; 6.9 s from the kill to the exit before the node was downed, 0.9 s after)
            Assert.True(killed.Elapsed < TimeSpan.FromSeconds(4), $"the coordinator took {killed.Elapsed.TotalSeconds:0.0} s to end after the kill");
        }
        using var replacement = Ps(port);
        var r = Cli.Run(["train", "--resume", t["cluster"]], 240);
        Assert.True(r.ExitCode == 0, r.Describe() + "\n--- ps ---\n" + replacement.Text);
        Assert.Contains("resuming", r.Stdout + r.Stderr);
        Assert.Equal(ClusterCliTests.Sha(t["single"]), ClusterCliTests.Sha(t["cluster"]));
    }

    [Fact]
    public void Worker_processes_that_host_the_slices_keep_the_digest_and_one_killed_ends_the_run_which_resumes()
    {
        using var t = new TempDir();
        Cli.Train(t["single"], [.. Small, "--set", "trainer.runtime=in-process"]);
        int port = ClusterCliTests.FreePort();
        using var a = CapturedProcess.Worker(port, "--set", "worker.hosts-slices=on");
        string[] cluster = [.. Cli.Tiny, .. Small, "--set", "trainer.runtime=actors", "--set", "cluster.enabled=on", "--set", $"cluster.port={port}",
            "--set", ClusterCliTests.Seed(port), "--set", "cluster.min-workers=2", "--set", "cluster.ps-nodes=2", "--set", "trainer.checkpoint.every-steps=5"];
        using (var b = CapturedProcess.Worker(port, "--set", "worker.hosts-slices=on"))
        {
            var r = Cli.Run(["train", "--run-dir", t["whole"], .. cluster], 240);
            Assert.True(r.ExitCode == 0, r.Describe() + "\n--- worker a ---\n" + a.Text + "\n--- worker b ---\n" + b.Text);
            Assert.Equal(ClusterCliTests.Sha(t["single"]), ClusterCliTests.Sha(t["whole"]));
            // each process held half the slices and computed shards
            foreach (var w in new[] { a, b })
                Assert.True(w.Count("and parameter-server slices") >= 1 && w.Count("parameter server: coordinator") >= 1 && w.Count("first shard computed") >= 1, w.Text);
        }
        // the next run loses one of them (kill -9 after the first checkpoint): its slices are gone, the run ends (exit 69);
        // `train --resume` with a new one finishes with the same digest
        using (var doomed = CapturedProcess.Worker(port, "--set", "worker.hosts-slices=on"))
        using (var first = Cli.Start(["train", "--run-dir", t["cluster"], .. cluster]))
        {
            Cli.WaitForFirstCheckpoint(first, t["cluster"]);
            Cli.Signal(doomed.Process, "KILL");
            Assert.True(first.WaitForExit(60_000), "the coordinator ended after a node holding slices was killed");
            Assert.True(first.ExitCode == 69, $"exit {first.ExitCode}, expected 69 (EX_UNAVAILABLE)");
        }
        using var replacement = CapturedProcess.Worker(port, "--set", "worker.hosts-slices=on");
        var resumed = Cli.Run(["train", "--resume", t["cluster"]], 240);
        Assert.True(resumed.ExitCode == 0, resumed.Describe() + "\n--- worker a ---\n" + a.Text + "\n--- replacement ---\n" + replacement.Text);
        Assert.Equal(ClusterCliTests.Sha(t["single"]), ClusterCliTests.Sha(t["cluster"]));
    }

    [Fact]
    public void A_frozen_ps_node_ends_the_run_once_the_failure_detector_marks_it_unreachable()
    {
        using var t = new TempDir();
        int port = ClusterCliTests.FreePort();
        using var a = CapturedProcess.Worker(port);
        using var ps = Ps(port);
        using var coordinator = new CapturedProcess(["train", "--run-dir", t["run"], .. Cli.Tiny, .. Small, "--set", "trainer.epochs=40",
            "--set", "trainer.runtime=actors", "--set", "cluster.enabled=on", "--set", $"cluster.port={port}", "--set", ClusterCliTests.Seed(port),
            "--set", "cluster.ps-nodes=1"]);
        try
        {
            Assert.True(a.WaitFor("first shard computed", 1, TimeSpan.FromSeconds(120)), "the worker computed a shard:\n" + a.Text);
            Cli.Signal(ps.Process, "STOP");
            Assert.True(coordinator.Process.WaitForExit(60_000), "the coordinator ended after its ps node froze:\n" + coordinator.Text);
            Assert.True(coordinator.Process.ExitCode == 69, $"exit {coordinator.Process.ExitCode}, expected 69:\n" + coordinator.Text);
        }
        finally { Cli.Signal(ps.Process, "CONT"); }
        coordinator.Process.WaitForExit();
        Assert.Contains("is lost: the cluster's failure detector marked it unreachable", coordinator.Text);
        // thawed, the ps node finds its coordinator gone: its side's split-brain resolver downs it (cluster.stable-after
        // after the failure detector, ~9 s), it says so in one line naming the coordinator and joins again (no hang, no exit)
        Assert.True(ps.WaitFor("rejoining in 2 s", 1, TimeSpan.FromSeconds(40)), "the thawed ps node rejoined:\n" + ps.Text);
        Assert.Contains($"ps: the coordinator akka.tcp://actor-trainer@127.0.0.1:{port} became unreachable (it ended or was killed, or this node was frozen or cut off from it) and the split-brain resolver downed this node; rejoining in 2 s", ps.Text);
        Assert.False(ps.Process.HasExited, "the ps node keeps running for the next coordinator:\n" + ps.Text);
    }

    [Fact]
    public void Ps_nodes_with_async_too_few_slices_or_no_seed_nodes_are_refused_naming_the_keys()
    {
        using var t = new TempDir();
        string[] coordinator = [.. Cli.Tiny, "--set", "trainer.runtime=actors", "--set", "cluster.enabled=on", "--set", "cluster.ps-nodes=2"];
        Cli.AssertBadInput(Cli.Run(["train", "--run-dir", t["a"], .. coordinator, "--set", "trainer.mode=async"], 60), "cluster.ps-nodes = 2 serves sync runs only");
        Cli.AssertBadInput(Cli.Run(["train", "--run-dir", t["s"], .. coordinator, "--set", "trainer.ps-slices=1"], 60), "trainer.ps-slices = 1 is fewer than cluster.ps-nodes = 2");
        Cli.AssertBadInput(Cli.Run(["train", "--run-dir", t["n"], .. coordinator, "--set", "cluster.ps-nodes=-1"], 60), "cluster.ps-nodes");
        Cli.AssertBadInput(Cli.Run(["ps"], 60), "cluster.seed-nodes", "parameter-server node");
        Assert.False(Directory.Exists(t["a"]) || Directory.Exists(t["s"]), "a refused coordinator wrote its run directory");
    }

    [Fact]
    public void A_coordinator_whose_ps_nodes_never_come_exits_69_naming_cluster_ps_nodes()
    {
        using var t = new TempDir();
        int port = ClusterCliTests.FreePort();
        using var a = CapturedProcess.Worker(port);
        var r = Cli.Run(["train", "--run-dir", t["run"], .. Cli.Tiny, "--set", "trainer.runtime=actors", "--set", "cluster.enabled=on",
            "--set", $"cluster.port={port}", "--set", ClusterCliTests.Seed(port), "--set", "cluster.ps-nodes=1", "--set", "cluster.wait-for-workers=3s"], 120);
        Assert.True(r.ExitCode == 69, r.Describe());
        Assert.Contains("0 of cluster.ps-nodes = 1 parameter-server nodes joined", r.Stderr);
        Assert.Contains("`ps --config FILE`", r.Stderr);
        Assert.DoesNotContain("internal error", r.Stderr);
    }
}
