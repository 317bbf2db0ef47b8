using System.Diagnostics;
using System.Globalization;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Runtime;

namespace ActorTrainer.Bench;

/// <summary>`bench -- scaling --model`: measures the pieces of a step on this machine — one shard's gradient on one
/// thread for 8–128 rows, the 128-row shard on 2 threads (GEMM thread speed-up), the 128-row shard on every core at
/// once (the hardware's parallel efficiency: shared caches, memory bandwidth, clocks), one fold (acc += g) and one
/// RMSprop update over the whole parameter vector, and the actor runtime's cost per step and per extra shard (from
/// short sync runs) — and predicts from them steps/s of the reference model for 1–64 cores: sync with batch 128 (best
/// layout), weak scaling (128 per shard) and async. Assumptions, stated with the table: every core computes as one
/// core does here at the measured parallel efficiency; GEMM threads follow Amdahl's law fitted to the 2-thread
/// speed-up, at most one thread per 8 rows; all shards of a step arrive together, so the slices fold all but the first
/// on the critical path (pessimistic: in practice folding overlaps the slower shards).</summary>
public static class ScalingModel
{
    private const int Steps = 469;          // one epoch of MNIST at batch 128

    /// <summary>Measured costs in seconds.</summary>
    private sealed record Costs(Dictionary<int, double> Shard, double Shard2Threads, double Concurrent, double Fold, double Update,
        double PerStep, double PerShard, long P)
    {
        /// <summary>Hardware parallel efficiency: lone shard time / shard time with every core busy.</summary>
        public double Efficiency => Math.Min(1, Shard[128] / Concurrent);

        /// <summary>Parallel fraction of a shard's work under GEMM threads (Amdahl fit to the 2-thread speed-up).</summary>
        public double ParallelFraction => Math.Clamp(2 * (1 - Shard2Threads / Shard[128]), 0, 1);

        /// <summary>Speed-up of a shard of `rows` rows on t threads.</summary>
        public double Speedup(int t, int rows)
        {
            int useful = Math.Max(1, Math.Min(t, rows / 8));
            return 1 / (1 - ParallelFraction + ParallelFraction / useful);
        }
    }

    /// <summary>Measures, prints the costs and the predicted table.</summary>
    public static void Run(Dataset train)
    {
        var c = Measure(train);
        Console.WriteLine();
        Console.WriteLine("Scaling model — measured pieces on this machine (median of repeats):");
        foreach (var (rows, t) in c.Shard) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  shard gradient, {rows,3} rows, 1 thread: {t * 1e3,7:F3} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  128 rows on 2 threads: {c.Shard2Threads * 1e3:F3} ms (parallel fraction {c.ParallelFraction:P0}); 1 thread on each of the {Environment.ProcessorCount} cores at once: {c.Concurrent * 1e3:F3} ms (parallel efficiency {c.Efficiency:P0})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  fold acc += g over {c.P} parameters: {c.Fold * 1e3:F3} ms; RMSprop update: {c.Update * 1e3:F3} ms; runtime per step {c.PerStep * 1e3:F3} ms, per extra shard {c.PerShard * 1e3:F3} ms"));
        Console.WriteLine();
        Console.WriteLine($"{"cores",5} {"slices",6} {"auto (2 shards)",15} {"steps/s",7} {"best ref layout",15} {"steps/s",7} {"s/epoch",7} {"weak samples/s",14} {"weak eff.",9} {"weak PS share",13} {"async samples/s",15}");
        foreach (int n in new[] { 1, 2, 4, 8, 16, 32, 64 })
        {
            var (layout, refStep) = BestReference(c, n);
            var (auto, autoStep) = AutoReference(c, n);
            double weak = WeakStep(c, n), weak1 = WeakStep(c, 1);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{n,5} {Slices(c, n),6} {auto,15} {1 / autoStep,7:F0} {layout,15} {1 / refStep,7:F0} {refStep * Steps,7:F3} {128 * n / weak,14:F0} {weak1 / weak,9:P0} {ServerTail(c, n, n) / weak,13:P1} {AsyncRate(c, n),15:F0}"));
        }
    }

    private static int Slices(Costs c, int cores) => ParameterSlices.Auto(cores, c.P);

    /// <summary>The parameter server's part of a step of `shards` shards on `cores` cores: the slices fold all but the
    /// first shard and update, each over its share of the parameters.</summary>
    private static double ServerTail(Costs c, int cores, int shards) => ((shards - 1) * c.Fold + c.Update) / Slices(c, cores);

    /// <summary>Weak scaling, n workers × 1 thread, n shards of 128 rows.</summary>
    private static double WeakStep(Costs c, int n) =>
        c.Shard[128] / (n > 1 ? c.Efficiency : 1) + ServerTail(c, n, n) + c.PerStep + (n - 1) * c.PerShard;

    /// <summary>Reference batch 128 on n cores: the best of w workers × (n / w) threads with w shards of 128 / w rows.</summary>
    private static (string Layout, double Step) BestReference(Costs c, int n)
    {
        (string, double) best = ("", double.MaxValue);
        for (int w = 1; w <= n && 128 / w >= 8; w *= 2)
        {
            double step = LayoutStep(c, n, w, Math.Max(1, n / w), w);
            if (step < best.Item2) best = ($"{w}w x {Math.Max(1, n / w)}t", step);
        }
        return best;
    }

    /// <summary>A step of batch 128 in `shards` shards on n cores, run by w workers × t threads (w ≤ shards).</summary>
    private static double LayoutStep(Costs c, int n, int w, int t, int shards)
    {
        int rows = 128 / shards, perWorker = (shards + w - 1) / w;
        double compute = perWorker * c.Shard[rows] / c.Speedup(t, rows) / (n > 1 ? c.Efficiency : 1);
        return compute + ServerTail(c, n, shards) + c.PerStep + (shards - 1) * c.PerShard;
    }

    /// <summary>trainer.workers = auto for the reference config (2 shards): its layout and predicted step.</summary>
    private static (string Layout, double Step) AutoReference(Costs c, int n)
    {
        var l = WorkerLayout.Choose(n, RuntimeOptions.AutoWorkers, 0, 2, false);
        return ($"{l.Workers}w x {l.ThreadsPerWorker}t", LayoutStep(c, n, l.Workers, l.ThreadsPerWorker, 2));
    }

    /// <summary>Async, n single-threaded workers on batches of 128: each needs a shard gradient plus a pull (a copy of
    /// P floats, about one fold); each slice applies one update at a time.</summary>
    private static double AsyncRate(Costs c, int n)
    {
        double perWorker = (n > 1 ? c.Efficiency : 1) / (c.Shard[128] + c.Fold + c.PerStep);
        double server = Slices(c, n) / c.Update;
        return 128 * Math.Min(n * perWorker, server);
    }

    private static Costs Measure(Dataset train)
    {
        var plan = new ModelPlan(784,
            [PlanLayer.NewDense(784, 512, true, Activation.Relu), PlanLayer.NewDense(512, 10, true, Activation.Softmax)],
            Loss.SparseCategoricalCrossentropy);
        var w = plan.WeightShapes.Select((s, k) => s.Length == 1 ? new float[s[0]] : Initializer.GlorotUniform.Create(s, 42 + k)).ToArray();
        var grads = w.Select(a => new float[a.Length]).ToArray();
        var engine = new GradientEngine(plan, 128) { MaxDegreeOfParallelism = 1 };
        var shard = new Dictionary<int, double>();
        foreach (int rows in new[] { 8, 16, 32, 64, 128 })
            shard[rows] = Median(25, () => engine.ComputeGradients(w, train.Images.AsSpan(0, rows * 784), train.Labels.AsSpan(0, rows),
                ReadOnlySpan<float>.Empty, rows, 128, 1, grads));
        var acc = w.Select(a => (float[])a.Clone()).ToArray();
        double fold = Median(50, () => Batching.addInto(acc, grads));
        var opt = new RMSprop(learningRate: 1e-9);
        double update = Median(50, () => opt.Apply(acc, grads));
        var engine2 = new GradientEngine(plan, 128) { MaxDegreeOfParallelism = 2 };
        double shard2 = Median(25, () => engine2.ComputeGradients(w, train.Images.AsSpan(0, 128 * 784), train.Labels.AsSpan(0, 128),
            ReadOnlySpan<float>.Empty, 128, 128, 1, grads));
        var (perStep, perShard) = Overhead(train, shard[128], shard[64], fold, update);
        double concurrent = Concurrent(plan, w, train);
        return new Costs(shard, shard2, concurrent, fold, update, perStep, perShard, w.Sum(a => (long)a.Length));
    }

    /// <summary>Runtime cost per step and per extra shard: one worker, batch 128 in 1 shard and in 2 shards, minus
    /// the compute and parameter-server time those steps need.</summary>
    private static (double PerStep, double PerShard) Overhead(Dataset train, double shard128, double shard64, double fold, double update)
    {
        // seconds per step without the start-up: the difference of a 300-step and a 100-step run, over 200 steps
        double StepTime(int shards) => (RunSeconds(train, shards, 300) - RunSeconds(train, shards, 100)) / 200;
        RunSeconds(train, 1, 50);                               // warm-up
        double one = new[] { StepTime(1), StepTime(1), StepTime(1) }.Order().ElementAt(1) - shard128 - update;
        double two = new[] { StepTime(2), StepTime(2), StepTime(2) }.Order().ElementAt(1) - 2 * shard64 - fold - update;
        return (Math.Max(0, one), Math.Max(0, two - one));
    }

    /// <summary>The 128-row shard gradient when every core runs one at the same time (each thread its own engine and
    /// buffers, as gradient workers do): the median per-shard time; its ratio to the lone shard is the hardware's
    /// parallel efficiency (shared caches, memory bandwidth, clocks), which no runtime can beat.</summary>
    private static double Concurrent(ModelPlan plan, float[][] w, Dataset train)
    {
        int n = Environment.ProcessorCount;
        var times = new double[n][];
        using var start = new Barrier(n);
        var threads = Enumerable.Range(0, n).Select(t => new Thread(() =>
        {
            var engine = new GradientEngine(plan, 128) { MaxDegreeOfParallelism = 1 };
            var grads = w.Select(a => new float[a.Length]).ToArray();
            var x = train.Images.AsSpan(t * 128 * 784, 128 * 784).ToArray();
            var y = train.Labels.AsSpan(t * 128, 128).ToArray();
            start.SignalAndWait();
            times[t] = Enumerable.Range(0, 40).Select(_ =>
            {
                long t0 = Stopwatch.GetTimestamp();
                engine.ComputeGradients(w, x, y, ReadOnlySpan<float>.Empty, 128, 128, 1, grads);
                return Stopwatch.GetElapsedTime(t0).TotalSeconds;
            }).Skip(5).Order().ToArray();
        })).ToArray();
        foreach (var th in threads) th.Start();
        foreach (var th in threads) th.Join();
        var all = times.SelectMany(a => a).Order().ToArray();
        return all[all.Length / 2];
    }

    private static double RunSeconds(Dataset train, int shards, int steps)
    {
        var data = ScalingBench.Data(train, steps * 128);
        var m = ScalingBench.Model();
        var o = new FitOptions
        {
            Epochs = 1, BatchSize = 128, ShardsPerBatch = shards, Seed = 1, Verbose = 0,
            Runtime = new ActorStepRuntime(new RuntimeOptions(Workers: 1, ShardsPerBatch: shards, ThreadsPerWorker: 1, PsSlices: 1)),
        };
        var sw = Stopwatch.StartNew();
        m.FitWith(data, o);
        return sw.Elapsed.TotalSeconds;
    }

    private static double Median(int reps, Action a)
    {
        a();
        var t = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            a();
            t[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        Array.Sort(t);
        return t[reps / 2];
    }
}
