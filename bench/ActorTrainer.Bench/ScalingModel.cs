using System.Diagnostics;
using System.Globalization;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Runtime;

namespace ActorTrainer.Bench;

/// <summary>`bench -- scaling --model`: measures the pieces of a step on this machine (one shard's gradient on one
/// thread for 8–128 rows, one fold (acc += g) and one RMSprop update over the whole parameter vector, and the actor
/// runtime's fixed cost per step and per extra shard from two short sync runs) and predicts from them the epoch time
/// of the reference model for 1–64 cores, sync (reference batch 128 and weak scaling with 128 per shard) and async.
/// The model assumes every core computes as fast as one core does here, no memory-bandwidth limit and GEMM threads
/// that scale linearly while each thread keeps ≥ 16 rows (all optimistic; the measured table sits next to it).</summary>
public static class ScalingModel
{
    private const int Steps = 469;          // one epoch of MNIST at batch 128

    /// <summary>Measured costs in seconds: shard gradient by rows (1 thread), fold and update over all P parameters,
    /// runtime overhead per step and per extra shard.</summary>
    private sealed record Costs(Dictionary<int, double> Shard, double Fold, double Update, double PerStep, double PerShard, long P,
        double Concurrent);

    /// <summary>Measures, prints the costs and the predicted table.</summary>
    public static void Run(Dataset train)
    {
        var c = Measure(train);
        Console.WriteLine();
        Console.WriteLine("Scaling model — measured pieces on this machine (median of repeats):");
        foreach (var (rows, t) in c.Shard) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  shard gradient, {rows,3} rows, 1 thread: {t * 1e3,7:F3} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  shard gradient, 128 rows, 1 thread on each of the {Environment.ProcessorCount} cores at once: {c.Concurrent * 1e3:F3} ms (hardware parallel efficiency {c.Shard[128] / c.Concurrent:P0})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  fold acc += g over {c.P} parameters: {c.Fold * 1e3:F3} ms; RMSprop update: {c.Update * 1e3:F3} ms; runtime per step {c.PerStep * 1e3:F3} ms, per extra shard {c.PerShard * 1e3:F3} ms"));
        Console.WriteLine();
        Console.WriteLine($"{"cores",5} {"ref layout",14} {"ref s/epoch",11} {"weak samples/s",14} {"weak eff.",9} {"PS share",8} {"async samples/s",15}");
        foreach (int n in new[] { 1, 2, 4, 8, 16, 32, 64 })
        {
            var (layout, refStep) = BestReference(c, n);
            double weak = WeakStep(c, n), weak1 = WeakStep(c, 1);
            double ps = (c.Fold + c.Update) / Slices(c, n);
            double async = AsyncRate(c, n);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{n,5} {layout,14} {refStep * Steps,11:F3} {128 * n / weak,14:F0} {weak1 / weak,9:P0} {ps / weak,8:P1} {async,15:F0}"));
        }
    }

    private static int Slices(Costs c, int cores) => ParameterSlices.Auto(cores, c.P);

    /// <summary>Weak scaling, n workers × 1 thread, n shards of 128: the slowest shard, then the tail of the
    /// parameter server (fold of the last shard + update, split over the slices), then the runtime's overhead.</summary>
    private static double WeakStep(Costs c, int n) =>
        c.Shard[128] + (n > 1 ? c.Fold : 0) / Slices(c, n) + c.Update / Slices(c, n) + c.PerStep + (n - 1) * c.PerShard;

    /// <summary>Reference batch 128 on n cores: the best of w workers × (n / w) threads with w shards of 128 / w rows.</summary>
    private static (string Layout, double Step) BestReference(Costs c, int n)
    {
        (string, double) best = ("", double.MaxValue);
        for (int w = 1; w <= n && 128 / w >= 8; w *= 2)
        {
            int rows = 128 / w, threads = Math.Max(1, n / w);
            int useful = Math.Max(1, Math.Min(threads, rows / 16));     // threads that still get >= 16 rows each
            double step = c.Shard[rows] / useful + ((w > 1 ? c.Fold : 0) + c.Update) / Slices(c, n) + c.PerStep + (w - 1) * c.PerShard;
            if (step < best.Item2) best = ($"{w}w x {threads}t", step);
        }
        return best;
    }

    /// <summary>Async, n single-threaded workers on batches of 128: each needs a shard gradient plus a pull (a copy of
    /// P floats, about one fold); the slices apply updates one at a time each.</summary>
    private static double AsyncRate(Costs c, int n)
    {
        double perWorker = 1 / (c.Shard[128] + c.Fold + c.PerStep);
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
        var (perStep, perShard) = Overhead(train, shard[128], shard[64], fold, update);
        double concurrent = Concurrent(plan, w, train);
        return new Costs(shard, fold, update, perStep, perShard, w.Sum(a => (long)a.Length), concurrent);
    }

    /// <summary>Runtime cost per step and per extra shard: one worker, batch 128 in 1 shard and in 2 shards, minus
    /// the compute and parameter-server time those steps need.</summary>
    private static (double PerStep, double PerShard) Overhead(Dataset train, double shard128, double shard64, double fold, double update)
    {
        // seconds per step without the start-up: the difference of a 300-step and a 100-step run, over 200 steps
        double StepTime(int shards) => (RunSeconds(train, shards, 300) - RunSeconds(train, shards, 100)) / 200;
        StepTime(1);                                            // warm-up
        double one = StepTime(1) - shard128 - update;
        double two = StepTime(2) - 2 * shard64 - fold - update;
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
        int n = steps * 128;
        var data = new ArrayData(train.Images.AsSpan(0, n * 784).ToArray(), 784, train.Labels.AsSpan(0, n).ToArray(), null, n);
        var m = new Sequential([new Dense(512, "relu"), new Dense(10, "softmax")], "model", [784], seed: 1);
        m.Compile(new RMSprop(learningRate: 0.001), "sparse_categorical_crossentropy", ["accuracy"]);
        m.Build([784]);
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
