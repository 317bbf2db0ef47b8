using System.Diagnostics;
using System.Globalization;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Runtime;

namespace ActorTrainer.Bench;

/// <summary>`bench -- scaling`: steps/s and samples/s of the reference MLP (784-512-10, RMSprop, MNIST) for
/// in-process, sync and async with workers 1, 2, 4, … up to the cores, for the reference config (batch 128; sync with
/// N workers uses N shards) and the weak-scaling config (per-shard batch 128: batch 128·N, N shards, N workers of one
/// thread), plus the parameter server's share of the step (busiest slice's fold + update time / train time). The weak
/// table also runs N independent copies of the 1-worker run at once (separate models, nothing shared or exchanged):
/// their summed steps/s over one copy's is the most N workers can gain on this machine (on a VM whose vCPUs do not
/// each deliver a full core it is below N), and weak scaling is reported against it too.
/// Options: --steps S (steps per run, 120), --rounds R (3; configurations round-robin, median and best reported),
/// --only reference|weak|none (one of the two tables, or neither: with --accuracy),
/// --max-workers W (cores), --accuracy (also: async 2–16 workers, 2 epochs on all of MNIST, test accuracy per
/// staleness policy), --model (instead: the measured pieces of a step and the predicted 1–64-core table, see
/// <see cref="ScalingModel"/>), --pairs N (instead: N rounds of reference runs — in-process, `workers = auto`, and
/// `auto` with a batch hook, which makes the fit loop wait for each step instead of letting the parameter server open
/// the next (IStepLookahead) — in alternating order, and the median and quartiles of the per-round steps/s ratios:
/// robust to a machine whose speed drifts between runs). Each actor run gets an actor system of its own, warmed up
/// with <see cref="RuntimeWarmup"/> before its clock starts, as `train` runs (its dispatcher's threads have compiled
/// code and kernel buffers); --cold runs each on the private system the executor creates instead, whose new threads
/// make a run's first steps ~10 ms slower (bench/RESULTS.md, 2026-12-05).</summary>
public static class ScalingBench
{
    private sealed record Config(string Name, string Mode, int Workers, int Threads, int Batch, int Shards);

    private static bool s_cold;

    /// <summary>Runs and prints the tables; returns 0, or 2 for bad options.</summary>
    public static int Run(string[] args)
    {
        int steps = 120, rounds = 3, maxWorkers = Environment.ProcessorCount, pairs = 0;
        bool accuracy = false, model = false;
        string only = "";
        for (int i = 0; i < args.Length; i++)
        {
            int Next() => i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
                ? n : throw new ArgumentException($"scaling bench: {args[i - 1]} needs a positive integer");
            switch (args[i])
            {
                case "--steps": steps = Next(); break;
                case "--rounds": rounds = Next(); break;
                case "--max-workers": maxWorkers = Next(); break;
                case "--accuracy": accuracy = true; break;
                case "--model": model = true; break;
                case "--pairs": pairs = Next(); break;
                case "--cold": s_cold = true; break;
                case "--only": only = i + 1 < args.Length ? args[++i] : ""; break;
                default: throw new ArgumentException($"scaling bench: unknown option '{args[i]}' (allowed: --steps, --rounds, --max-workers, --only reference|weak|none, --accuracy, --model, --pairs, --cold)");
            }
        }
        var (train, test) = Mnist.LoadBundled();
        if (model) { ScalingModel.Run(train); return 0; }
        if (pairs > 0) { Pairs(train, steps, pairs); return 0; }
        var counts = new List<int>();
        for (int w = 1; w <= maxWorkers; w *= 2) counts.Add(w);
        var configs = Configs(counts).Where(k => only.Length == 0 || k.Name == only).ToArray();
        Console.WriteLine($"ScalingBench: MLP 784-512-10 (relu/softmax, RMSprop), MNIST, {steps} steps per run, {rounds} rounds, " +
                          $"{Environment.ProcessorCount} cores; load {File.ReadAllText("/proc/loadavg").Trim()}");
        foreach (var k in configs.DistinctBy(k => k.Mode)) Measure(Data(train, 16 * k.Batch), k, 16);     // warm-up: JIT, caches
        var results = configs.Select(_ => new List<(double StepsPerSec, double PsShare)>()).ToArray();
        for (int r = 0; r < rounds; r++)
            for (int c = 0; c < configs.Length; c++)
                results[c].Add(Measure(Data(train, steps * configs[c].Batch), configs[c], steps));
        if (configs.Length > 0) Print(configs, results);
        if (accuracy) AsyncAccuracy(train, test, counts.Concat([4, 8, 16]).Where(w => w >= 2).Distinct().Order().ToArray());
        return 0;
    }

    /// <summary>`--pairs`: per round of back-to-back runs (in-process, auto, auto waiting for each step; the order
    /// reversed every other round) auto / in-process and auto / auto-waiting steps/s, medians and quartiles.</summary>
    private static void Pairs(Dataset train, int steps, int pairs)
    {
        Config[] runs =
        [
            new("reference", "in-process", 0, 0, 128, 2),
            new("reference", "auto", RuntimeOptions.AutoWorkers, 0, 128, 2),
            new("reference", "auto-wait", RuntimeOptions.AutoWorkers, 0, 128, 2),
        ];
        Console.WriteLine($"ScalingBench --pairs: reference config, {steps} steps per run, {pairs} rounds (in-process, auto, " +
                          $"auto waiting for each step; alternating order), {Environment.ProcessorCount} cores; load {File.ReadAllText("/proc/loadavg").Trim()}");
        var data = Data(train, steps * 128);
        foreach (var c in runs) Measure(Data(train, 16 * 128), c, 16);
        var (vsInProcess, vsWaiting) = (new double[pairs], new double[pairs]);
        for (int p = 0; p < pairs; p++)
        {
            var sps = new double[runs.Length];
            foreach (int c in p % 2 == 0 ? [0, 1, 2] : new[] { 2, 1, 0 }) sps[c] = Measure(data, runs[c], steps).StepsPerSec;
            (vsInProcess[p], vsWaiting[p]) = (sps[1] / sps[0], sps[1] / sps[2]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"pair {p + 1,2}: in-process {sps[0],7:F1} steps/s, auto {sps[1],7:F1} steps/s, auto waiting {sps[2],7:F1} steps/s, auto / in-process {vsInProcess[p]:F3}, auto / waiting {vsWaiting[p]:F3}"));
        }
        Console.WriteLine(Summary("auto / auto waiting for each step (what the lookahead buys)", vsWaiting));
        Console.WriteLine(Summary("auto / in-process", vsInProcess) + $"; load after {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    private static string Summary(string what, double[] ratios)
    {
        var r = ratios.Order().ToArray();
        double Q(double f) => r[(int)Math.Round(f * (r.Length - 1))];
        return string.Create(CultureInfo.InvariantCulture,
            $"{what} steps/s: median {Q(0.5):F3}, quartiles [{Q(0.25):F3}, {Q(0.75):F3}], first faster in {r.Count(x => x >= 1)} of {r.Length} pairs");
    }

    private static Config[] Configs(List<int> counts)
    {
        var list = new List<Config> { new("reference", "in-process", 0, 0, 128, 2), new("reference", "auto", RuntimeOptions.AutoWorkers, 0, 128, 2) };
        list.AddRange(counts.Select(w => new Config("reference", "sync", w, 0, 128, Math.Max(2, w))));
        list.AddRange(counts.Select(w => new Config("reference", "async", w, 1, 128, 1)));
        list.Add(new Config("weak", "sync", 1, 1, 128, 1));
        foreach (var n in counts.Where(n => n > 1))
        {
            list.Add(new Config("weak", "sync", 1, 1, 128 * n, n));
            list.Add(new Config("weak", "sync", n, 1, 128 * n, n));
            list.Add(new Config("weak", "copies", n, 1, 128, 1));
        }
        return list.ToArray();
    }

    /// <summary>The first n samples of `train` (all when fewer).</summary>
    internal static ArrayData Data(Dataset train, int n)
    {
        n = Math.Min(n, train.Count);
        return new ArrayData(train.Images.AsSpan(0, n * 784).ToArray(), 784, train.Labels.AsSpan(0, n).ToArray(), null, n);
    }

    /// <summary>The reference model, built and compiled (RMSprop 0.001, seed 1).</summary>
    internal static Sequential Model()
    {
        var m = new Sequential([new Dense(512, "relu"), new Dense(10, "softmax")], "scaling", [784], seed: 1);
        m.Compile(new RMSprop(learningRate: 0.001), "sparse_categorical_crossentropy", ["accuracy"]);
        m.Build([784]);
        return m;
    }

    /// <summary>Captures the actor executor, to read the parameter server's seconds at the end.</summary>
    private sealed class ExecutorProbe : Callback, IRuntimeCallback
    {
        public IStepExecutor? Executor;
        public double ServerSeconds;
        public void SetExecutor(IStepExecutor executor) => Executor = executor;
        public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs) =>
            ServerSeconds = (Executor as ActorStepExecutor)?.ParameterServerSeconds ?? 0;
    }

    private static (double StepsPerSec, double PsShare) Measure(ArrayData data, Config c, int steps)
    {
        if (c.Mode == "copies")
        {
            // N copies of the 1-worker run at once, each its own model and actor system (same data): summed steps/s
            var one = c with { Mode = "sync", Workers = 1 };
            var runs = Enumerable.Range(0, c.Workers).Select(_ => Task.Run(() => Measure(data, one, steps))).ToArray();
            Task.WaitAll(runs);
            return (runs.Sum(t => t.Result.StepsPerSec), runs.Average(t => t.Result.PsShare));
        }
        var probe = new ExecutorProbe();
        var runtime = c.Mode == "in-process" ? null : new RuntimeOptions(Workers: c.Workers, Mode: c.Mode == "async" ? "async" : "sync",
            ShardsPerBatch: c.Shards, ThreadsPerWorker: c.Threads);
        // as `train` runs it: an actor system of the run's own, warmed up (RuntimeWarmup) before the clock starts —
        // or, with --cold, the private system the executor creates (its dispatcher's threads new at the first step)
        var system = runtime is null || s_cold ? null : WarmSystem(runtime, c);
        try
        {
            var options = new FitOptions
            {
                Epochs = 1, BatchSize = c.Batch, ShardsPerBatch = c.Shards, Seed = 1, Verbose = 0,
                Runtime = runtime is null ? InProcessRuntime.Instance : new ActorStepRuntime(runtime, system),
            };
            ICallback[] callbacks = c.Mode == "auto-wait" ? [probe, new WaitForEachStep()] : [probe];
            var sw = Stopwatch.StartNew();
            var r = Model().FitWith(data, options, callbacks);
            double secs = sw.Elapsed.TotalSeconds;
            return (r.StepsPerSecond, probe.ServerSeconds / secs);
        }
        finally { system?.Terminate().Wait(TimeSpan.FromSeconds(10)); }
    }

    /// <summary>A new actor system with the run's layout warmed up on it, as `train` does before its clock starts
    /// (<see cref="RuntimeWarmup"/>: compiled code, the dispatcher's threads and their kernel buffers).</summary>
    private static Akka.Actor.ActorSystem WarmSystem(RuntimeOptions runtime, Config c)
    {
        var system = ActorTrainingRunner.CreateSystem();
        try
        {
            var model = Model();
            RuntimeWarmup.Run(system, runtime, model.Plan, model.GetWeights(), model.Optimizer, Math.Max(1, c.Batch / Math.Max(1, c.Shards)));
            return system;
        }
        catch
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(10));     // not left running behind the failure
            throw;
        }
    }

    private static void Print(Config[] configs, List<(double StepsPerSec, double PsShare)>[] results)
    {
        Console.WriteLine();
        Console.WriteLine($"{"config",-10} {"mode",-10} {"workers",7} {"threads",7} {"batch",6} {"shards",6} {"steps/s med",11} {"best",7} {"samples/s med",13} {"PS share",8}  layout");
        for (int c = 0; c < configs.Length; c++)
        {
            var k = configs[c];
            var med = results[c].OrderBy(x => x.StepsPerSec).ElementAt(results[c].Count / 2);
            double best = results[c].Max(x => x.StepsPerSec);
            var layout = k.Mode == "in-process" ? "this thread" : k.Mode == "copies" ? $"{k.Workers} separate runs of 1 worker x 1 thread" : new RuntimeOptions(Workers: k.Workers, Mode: k.Mode == "async" ? "async" : "sync",
                ShardsPerBatch: k.Shards, ThreadsPerWorker: k.Threads).Layout.ToString();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{k.Name,-10} {k.Mode,-10} {(k.Workers < 0 ? "auto" : k.Workers.ToString(CultureInfo.InvariantCulture)),7} {(k.Threads == 0 ? "auto" : k.Threads.ToString(CultureInfo.InvariantCulture)),7} {k.Batch,6} {k.Shards,6} {med.StepsPerSec,11:F1} {best,7:F1} {med.StepsPerSec * k.Batch,13:F0} {med.PsShare,8:P1}  {layout}"));
        }
        double Med(int c) => results[c].Select(x => x.StepsPerSec).Order().ElementAt(results[c].Count / 2);
        int baseline = Array.FindIndex(configs, k => k is { Name: "weak", Workers: 1, Shards: 1 });
        for (int c = baseline + 2; baseline >= 0 && c + 1 < configs.Length && configs[c + 1].Mode == "copies"; c += 3)
        {
            var k = configs[c];
            double ceiling = Med(c + 1) / Med(baseline);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"weak scaling, batch {k.Batch} in {k.Shards} shards, 1 thread per worker: {k.Workers} workers = {Med(c) / Med(c - 1):F2}x the steps/s of 1 worker; " +
                $"samples/s efficiency vs 1 worker on batch 128 = {Med(c) * k.Batch / (Med(baseline) * 128 * k.Workers):P0}; " +
                $"{k.Workers} independent copies of the 1-worker run = {ceiling:F2}x its steps/s (this machine's ceiling), so the workers reach " +
                $"{Med(c) * k.Batch / (Med(c + 1) * 128):P0} of it"));
        }
        if (configs.Length > 1 && configs[0] is { Name: "reference", Mode: "in-process" })
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"reference: auto / in-process steps/s = {Med(1) / Med(0):F2}"));
    }

    private static void AsyncAccuracy(Dataset train, Dataset test, int[] workerCounts)
    {
        Console.WriteLine();
        Console.WriteLine("async, reference config (batch 128), 2 epochs on all of MNIST, max-staleness 4 (no cap: 1000):");
        Console.WriteLine($"{"workers",7} {"staleness",9} {"max-stale",9} {"seconds",8} {"rejected",8} {"test acc",8}");
        var full = Data(train, train.Count);
        var testData = Data(test, test.Count);
        foreach (var w in workerCounts)
            foreach (var (policy, cap) in new[] { (StalenessPolicy.None, 4), (StalenessPolicy.None, 1000), (StalenessPolicy.Inverse, 1000) })
            {
                var m = Model();
                var sw = Stopwatch.StartNew();
                var r = m.FitWith(full, new FitOptions
                {
                    Epochs = 2, BatchSize = 128, Seed = 1, Verbose = 0,
                    Runtime = new ActorStepRuntime(new RuntimeOptions(Workers: w, Mode: "async", AsyncMaxStaleness: cap, Staleness: policy, ThreadsPerWorker: 1)),
                });
                double secs = sw.Elapsed.TotalSeconds;
                double acc = m.EvaluateArrays(testData)["accuracy"];
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{w,7} {policy.ToString().ToLowerInvariant(),9} {cap,9} {secs,8:F2} {r.StaleGradientsRejected,8} {acc,8:F4}"));
            }
    }
}
