using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace ActorTrainer.Bench;

/// <summary>
/// `cluster`: the weak-scaling config (per-shard batch 128, shards = workers = N) trained by a coordinator process and
/// N `worker` processes (one worker of 1 GEMM thread each) on this machine, against the same config in one process
/// (the actor runtime with N workers × 1 thread). Compares the trainer's own steps_per_second (summary.json; the
/// wait for workers to join is not in it), round-robin, and reports medians, their ratio (target ≥ 0.8) and the
/// data-plane traffic per step. Also checks that both give the same weights_sha256.
/// Usage: cluster [--rounds 3] [--workers 2] [--epochs 1] [--train-limit 30000] [--dll PATH] | cluster --model [--gbps 25] [--latency-us 20]
/// </summary>
public static class ClusterBench
{
    public static int Run(string[] args)
    {
        string Opt(string name, string dflt) { var i = Array.IndexOf(args, "--" + name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt; }
        if (args.Contains("--model"))
            return ClusterModel.Run(double.Parse(Opt("gbps", "25"), CultureInfo.InvariantCulture) * 1e9 / 8,
                double.Parse(Opt("latency-us", "20"), CultureInfo.InvariantCulture) * 1e-6);
        int rounds = int.Parse(Opt("rounds", "3"), CultureInfo.InvariantCulture);
        int n = int.Parse(Opt("workers", "2"), CultureInfo.InvariantCulture);
        var dll = Path.GetFullPath(Opt("dll", "src/ActorTrainer.Daemon/bin/Release/net10.0/ActorTrainer.Daemon.dll"));
        if (!File.Exists(dll)) { Console.Error.WriteLine($"error: --dll '{dll}' does not exist; build src/ActorTrainer.Daemon -c Release first"); return 2; }
        string[] common =
        [
            "--config", "config/mnist-mlp.conf", "--set", $"trainer.epochs={Opt("epochs", "1")}", "--set", $"data.train-limit={Opt("train-limit", "30000")}",
            "--set", "data.test-limit=500", "--set", "output.plots=false", "--set", "output.tensorboard=false", "--set", "output.save-model=false",
            "--set", "trainer.per-shard-batch-size=128", "--set", $"trainer.shards-per-batch={n}", "--set", "trainer.runtime=actors",
        ];
        Console.WriteLine($"cluster bench: {n} worker processes + coordinator vs one process ({n} workers × 1 thread); loadavg {File.ReadAllText("/proc/loadavg").Trim()}");
        var single = new List<double>();
        var cluster = new List<double>();
        string? shaSingle = null, shaCluster = null;
        for (int r = 0; r < rounds; r++)
        {
            foreach (bool isCluster in r % 2 == 0 ? new[] { false, true } : new[] { true, false })
            {
                var (sps, sha) = isCluster ? RunCluster(dll, common, n) : RunSingle(dll, common, n);
                (isCluster ? cluster : single).Add(sps);
                if (isCluster) shaCluster = sha; else shaSingle = sha;
                Console.WriteLine($"round {r + 1} {(isCluster ? "cluster" : "single ")}: {sps:F1} steps/s");
            }
        }
        double ms = ServiceBench.Median(single), mc = ServiceBench.Median(cluster);
        Console.WriteLine($"median single {ms:F1} steps/s, cluster {mc:F1} steps/s: cluster/single = {mc / ms:F3} (target >= 0.8)");
        Console.WriteLine($"weights_sha256 single {shaSingle?[..12]}…, cluster {shaCluster?[..12]}…: {(shaSingle == shaCluster ? "identical" : "DIFFERENT")}");
        long perStep = n * (4L * 407_050 /* weights */ + 128 * 785 * 4 /* rows + labels */ + 4L * 407_050 /* gradients */);
        Console.WriteLine($"data plane per step: {perStep / 1e6:F2} MB ({perStep * mc / 1e6:F0} MB/s at the cluster's median)");
        Console.WriteLine($"loadavg after: {File.ReadAllText("/proc/loadavg").Trim()}");
        return shaSingle == shaCluster ? 0 : 1;
    }

    private static (double, string) RunSingle(string dll, string[] common, int n)
    {
        var dir = TempRun();
        Wait(Start(dll, ["train", "--run-dir", dir, .. common, "--set", $"trainer.workers={n}", "--set", "trainer.threads-per-worker=1"]), "single");
        return Read(dir);
    }

    private static (double, string) RunCluster(string dll, string[] common, int n)
    {
        int port = ServiceBench.FreePort();
        var seed = $"cluster.seed-nodes=[\"akka.tcp://actor-trainer@127.0.0.1:{port}\"]";
        var workers = Enumerable.Range(0, n).Select(_ => Start(dll, ["worker", "--set", seed, "--set", "worker.workers=1", "--set", "worker.threads-per-worker=1"])).ToList();
        try
        {
            var dir = TempRun();
            Wait(Start(dll, ["train", "--run-dir", dir, .. common, "--set", "cluster.enabled=on", "--set", $"cluster.port={port}", "--set", seed,
                "--set", $"cluster.min-workers={n}"]), "coordinator");
            return Read(dir);
        }
        finally
        {
            foreach (var w in workers) { w.Kill(true); w.WaitForExit(); w.Dispose(); }
        }
    }

    private static Process Start(string dll, string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = Directory.GetCurrentDirectory() };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } l && l.Contains("error", StringComparison.OrdinalIgnoreCase)) Console.Error.WriteLine("  " + l); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static void Wait(Process p, string what)
    {
        if (!p.WaitForExit(TimeSpan.FromMinutes(10))) { p.Kill(true); throw new TimeoutException($"{what} did not finish in 10 minutes"); }
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{what} exited with {p.ExitCode}");
    }

    private static (double, string) Read(string dir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")));
        var s = doc.RootElement;
        var result = (s.GetProperty("steps_per_second").GetDouble(), s.GetProperty("weights_sha256").GetString()!);
        Directory.Delete(dir, true);
        return result;
    }

    private static string TempRun() => Path.Combine(Path.GetTempPath(), "actortrainer-clusterbench-" + Guid.NewGuid().ToString("N"));
}
