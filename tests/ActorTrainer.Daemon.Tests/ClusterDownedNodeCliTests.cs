using System.Diagnostics;
using System.Net;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A node the coordinator downs while it lives: a `worker` hosting parameter-server slices whose data-plane link
/// fails for a reason other than its death (here its connections reset, by a relay it is reached through). The
/// coordinator downs it and ends the run (exit 69); the node says in one line that the coordinator (named) downed it,
/// rejoins by itself within seconds, and serves `train --resume`.</summary>
public class ClusterDownedNodeCliTests
{
    private static readonly IPAddress Bound = IPAddress.Parse("127.0.0.2"), Announced = IPAddress.Parse("127.0.0.3");

    /// <summary>Skipped where 127.0.0.2 and .3 cannot be bound (macOS without loopback aliases, Windows).</summary>
    public sealed class LoopbackAliasFactAttribute : FactAttribute
    {
        public LoopbackAliasFactAttribute()
        {
            if (!TcpRelay.CanBind(Bound, Announced)) Skip = "needs the loopback addresses 127.0.0.2 and 127.0.0.3 (Linux has all of 127/8)";
        }
    }

    [LoopbackAliasFact]
    public void A_worker_hosting_slices_downed_while_alive_says_who_downed_it_rejoins_and_serves_the_resumed_run()
    {
        using var t = new TempDir();
        int port = ClusterCliTests.FreePort(), remoting = ClusterCliTests.FreePort(), dataPlane = ClusterCliTests.FreePort();
        // node B binds 127.0.0.2 and announces 127.0.0.3, where the relay passes its remoting and data-plane ports on
        using var relay = new TcpRelay(Announced, Bound, remoting, dataPlane);
        using var a = CapturedProcess.Worker(port, "--set", "worker.hosts-slices=on");
        using var b = CapturedProcess.Worker(port, "--set", "worker.hosts-slices=on", "--set", $"cluster.hostname={Bound}",
            "--set", $"cluster.public-hostname={Announced}", "--set", $"cluster.port={remoting}", "--set", $"cluster.data-plane.port={dataPlane}",
            "--set", "cluster.data-plane.unix-sockets=off");
        string[] cluster = [.. Cli.Tiny, .. ClusterCliTests.Small, "--set", "trainer.runtime=actors", "--set", "cluster.enabled=on",
            "--set", $"cluster.port={port}", "--set", ClusterCliTests.Seed(port), "--set", "cluster.min-workers=2", "--set", "cluster.ps-nodes=2",
            "--set", "trainer.checkpoint.every-steps=5"];
        string coordinatorAddress = $"akka.tcp://actor-trainer@127.0.0.1:{port}";
        var reset = new Stopwatch();
        using (var first = new CapturedProcess(["train", "--run-dir", t["run"], .. cluster]))
        {
            Cli.WaitForFirstCheckpoint(first.Process, t["run"]);
            Assert.True(relay.Reset(dataPlane) > 0, "the coordinator reached node B through the relay:\n" + b.Text);
            reset.Start();
            Assert.True(first.Process.WaitForExit(30_000), "the coordinator ended after node B's link failed:\n" + first.Text);
            first.Process.WaitForExit();
            Assert.True(first.Process.ExitCode == 69, $"exit {first.Process.ExitCode}, expected 69:\n" + first.Text);
            Assert.Contains($"parameter-server node {Announced}:{dataPlane}", first.Text);
        }
        // B lives on: one line names the coordinator and says it downed B, and B joins again by itself
        Assert.True(b.WaitFor("rejoining in 2 s", 1, TimeSpan.FromSeconds(20)), "node B rejoined:\n" + b.Text);
        var line = b.Text.Split('\n').First(l => l.Contains("rejoining in 2 s", StringComparison.Ordinal));
        Assert.True(line.Contains($"worker: the coordinator {coordinatorAddress} downed this node", StringComparison.Ordinal), "node B's line: " + line + "\n" + b.Text);
        Assert.True(reset.Elapsed < TimeSpan.FromSeconds(10), $"node B took {reset.Elapsed.TotalSeconds:0.0} s to rejoin:\n" + b.Text);
        // A rejoins too, naming the coordinator: it left (its run ended), or it downed A as well (A's gradient connection,
        // which pushed to B's slices, ended with B's link)
        Assert.True(a.WaitFor("rejoining in 2 s", 1, TimeSpan.FromSeconds(20)), "node A rejoined:\n" + a.Text);
        Assert.True(a.Text.Contains($"worker: the coordinator {coordinatorAddress} left the cluster (its run ended); rejoining in 2 s", StringComparison.Ordinal)
            || a.Text.Contains($"worker: the coordinator {coordinatorAddress} downed this node", StringComparison.Ordinal), "node A:\n" + a.Text);
        var resumed = Cli.Run(["train", "--resume", t["run"]], 120);
        Assert.True(resumed.ExitCode == 0, resumed.Describe() + "\n--- worker A ---\n" + a.Text + "\n--- worker B ---\n" + b.Text);
        Assert.True(b.Count("slices 0..0 of 2") + b.Count("slices 1..1 of 2") == 2 && b.Count("first shard computed") >= 2,
            "node B held slices and computed shards in both runs:\n" + b.Text);
        Assert.False(a.Process.HasExited || b.Process.HasExited, "the worker processes keep running for the next coordinator");
    }
}
