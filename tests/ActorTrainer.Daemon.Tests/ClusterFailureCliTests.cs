using System.Diagnostics;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A cluster coordinator when things go wrong with its workers: SIGTERM while every worker is lost interrupts
/// at once (exit 0, checkpoint, the resume hint) instead of waiting out cluster.wait-for-workers, and so does SIGTERM
/// while it waits for cluster.min-workers at its start (exit 143, nothing to checkpoint); a worker node whose
/// frame limit is below the model's frames is refused once, both sides told why; summary.json counts local and remote
/// workers; a worker killed near the end does not hold up the coordinator's shutdown.</summary>
public class ClusterFailureCliTests
{
    private static string[] Coordinator(string runDir, int port, params string[] extra) =>
    [
        "train", "--run-dir", runDir, .. Cli.Tiny, "--set", "output.plots=false", "--set", "output.tensorboard=false",
        "--set", "trainer.runtime=actors", "--set", "cluster.enabled=on", "--set", $"cluster.port={port}",
        "--set", ClusterCliTests.Seed(port), .. extra,
    ];

    [Fact]
    public void Sigterm_while_every_worker_is_lost_interrupts_at_once_with_a_checkpoint_not_after_wait_for_workers()
    {
        using var t = new TempDir();
        int port = ClusterCliTests.FreePort();
        using var a = CapturedProcess.Worker(port);
        // long enough to be training when the worker is killed (48 epochs since shared memory made steps faster);
        // nobody comes back within the 120 s wait
        using var c = new CapturedProcess(Coordinator(t["run"], port, "--set", "data.train-limit=12000", "--set", "trainer.epochs=48",
            "--set", "cluster.min-workers=1", "--set", "cluster.wait-for-workers=120s"));
        Assert.True(a.WaitFor("first shard computed", 1, TimeSpan.FromSeconds(120)), "the worker computed a shard:\n" + a.Text + "\n---\n" + c.Text);
        Thread.Sleep(1000);
        Cli.Signal(a.Process, "KILL");
        Assert.True(c.WaitFor(") lost: ", 1, TimeSpan.FromSeconds(30)), "the coordinator saw its worker go:\n" + c.Text);
        Assert.False(c.Process.HasExited, "the coordinator still runs, waiting for workers:\n" + c.Text);
        var sw = Stopwatch.StartNew();
        Cli.Signal(c.Process, "TERM");
        bool exited = c.Process.WaitForExit(TimeSpan.FromSeconds(15));
        Assert.True(exited, $"the coordinator exited within 15 s of SIGTERM (cluster.wait-for-workers = 120 s):\n{c.Text}");
        c.Process.WaitForExit();
        Assert.True(c.Process.ExitCode == 0, $"exit {c.Process.ExitCode} after {sw.Elapsed.TotalSeconds:F1} s\n{c.Text}");
        Assert.Contains("continue with: train --resume", c.Text);
        var s = RunDir.Summary(t["run"]);
        Assert.True(s.GetProperty("interrupted").GetBoolean(), c.Text);
        Assert.True(s.GetProperty("steps").GetInt64() >= 1, c.Text);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(t["run"], "checkpoints"), "ckpt-*.bin"));
    }

    [Fact]
    public void Sigterm_while_waiting_for_min_workers_at_the_start_exits_143_at_once()
    {
        using var t = new TempDir();
        int port = ClusterCliTests.FreePort();
        using var c = new CapturedProcess(Coordinator(t["run"], port, "--set", "cluster.min-workers=1", "--set", "cluster.wait-for-workers=120s"));
        Assert.True(c.WaitFor("run directory", 1, TimeSpan.FromSeconds(60)), "the coordinator started:\n" + c.Text);
        Thread.Sleep(3000);   // into the wait for workers (no worker node runs)
        var sw = Stopwatch.StartNew();
        Cli.Signal(c.Process, "TERM");
        Assert.True(c.Process.WaitForExit(TimeSpan.FromSeconds(15)), $"the coordinator exited within 15 s of SIGTERM (cluster.wait-for-workers = 120 s):\n{c.Text}");
        c.Process.WaitForExit();
        Assert.True(c.Process.ExitCode == 143, $"exit {c.Process.ExitCode} after {sw.Elapsed.TotalSeconds:F1} s\n{c.Text}");
        Assert.Contains("SIGTERM received; cancelled while waiting for cluster.min-workers = 1 gradient workers (0 joined); no step ran", c.Text);
        Assert.False(Directory.Exists(Path.Combine(t["run"], "checkpoints")) && Directory.GetFiles(Path.Combine(t["run"], "checkpoints")).Length > 0, c.Text);
    }

    [Fact]
    public void A_worker_node_whose_frame_limit_is_too_small_is_refused_once_and_told_why()
    {
        using var t = new TempDir();
        int port = ClusterCliTests.FreePort();
        using var w = CapturedProcess.Worker(port, "--set", "cluster.data-plane.max-frame-mib=1");
        Assert.True(w.WaitFor("joining", 1, TimeSpan.FromSeconds(60)), "the worker started:\n" + w.Text);
        // one local worker and the refused node: min-workers = 2 is never reached; the node is probed every second meanwhile
        using var c = new CapturedProcess(Coordinator(t["run"], port, "--set", "cluster.local-workers=on", "--set", "trainer.workers=1",
            "--set", "cluster.min-workers=2", "--set", "cluster.wait-for-workers=15s"));
        Assert.True(c.Process.WaitForExit(TimeSpan.FromSeconds(120)), "the coordinator ended:\n" + c.Text);
        c.Process.WaitForExit();
        Assert.True(c.Process.ExitCode == 69, $"exit {c.Process.ExitCode}\n{c.Text}\n--- worker ---\n{w.Text}");
        Assert.Contains("1 of cluster.min-workers = 2 gradient workers joined", c.Text);
        const string refusal = "has cluster.data-plane.max-frame-mib = 1 (1048576 bytes), but this model's data-plane frames need up to";
        Assert.True(c.Count(refusal) == 1, "one refusal on the coordinator:\n" + c.Text);
        Assert.Contains("cluster.data-plane.max-frame-mib = 2 or more", c.Text);
        Assert.True(w.WaitFor("refused this node", 1, TimeSpan.FromSeconds(10)), "the worker was told:\n" + w.Text);
        Assert.Contains(refusal, w.Text);
        Assert.Equal(0, w.Count("first shard computed") + w.Count("data plane: connection from"));
    }

    [Fact]
    public void Summary_workers_counts_the_coordinators_local_workers_and_the_remote_ones()
    {
        using var t = new TempDir();
        int port = ClusterCliTests.FreePort();
        using var w = CapturedProcess.Worker(port);
        using var c = new CapturedProcess(Coordinator(t["run"], port, "--set", "cluster.local-workers=on", "--set", "trainer.workers=1",
            "--set", "cluster.min-workers=2", "--set", "cluster.wait-for-workers=60s"));
        Assert.True(c.Process.WaitForExit(TimeSpan.FromSeconds(150)), "the coordinator ended:\n" + c.Text);
        c.Process.WaitForExit();
        Assert.True(c.Process.ExitCode == 0, $"exit {c.Process.ExitCode}\n{c.Text}\n--- worker ---\n{w.Text}");
        Assert.Equal(2, RunDir.Summary(t["run"]).GetProperty("workers").GetInt32());
        Assert.Contains("waiting for 2 gradient worker(s) (cluster.min-workers, counting the 1 local one(s) of cluster.local-workers", c.Text);
    }

    [Fact]
    public void A_worker_killed_near_the_end_does_not_hold_up_the_coordinators_exit()
    {
        using var t = new TempDir();
        int port = ClusterCliTests.FreePort();
        using var a = CapturedProcess.Worker(port);
        using var b = CapturedProcess.Worker(port);
        using var c = new CapturedProcess(Coordinator(t["run"], port, "--set", "data.train-limit=12000", "--set", "trainer.epochs=8",
            "--set", "cluster.min-workers=2", "--set", "cluster.step-deadline=3s"));
        // killed in the last epochs: the run ends before Akka's failure detector marks the node unreachable (~5 s)
        Assert.True(c.WaitFor("Epoch 7/8", 1, TimeSpan.FromSeconds(180)), "the run reached epoch 7:\n" + c.Text);
        Cli.Signal(a.Process, "KILL");
        Assert.True(c.WaitFor("wrote ", 1, TimeSpan.FromSeconds(120)), "the run wrote its outputs:\n" + c.Text + "\n--- B ---\n" + b.Text);
        // held up, its shutdown waits out the cluster leaving's 10 s (ActorHost.Dispose); a loaded machine's ordinary
        // shutdown (Akka's leaving, the process exit) took up to a few seconds, close to the 6 s this allowed before
        var sw = Stopwatch.StartNew();
        Assert.True(c.Process.WaitForExit(TimeSpan.FromSeconds(9)), $"the coordinator exited within 9 s of writing its outputs:\n{c.Text}");
        c.Process.WaitForExit();
        Assert.True(c.Process.ExitCode == 0, $"exit {c.Process.ExitCode} after {sw.Elapsed.TotalSeconds:F1} s\n{c.Text}");
    }
}
