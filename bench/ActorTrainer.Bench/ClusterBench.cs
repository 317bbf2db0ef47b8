using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace ActorTrainer.Bench;

/// <summary>
/// `cluster`: the weak-scaling config (per-shard batch 128, shards = workers = N) trained by a coordinator process and
/// N `worker` processes (one worker of 1 GEMM thread each) on this machine, against the same config in one process
/// (the actor runtime with N workers × 1 thread). Compares the trainer's own steps_per_second (summary.json; the
/// wait for workers to join is not in it), round-robin, and reports medians, their ratio (target ≥ 0.8) and the median
/// of each round's ratio (a round's two runs are neighbours in time, so a phase of the shared VM touches both), the CPU
/// seconds all processes of a run used per training step (start-up included; less sensitive to a shared machine than
/// wall time) and the data-plane traffic per step. Also checks that both give the same weights_sha256.
/// `--spin A[,B]`: the children's thread-pool spin limit (DOTNET_ThreadPool_UnfairSemaphoreSpinLimit); with two values
/// every round runs both, so the settings are compared side by side.
/// `--cluster-only`: skip the single-process runs (for comparing builds with --dll, one run at a time).
/// `--compress auto|on|off`: the coordinator's cluster.data-plane.compress (default: the config's, auto = plain on one host).
/// `--unix-sockets on|off`: the coordinator's cluster.data-plane.unix-sockets (default: the config's, on): whether it
/// reaches the worker processes on this host through their Unix domain sockets or over TCP.
/// `--shared-memory on|off[,…]`: the coordinator's cluster.data-plane.shared-memory (default: the config's, on); with
/// two values every round runs the cluster both ways, side by side.
/// `--nodes K`: the N workers in K `worker` processes of N / K workers each (default K = N); a node's workers share
/// its copy of the weights, which then travel once per node and step.
/// `--ps-nodes P[,Q]`: the cluster runs with P `ps` processes holding the parameter-server slices (cluster.ps-nodes;
/// 0 = slices in the coordinator, the default; `hosted` = the worker processes host the slices themselves,
/// worker.hosts-slices = on and cluster.ps-nodes = K); with two values every round runs both, side by side.
/// `--ceiling`: the best case of parameter-server slices on the worker nodes, no coordinator in the step
/// (<see cref="SliceExchangeBench"/>).
/// Usage: cluster [--rounds 3] [--workers 2] [--nodes N] [--ps-nodes P|hosted[,Q]] [--shared-memory on|off[,…]] [--epochs 1] [--train-limit 30000] [--spin A[,B]] [--dll PATH] [--cluster-only] | cluster --model [--gbps 25] [--latency-us 20]
/// </summary>
public static class ClusterBench
{
    private sealed record Config(bool Cluster, string? Spin, int Ps = 0, string? Shm = null)
    {
        public string Name => (Cluster ? "cluster" : "single") + (Ps > 0 ? $" + {Ps} ps" : Ps == Hosted ? ", slices on the worker nodes" : "")
            + (Shm is null ? "" : $", shared memory {Shm}") + (Spin is null ? "" : $" (spin {Spin})");
    }

    /// <summary>Config.Ps for worker processes that host the slices themselves (worker.hosts-slices).</summary>
    private const int Hosted = -1;

    private static int PsCount(string v) => v == "hosted" ? Hosted : int.Parse(v, CultureInfo.InvariantCulture) is >= 0 and var p ? p
        : throw new ArgumentException($"--ps-nodes '{v}': expected an integer >= 0 or 'hosted'");

    public static int Run(string[] args)
    {
        string Opt(string name, string dflt) { var i = Array.IndexOf(args, "--" + name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : dflt; }
        if (args.Contains("--ceiling")) return SliceExchangeBench.Run(args);
        if (args.Contains("--model"))
            return ClusterModel.Run(double.Parse(Opt("gbps", "25"), CultureInfo.InvariantCulture) * 1e9 / 8,
                double.Parse(Opt("latency-us", "20"), CultureInfo.InvariantCulture) * 1e-6);
        int rounds = int.Parse(Opt("rounds", "3"), CultureInfo.InvariantCulture);
        int n = int.Parse(Opt("workers", "2"), CultureInfo.InvariantCulture);
        int nodes = int.Parse(Opt("nodes", n.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        if (nodes < 1 || n % nodes != 0) { Console.Error.WriteLine($"error: --nodes {nodes} must be at least 1 and divide --workers {n}"); return 2; }
        int limit = int.Parse(Opt("train-limit", "30000"), CultureInfo.InvariantCulture);
        var dll = Path.GetFullPath(Opt("dll", "src/ActorTrainer.Daemon/bin/Release/net10.0/ActorTrainer.Daemon.dll"));
        if (!File.Exists(dll)) { Console.Error.WriteLine($"error: --dll '{dll}' does not exist; build src/ActorTrainer.Daemon -c Release first"); return 2; }
        string?[] spins = Opt("spin", "") is { Length: > 0 } sp ? sp.Split(',') : new string?[] { null };
        if (spins.Any(v => !int.TryParse(v ?? "0", out int x) || x < 0)) { Console.Error.WriteLine($"error: --spin '{Opt("spin", "")}': expected one or two integers >= 0"); return 2; }
        string[] common =
        [
            "--config", "config/mnist-mlp.conf", "--set", $"trainer.epochs={Opt("epochs", "1")}", "--set", $"data.train-limit={limit}",
            "--set", "data.test-limit=500", "--set", "output.plots=false", "--set", "output.tensorboard=false", "--set", "output.save-model=false",
            "--set", "trainer.per-shard-batch-size=128", "--set", $"trainer.shards-per-batch={n}", "--set", "trainer.runtime=actors",
        ];
        if (Opt("compress", "") is { Length: > 0 } compress) common = [.. common, "--set", $"cluster.data-plane.compress={compress}"];
        if (Opt("unix-sockets", "") is { Length: > 0 } unix) common = [.. common, "--set", $"cluster.data-plane.unix-sockets={unix}"];
        double steps = Math.Ceiling(limit / (128.0 * n)) * int.Parse(Opt("epochs", "1"), CultureInfo.InvariantCulture);
        Console.WriteLine($"cluster bench: {nodes} worker processes of {n / nodes} worker(s) + coordinator vs one process ({n} workers × 1 thread); loadavg {ProcCpu.LoadAverage()}");
        bool clusterOnly = args.Contains("--cluster-only");
        int[] psCounts = Opt("ps-nodes", "0").Split(',').Select(PsCount).ToArray();
        string?[] shms = Opt("shared-memory", "") is { Length: > 0 } sm ? sm.Split(',') : new string?[] { null };
        if (shms.Any(v => v is not (null or "on" or "off"))) { Console.Error.WriteLine($"error: --shared-memory '{Opt("shared-memory", "")}': expected on, off or both"); return 2; }
        var configs = spins.SelectMany(v => psCounts.SelectMany(p => shms.Select(m => new Config(true, v, p, m))).Prepend(new Config(false, v)))
            .Where(c => c.Cluster || !clusterOnly).ToArray();
        var sps = configs.ToDictionary(c => c, _ => new List<double>());
        var cpu = configs.ToDictionary(c => c, _ => new List<double>());
        var sha = new Dictionary<Config, string>();
        var wireBytes = new List<double>();
        for (int r = 0; r < rounds; r++)
            foreach (var c in r % 2 == 0 ? configs : configs.Reverse())
            {
                string[] own = c.Shm is null ? common : [.. common, "--set", $"cluster.data-plane.shared-memory={c.Shm}"];
                var (rate, digest, cpuSeconds, wireTotal) = c.Cluster ? RunCluster(dll, own, n, nodes, c.Spin, c.Ps) : RunSingle(dll, common, n, c.Spin);
                sps[c].Add(rate); cpu[c].Add(cpuSeconds / steps); sha[c] = digest;
                var wire = wireTotal > 0 ? $", loopback {wireTotal / steps / 1e6:F2} MB per step (all traffic)" : "";
                if (c.Cluster) wireBytes.Add(wireTotal / steps);
                Console.WriteLine($"round {r + 1} {c.Name}: {rate:F1} steps/s, {1000 * cpuSeconds / steps:F1} CPU ms per step (all processes){wire}");
            }
        foreach (var v in clusterOnly ? [] : spins)
            foreach (var clustered in configs.Where(c => c.Cluster && c.Spin == v))
            {
                Config single = new(false, v);
                double ms = ServiceBench.Median(sps[single]), mc = ServiceBench.Median(sps[clustered]);
                Console.WriteLine($"{(v is null ? "" : $"spin {v}: ")}median single {ms:F1} steps/s ({1000 * ServiceBench.Median(cpu[single]):F1} CPU ms/step), " +
                    $"{clustered.Name} {mc:F1} steps/s ({1000 * ServiceBench.Median(cpu[clustered]):F1} CPU ms/step): cluster/single = {mc / ms:F3} (target >= 0.8)");
                // each round's two runs are neighbours in time: their ratio is less exposed to the VM's slower and faster phases
                var paired = sps[clustered].Zip(sps[single], (c, s) => c / s).Order().ToList();
                Console.WriteLine($"  paired: each round's cluster/single {string.Join(", ", sps[clustered].Zip(sps[single], (c, s) => (c / s).ToString("F3", CultureInfo.InvariantCulture)))}; " +
                    $"median {ServiceBench.Median(paired):F3}, range [{paired[0]:F3}, {paired[^1]:F3}]");
            }
        bool same = sha.Values.Distinct().Count() == 1;
        Console.WriteLine($"weights_sha256 {string.Join(", ", sha.Select(kv => $"{kv.Key.Name} {kv.Value[..12]}…"))}: {(same ? "identical" : "DIFFERENT")}");
        long perStep = nodes * 4L * 407_050 /* weights, once per node */ + n * (128 * 785 * 4 /* rows + labels */ + 4L * 407_050 /* gradients */);
        double mcAll = ServiceBench.Median(configs.Where(c => c.Cluster).SelectMany(c => sps[c]).ToList());
        Console.WriteLine($"data plane per step, uncoded: {perStep / 1e6:F2} MB ({perStep * mcAll / 1e6:F0} MB/s at the cluster runs' median)");
        if (wireBytes.Count > 0 && wireBytes.Max() is > 0 and < 100_000)
            Console.WriteLine("loopback (TCP) carried < 0.1 MB per step: the data plane went through Unix domain sockets (cluster.data-plane.unix-sockets)");
        else if (wireBytes.Count > 0 && wireBytes.Min() > 0)
            Console.WriteLine($"loopback per step, measured (all traffic: data plane, Akka remoting, start-up): median {ServiceBench.Median(wireBytes) / 1e6:F2} MB ({ServiceBench.Median(wireBytes) * mcAll / 1e6:F0} MB/s at the cluster runs' median)");
        Console.WriteLine($"loadavg after: {ProcCpu.LoadAverage()}");
        return same ? 0 : 1;
    }

    private static (double, string, double, long) RunSingle(string dll, string[] common, int n, string? spin)
    {
        var dir = TempRun();
        double cpu = Wait(Start(dll, ["train", "--run-dir", dir, .. common, "--set", $"trainer.workers={n}", "--set", "trainer.threads-per-worker=1"], spin), "single");
        var (rate, sha) = Read(dir);
        return (rate, sha, cpu, -1);
    }

    /// <summary>Steps/s, digest, CPU seconds of all processes, and the bytes the loopback interface carried during the
    /// run (all traffic: data plane, Akka remoting, start-up; ≤ 0 where /proc/net/dev is not readable).</summary>
    private static (double, string, double, long) RunCluster(string dll, string[] common, int n, int nodes, string? spin, int ps)
    {
        int port = ServiceBench.FreePort();
        var seed = $"cluster.seed-nodes=[\"akka.tcp://actor-trainer@127.0.0.1:{port}\"]";
        var workers = Enumerable.Range(0, nodes).Select(_ => Start(dll, ["worker", "--set", seed, "--set", $"worker.workers={n / nodes}", "--set", "worker.threads-per-worker=1",
                "--set", $"worker.hosts-slices={(ps == Hosted ? "on" : "off")}"], spin))
            .Concat(Enumerable.Range(0, Math.Max(0, ps)).Select(_ => Start(dll, ["ps", "--set", seed], spin))).ToList();
        try
        {
            var dir = TempRun();
            long lo0 = LoopbackBytes();
            double cpu = Wait(Start(dll, ["train", "--run-dir", dir, .. common, "--set", "cluster.enabled=on", "--set", $"cluster.port={port}", "--set", seed,
                "--set", $"cluster.min-workers={n}", "--set", $"cluster.ps-nodes={(ps == Hosted ? nodes : ps)}"], spin), "coordinator");
            long wire = LoopbackBytes() - lo0;
            cpu += workers.Sum(w => ProcCpu.Seconds(w.Id));
            var (rate, sha) = Read(dir);
            return (rate, sha, cpu, wire);
        }
        finally
        {
            foreach (var w in workers) { w.Kill(true); w.WaitForExit(); w.Dispose(); }
        }
    }

    /// <summary>The loopback interface's received-bytes counter (/proc/net/dev), or a large negative number when absent.</summary>
    private static long LoopbackBytes()
    {
        try
        {
            var line = File.ReadLines("/proc/net/dev").Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("lo:", StringComparison.Ordinal));
            return line is null ? long.MinValue / 2 : long.Parse(line[3..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
        }
        catch (IOException) { return long.MinValue / 2; }
    }

    private static Process Start(string dll, string[] args, string? spin)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = Directory.GetCurrentDirectory() };
        if (spin is not null) psi.Environment["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = spin;
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } l && l.Contains("error", StringComparison.OrdinalIgnoreCase)) Console.Error.WriteLine("  " + l); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Waits for the process and returns the CPU seconds it used (sampled until it exits).</summary>
    private static double Wait(Process p, string what)
    {
        var deadline = DateTime.UtcNow.AddMinutes(10);
        double cpu = 0;
        while (!p.WaitForExit(20))
        {
            if (ProcCpu.Seconds(p.Id) is var s && !double.IsNaN(s)) cpu = s;
            if (DateTime.UtcNow > deadline) { p.Kill(true); throw new TimeoutException($"{what} did not finish in 10 minutes"); }
        }
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{what} exited with {p.ExitCode}");
        return cpu;
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
