using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>`train` as a cluster coordinator with `worker` processes on 127.0.0.1: the single-process digest, also
/// when a worker is killed (kill -9) or frozen (SIGSTOP) mid-run; bad cluster config is refused naming the key.</summary>
public class ClusterCliTests
{
    internal static readonly string[] Small =
    [
        "--set", "data.train-limit=6000", "--set", "data.test-limit=300", "--set", "trainer.epochs=2",
        "--set", "output.plots=false", "--set", "output.tensorboard=false", "--set", "trainer.shards-per-batch=4",
    ];

    internal static int FreePort() => FreePorts.Next();

    internal static string Seed(int port) => $"cluster.seed-nodes=[\"akka.tcp://actor-trainer@127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}\"]";

    internal static string Sha(string runDir) => RunDir.Summary(runDir).GetProperty("weights_sha256").GetString()!;

    [Fact]
    public async Task A_worker_that_joins_mid_run_takes_over_from_a_killed_one_and_the_digest_is_the_single_process_one()
    {
        using var t = new TempDir();
        // long enough that worker B (a process start and an Akka join, several seconds) arrives while the run still goes
        // on: 8 epochs were too few once the run got faster (2026-12-03: it ended first in 1 of 3 tries), 24 close to
        // too few once the processes shared memory (2026-12-05)
        string[] longer = [.. Small, "--set", "data.train-limit=12000", "--set", "trainer.epochs=48"];
        Cli.Train(t["single"], [.. longer, "--set", "trainer.runtime=in-process"]);
        int port = FreePort();
        using var a = CapturedProcess.Worker(port);
        var coordinator = Task.Run(() => Cli.Run(["train", "--run-dir", t["cluster"], .. Cli.Tiny, .. longer, "--set", "trainer.runtime=actors",
            "--set", "cluster.enabled=on", "--set", $"cluster.port={port}", "--set", Seed(port), "--set", "cluster.min-workers=1",
            "--set", "cluster.step-deadline=3s"], 240));
        Assert.True(a.WaitFor("first shard computed", 1, TimeSpan.FromSeconds(120)), "worker A computed a shard:\n" + a.Text);
        // B joins while A trains, gets work, then A is killed with kill -9
        using var b = CapturedProcess.Worker(port);
        Assert.True(b.WaitFor("first shard computed", 1, TimeSpan.FromSeconds(60)) || coordinator.IsCompleted,
            "worker B, joining mid-run, computed a shard:\n" + b.Text);
        Assert.False(coordinator.IsCompleted, "the run was still going when B joined (make it longer)");
        Cli.Signal(a.Process, "KILL");
        var r = await coordinator;
        Assert.True(r.ExitCode == 0, r.Describe() + "\n--- worker B ---\n" + b.Text);
        Assert.Equal(Sha(t["single"]), Sha(t["cluster"]));
    }

    [Fact]
    public async Task A_frozen_worker_loses_its_shards_within_the_step_deadline_comes_back_after_SIGCONT_and_the_digest_is_unchanged()
    {
        using var t = new TempDir();
        // long enough that A, thawed, is probed and given work again (a new data-plane session) before the run ends
        // (8 epochs were too few once the processes shared memory, 2026-12-05)
        string[] longer = [.. Small, "--set", "data.train-limit=12000", "--set", "trainer.epochs=32"];
        Cli.Train(t["single"], [.. longer, "--set", "trainer.runtime=in-process"]);
        int port = FreePort();
        using var a = CapturedProcess.Worker(port);
        using var b = CapturedProcess.Worker(port);
        var coordinator = Task.Run(() => Cli.Run(["train", "--run-dir", t["cluster"], .. Cli.Tiny, .. longer, "--set", "trainer.runtime=actors", "--set", "cluster.enabled=on",
            "--set", $"cluster.port={port}", "--set", Seed(port), "--set", "cluster.min-workers=2", "--set", "cluster.step-deadline=2s"], 240));
        Assert.True(a.WaitFor("first shard computed", 1, TimeSpan.FromSeconds(120)), "worker A computed a shard:\n" + a.Text);
        Cli.Signal(a.Process, "STOP");
        Thread.Sleep(4000);   // past the step deadline: A's shards go to B
        Cli.Signal(a.Process, "CONT");
        // A answers the coordinator's probe again and gets a new worker (a new data-plane session)
        bool back = a.WaitFor("first shard computed", 2, TimeSpan.FromSeconds(60));
        var r = await coordinator;
        Assert.True(r.ExitCode == 0, r.Describe() + "\n--- worker A ---\n" + a.Text + "\n--- worker B ---\n" + b.Text);
        Assert.Equal(Sha(t["single"]), Sha(t["cluster"]));
        Assert.True(back, "worker A computed shards again after SIGCONT:\n" + a.Text);
    }

    [Fact]
    public void A_killed_coordinator_resumes_from_its_checkpoint_the_workers_rejoin_by_themselves_and_the_digest_is_unchanged()
    {
        using var t = new TempDir();
        Cli.Train(t["single"], [.. Small, "--set", "trainer.runtime=in-process"]);
        int port = FreePort();
        using var a = CapturedProcess.Worker(port);
        using var b = CapturedProcess.Worker(port);
        string[] cluster = [.. Cli.Tiny, .. Small, "--set", "trainer.runtime=actors", "--set", "cluster.enabled=on", "--set", $"cluster.port={port}",
            "--set", Seed(port), "--set", "cluster.min-workers=2", "--set", "trainer.checkpoint.every-steps=5"];
        using (var first = Cli.Start(["train", "--run-dir", t["cluster"], .. cluster]))
        {
            Cli.WaitForFirstCheckpoint(first, t["cluster"]);
            Cli.Signal(first, "KILL");
            first.WaitForExit();
        }
        var r = Cli.Run(["train", "--resume", t["cluster"]], 240);
        Assert.True(r.ExitCode == 0, r.Describe() + "\n--- worker A ---\n" + a.Text + "\n--- worker B ---\n" + b.Text);
        Assert.Contains("resuming", r.Stdout + r.Stderr);
        Assert.Equal(Sha(t["single"]), Sha(t["cluster"]));
        Assert.True(a.Count("rejoining") + b.Count("rejoining") >= 1, "the workers rejoined:\n" + a.Text + "\n" + b.Text);
    }

    [Fact]
    public void The_same_worker_processes_serve_one_train_after_another()
    {
        using var t = new TempDir();
        int port = FreePort();
        using var a = CapturedProcess.Worker(port);
        using var b = CapturedProcess.Worker(port);
        string[] cluster = [.. Cli.Tiny, "--set", "output.plots=false", "--set", "output.tensorboard=false", "--set", "trainer.runtime=actors",
            "--set", "cluster.enabled=on", "--set", $"cluster.port={port}", "--set", Seed(port), "--set", "cluster.min-workers=2",
            "--set", "cluster.wait-for-workers=45s"];
        // the first run reaches the workers over TCP, the second through their Unix sockets, the third through them and
        // memory the processes share (the default on one host)
        foreach (var (run, unix, shared) in new[] { ("first", "off", "on"), ("second", "on", "off"), ("third", "on", "on") })
        {
            var r = Cli.Run(["train", "--run-dir", t[run], .. cluster, "--set", $"cluster.data-plane.unix-sockets={unix}",
                "--set", $"cluster.data-plane.shared-memory={shared}"], 180);
            Assert.True(r.ExitCode == 0, $"{run} run: {r.Describe()}\n--- worker A ---\n{a.Text}\n--- worker B ---\n{b.Text}");
        }
        Assert.Equal(Sha(t["first"]), Sha(t["second"]));
        Assert.Equal(Sha(t["first"]), Sha(t["third"]));
        string logs = a.Text + b.Text;
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(logs, @"coordinator 127\.0\.0\.1:\d+: first shard computed"), "a TCP session:\n" + logs);
        if (OperatingSystem.IsLinux())
        {
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(logs, @"\.sock: first shard computed\r?$", System.Text.RegularExpressions.RegexOptions.Multiline),
                "a Unix socket session:\n" + logs);
            Assert.True(logs.Contains(".sock: first shard computed (tensors through shared memory)"), "a shared-memory session:\n" + logs);
        }
        // each says why in one line naming the coordinator
        string left = $"worker: the coordinator akka.tcp://actor-trainer@127.0.0.1:{port} left the cluster (its run ended); rejoining in 2 s";
        Assert.True(a.Count(left) >= 1 && b.Count(left) >= 1, "both workers left with the first coordinator and rejoined:\n" + a.Text + "\n" + b.Text);
        Assert.False(a.Process.HasExited || b.Process.HasExited, "the workers keep running");
    }

    [Fact]
    public void A_coordinator_whose_workers_never_come_exits_69_naming_the_keys()
    {
        using var t = new TempDir();
        int port = FreePort();
        var r = Cli.Run(["train", "--run-dir", t["run"], .. Cli.Tiny, "--set", "trainer.runtime=actors", "--set", "cluster.enabled=on",
            "--set", $"cluster.port={port}", "--set", Seed(port), "--set", "cluster.wait-for-workers=2s"], 120);
        Assert.True(r.ExitCode == 69, r.Describe());
        Assert.Contains("error: cluster: 0 of cluster.min-workers = 1 gradient workers joined within cluster.wait-for-workers = 2 s", r.Stderr);
        Assert.DoesNotContain("internal error", r.Stderr);
        Assert.DoesNotContain("stack trace", r.Stderr);
    }

    [Fact]
    public void A_worker_waiting_for_its_coordinator_shows_each_of_Akkas_retry_warnings_once_per_30_s()
    {
        using var w = CapturedProcess.Worker(FreePort());     // nothing listens there: Akka retries the join every cluster.join-retry (1 s)
        Assert.True(w.WaitFor("Couldn't join seed nodes", 1, TimeSpan.FromSeconds(60)), "the join was retried:\n" + w.Text);
        Thread.Sleep(4000);                       // four more retries
        Assert.False(w.Process.HasExited, "the worker keeps waiting:\n" + w.Text);
        Assert.True(w.Count("Couldn't join seed nodes") == 1, "one join warning in 30 s:\n" + w.Text);
        Assert.True(w.Count("Tried to associate with unreachable remote address") == 1, "one unreachable-address warning in 30 s:\n" + w.Text);
    }

    [Fact]
    public void Bad_cluster_config_is_refused_naming_the_key()
    {
        Cli.AssertBadInput(Cli.Run(["worker", "--set", "worker.workers=1"], 60), "cluster.seed-nodes");
        Cli.AssertBadInput(Cli.Run(["worker", "--set", Seed(4053), "--set", "worker.workers=none"], 60), "worker.workers");
        Cli.AssertBadInput(Cli.Run(["worker", "--set", Seed(4053), "--set", "worker.backend=tpu"], 60), "worker.backend");
        Cli.AssertBadInput(Cli.Run(["worker", "--set", Seed(4053), "--set", "worker.backend=cuda", "--set", "worker.hosts-slices=on"], 60),
            "worker.hosts-slices = on", "worker.backend = cpu");
        Cli.AssertBadInput(Cli.Run(["worker", "--set", Seed(4053), "--set", "worker.hosts-slices=maybe"], 60), "worker.hosts-slices");
        Cli.AssertBadInput(Cli.Run(["worker", "--set", Seed(4053), "--set", "worker.backend=cuda", "--set", "worker.workers=2"], 60),
            "worker.backend = cuda", "worker.workers = 1");
        if (!HasCudaDevice())       // a GPU node without a GPU: one line naming what is missing, before it joins anything
            Cli.AssertBadInput(Cli.Run(["worker", "--set", Seed(4053), "--set", "worker.backend=cuda", "--set", "worker.workers=1"], 60),
                "no CUDA device", "--set worker.backend=cpu");
        using var t = new TempDir();
        Cli.AssertBadInput(Cli.Run(["train", "--run-dir", t["r0"], .. Cli.Tiny, "--set", "cluster.enabled=on"], 60), "trainer.runtime = actors");
        Cli.AssertBadInput(Cli.Run(["train", "--run-dir", t["r"], .. Cli.Tiny, "--set", "trainer.runtime=actors", "--set", "cluster.enabled=on",
            "--set", "cluster.tls.certificate-path=/nonexistent/node.pfx"], 60), "cluster.tls.ca-certificate-path");
        Cli.AssertBadInput(Cli.Run(["train", "--run-dir", t["r2"], .. Cli.Tiny, "--set", "trainer.runtime=actors", "--set", "cluster.enabled=on",
            "--set", "cluster.min-workers=0"], 60), "cluster.min-workers");
        // listeners that cannot open are bad input naming the key (they were internal errors, exit 70)
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        Cli.AssertBadInput(Cli.Run(["worker", "--set", Seed(4053), "--set", $"cluster.port={port}"], 60), $"cluster.hostname:cluster.port = 127.0.0.1:{port}");
        Cli.AssertBadInput(Cli.Run(["worker", "--set", Seed(4053), "--set", $"cluster.data-plane.port={port}"], 60), $"cluster.data-plane.port = {port}");
        Cli.AssertBadInput(Cli.Run(["worker", "--set", Seed(4053), "--set", "cluster.hostname=not.a.host.invalid"], 60), "cluster.hostname 'not.a.host.invalid'");
        Cli.AssertBadInput(Cli.Run(["train", "--run-dir", t["r3"], .. Cli.Tiny, "--set", "trainer.runtime=actors", "--set", "cluster.enabled=on",
            "--set", $"cluster.port={port}"], 60), "cluster.port");
        Assert.False(Directory.Exists(t["r3"]), "a coordinator that cannot listen wrote its run directory");
    }

    [Fact]
    public void A_worker_seeding_itself_and_a_coordinator_not_first_among_its_seeds_are_refused_naming_the_keys()
    {
        Cli.AssertBadInput(Cli.Run(["worker", "--set", Seed(4071), "--set", "cluster.port=4071"], 60),
                           "this worker's own address 127.0.0.1:4071 (cluster.port) is in cluster.seed-nodes");
        using var t = new TempDir();
        var r = Cli.Run(["train", "--run-dir", t["r"], .. Cli.Tiny, "--set", "trainer.runtime=actors", "--set", "cluster.enabled=on",
                         "--set", "cluster.port=4072", "--set", Seed(4073)], 60);
        Cli.AssertBadInput(r, "the coordinator's address 127.0.0.1:4072", "is not the first of cluster.seed-nodes", "127.0.0.1:4073");
        Assert.False(Directory.Exists(t["r"]), "the refused coordinator wrote its run directory");
        var frames = Cli.Run(["train", "--run-dir", t["f"], .. Cli.Tiny, "--set", "trainer.runtime=actors", "--set", "cluster.enabled=on",
                              "--set", "cluster.port=4074", "--set", Seed(4074), "--set", "cluster.data-plane.max-frame-mib=1"], 60);
        // the figure a refused worker node is given for the same model (FrameAdviceTests); before: "at least 3" here, 2 there
        Cli.AssertBadInput(frames, "cluster.data-plane.max-frame-mib = 1", "407050 float32 weights", "set it to at least 2 on the coordinator");
        Assert.False(Directory.Exists(t["f"]), "the refused coordinator wrote its run directory");
    }

    private static bool HasCudaDevice()
    {
        try { using var r = new ActorTrainer.Cuda.CudaRuntime(new ActorTrainer.Cuda.CudaOptions()); return true; }
        catch (ActorTrainer.Cuda.CudaUnavailableException) { return false; }
    }
}
