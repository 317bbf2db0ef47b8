using System.Diagnostics;
using System.Globalization;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Runtime;

namespace ActorTrainer.Bench;

/// <summary>`bench -- scaling --model`: measures the pieces of a step on this machine — one shard's gradient on one
/// thread for 8–128 rows; the 128-row shard on 2 threads against 1, alternating (GEMM thread speed-up); the 128-row
/// shard on every core at once against one alone in the same rounds, the weights rewritten between rounds as the
/// slices do (the hardware's parallel efficiency, and the spread between shards that a sync step waits for); one fold
/// (acc += g) and one RMSprop update over the whole parameter vector; a worker's gather of its rows and check of its
/// gradient; the actor runtime's own cost per step and per extra shard (a model with next to no arithmetic) — and
/// predicts from them steps/s of the reference model for 1–64 cores: sync with batch 128 (best layout), weak scaling
/// (128 per shard) and async. A real weak-scaling run on this machine's cores is printed beside the model's
/// prediction for it. Assumptions, stated with the table: every core computes as one core does here at the measured
/// parallel efficiency; GEMM threads follow Amdahl's law fitted to the 2-thread speed-up, at most one thread per
/// 8 rows; a step waits for the slowest of its shards (expected maximum of the measured spread); all shards of a step
/// arrive together, so the slices fold all but the first on the critical path (pessimistic: in practice folding
/// overlaps the slower shards).</summary>
public static class ScalingModel
{
    private const int Steps = 469;          // one epoch of MNIST at batch 128

    /// <summary>Measured costs in seconds.</summary>
    private sealed record Costs(Dictionary<int, double> Shard, double Shard1Thread, double Shard2Threads, double Lone, double Concurrent, double[] ConcurrentSamples,
        double Fold, double Update, double Check, double Gather, double PerStep, double PerShard, long P)
    {
        /// <summary>Validation: the weak-scaling step on every core of this machine, measured in a real run.</summary>
        public double RealWeakStep { get; init; }

        /// <summary>A sync step waits for the slowest of n shards: the expected maximum of n draws from the concurrent
        /// run's shard times, each divided by its round's mean (so that the machine's speed changing between rounds is
        /// not counted as spread between shards); 1 for n = 1.</summary>
        public double Straggler(int n)
        {
            if (n <= 1) return 1;
            var rnd = new Random(n);
            double sum = 0;
            for (int t = 0; t < 2000; t++)
            {
                double max = 0;
                for (int i = 0; i < n; i++) max = Math.Max(max, ConcurrentSamples[rnd.Next(ConcurrentSamples.Length)]);
                sum += max;
            }
            return sum / 2000;
        }

        /// <summary>A worker's own work per shard besides the gradient: gathering its rows and checking its gradient for
        /// NaN/Inf (the last worker's is on the step's critical path).</summary>
        public double WorkerExtra(int rows) => Check + Gather * rows / 128;

        /// <summary>Hardware parallel efficiency: lone shard time / shard time with every core busy (the same rounds).</summary>
        public double Efficiency => Math.Min(1, Lone / Concurrent);

        /// <summary>Parallel fraction of a shard's work under GEMM threads (Amdahl fit to the 2-thread speed-up).</summary>
        public double ParallelFraction => Math.Clamp(2 * (1 - Shard2Threads / Shard1Thread), 0, 1);

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
            $"  128 rows on 2 threads: {c.Shard2Threads * 1e3:F3} ms against {c.Shard1Thread * 1e3:F3} ms on 1, alternating (parallel fraction {c.ParallelFraction:P0}); 1 thread on each of the {Environment.ProcessorCount} cores at once: {c.Concurrent * 1e3:F3} ms against {c.Lone * 1e3:F3} ms alone in the same rounds (parallel efficiency {c.Efficiency:P0})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  fold acc += g over {c.P} parameters: {c.Fold * 1e3:F3} ms; RMSprop update: {c.Update * 1e3:F3} ms; a worker's check of its gradient {c.Check * 1e3:F3} ms, gather of 128 rows {c.Gather * 1e3:F3} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  runtime per step {c.PerStep * 1e3:F3} ms, per extra shard {c.PerShard * 1e3:F3} ms; slowest of n shards / median shard: {string.Join(", ", new[] { 2, 4, 8, 16, 64 }.Select(n => $"n={n} {c.Straggler(n):F2}"))}"));
        int cores = Environment.ProcessorCount;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  validation: a real weak-scaling step on the {cores} cores here ({cores} workers × 1 thread, {cores} shards of 128, median step after the first 100) took {c.RealWeakStep * 1e3:F3} ms; the model below predicts {WeakStep(c, cores) * 1e3:F3} ms (real / model = {c.RealWeakStep / WeakStep(c, cores):F2})"));
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
        c.Shard[128] / (n > 1 ? c.Efficiency : 1) * c.Straggler(n) + c.WorkerExtra(128) + ServerTail(c, n, n) + c.PerStep + (n - 1) * c.PerShard;

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
        double compute = perWorker * c.Shard[rows] / c.Speedup(t, rows) / (n > 1 ? c.Efficiency : 1) * c.Straggler(w);
        return compute + c.WorkerExtra(rows) + ServerTail(c, n, shards) + c.PerStep + (shards - 1) * c.PerShard;
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
        double perWorker = (n > 1 ? c.Efficiency : 1) / (c.Shard[128] + c.WorkerExtra(128) + c.Fold + c.PerStep);
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
        // 2 GEMM threads against 1, alternating, so that both see the same minutes of a noisy machine
        var engine2 = new GradientEngine(plan, 128) { MaxDegreeOfParallelism = 2 };
        double Time(GradientEngine e)
        {
            long t0 = Stopwatch.GetTimestamp();
            e.ComputeGradients(w, train.Images.AsSpan(0, 128 * 784), train.Labels.AsSpan(0, 128), ReadOnlySpan<float>.Empty, 128, 128, 1, grads);
            return Stopwatch.GetElapsedTime(t0).TotalSeconds;
        }
        Time(engine2);
        var pairs = Enumerable.Range(0, 25).Select(_ => (One: Time(engine), Two: Time(engine2))).ToArray();
        double shard1 = pairs.Select(p => p.One).Order().ElementAt(12), shard2 = pairs.Select(p => p.Two).Order().ElementAt(12);
        double check = Median(50, () => Batching.allFinite(grads));
        var idx = Batching.permutation(1, 0, train.Count, true);
        var rowsBuf = new float[128 * 784];
        double gather = Median(50, () => Batching.gather(train.Images, 784, idx, 0, 128, rowsBuf));
        var (perStep, perShard) = Overhead();
        var (lone, concurrent, samples) = Concurrent(plan, w, train);
        var pieces = new Costs(shard, shard1, shard2, lone, concurrent, samples, fold, update, check, gather, perStep, perShard, w.Sum(a => (long)a.Length));
        return pieces with { RealWeakStep = MedianRealStep(train, Environment.ProcessorCount) };
    }

    /// <summary>Median interval between consecutive steps (after the first 100) of the reference model trained by the
    /// actor runtime in the weak-scaling layout: n workers × 1 thread, n shards of 128 rows.</summary>
    private static double MedianRealStep(Dataset train, int n)
    {
        var clock = new StepClock();
        ScalingBench.Model().FitWith(ScalingBench.Data(train, 400 * 128 * n), new FitOptions
        {
            Epochs = 1, BatchSize = 128 * n, ShardsPerBatch = n, Seed = 1, Verbose = 0,
            Runtime = new ActorStepRuntime(new RuntimeOptions(Workers: n, ShardsPerBatch: n, ThreadsPerWorker: 1)),
        }, [clock]);
        var gaps = clock.Ticks.Skip(100).Zip(clock.Ticks.Skip(101), (a, c) => (c - a) / (double)Stopwatch.Frequency).Order().ToArray();
        return gaps[gaps.Length / 2];
    }

    /// <summary>Runtime cost per step and per extra shard, measured directly: the actor runtime (1 worker × 1 thread,
    /// 1 slice) training a model with next to no arithmetic (Dense(2, softmax) on 4 inputs, one row per shard), so a
    /// step lasts as long as the runtime's own work — messages, wake-ups, bookkeeping — for S = 1, 2, 4, 8, 16 shards.
    /// Each S gives the median interval between consecutive steps (robust to GC pauses and a noisy machine); a
    /// least-squares line t(S) = per step + (S − 1) · per extra shard through the five medians. One worker runs every
    /// shard, so the per-shard cost includes the worker's side, which n workers would overlap (pessimistic).</summary>
    private static (double PerStep, double PerShard) Overhead()
    {
        int[] counts = [1, 2, 4, 8, 16];
        MedianStepSeconds(4, 200);                                   // warm-up: JIT
        var t = counts.Select(s => MedianStepSeconds(s, 800)).ToArray();
        double mx = counts.Average(s => s - 1.0), my = t.Average();
        double b = counts.Select((s, i) => (s - 1 - mx) * (t[i] - my)).Sum() / counts.Sum(s => (s - 1 - mx) * (s - 1 - mx));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  runtime alone (median step, near-zero arithmetic): {string.Join(", ", counts.Select((s, i) => $"{s} shard{(s > 1 ? "s" : "")} {t[i] * 1e3:F3} ms"))}"));
        return (Math.Max(0, my - b * mx), Math.Max(0, b));
    }

    /// <summary>Median seconds between consecutive steps (after the first 100) of the near-zero-arithmetic model.</summary>
    private static double MedianStepSeconds(int shards, int steps)
    {
        int n = steps * shards;
        var rnd = new Random(5);
        var x = Enumerable.Range(0, n * 4).Select(_ => (float)rnd.NextDouble()).ToArray();
        var y = Enumerable.Range(0, n).Select(_ => rnd.Next(2)).ToArray();
        var m = new Sequential([new Dense(2, "softmax")], "runtime-cost", [4], seed: 1);
        m.Compile(new RMSprop(), "sparse_categorical_crossentropy", ["accuracy"]);
        m.Build([4]);
        var clock = new StepClock();
        m.FitWith(new ArrayData(x, 4, y, null, n), new FitOptions
        {
            Epochs = 1, BatchSize = shards, ShardsPerBatch = shards, Seed = 1, Verbose = 0,
            Runtime = new ActorStepRuntime(new RuntimeOptions(Workers: 1, ShardsPerBatch: shards, ThreadsPerWorker: 1, PsSlices: 1)),
        }, [clock]);
        var gaps = clock.Ticks.Skip(100).Zip(clock.Ticks.Skip(101), (a, c) => (c - a) / (double)Stopwatch.Frequency).Order().ToArray();
        return gaps[gaps.Length / 2];
    }

    /// <summary>Records the time of every step's end.</summary>
    private sealed class StepClock : Callback
    {
        public readonly List<long> Ticks = new();
        public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs) => Ticks.Add(Stopwatch.GetTimestamp());
    }

    /// <summary>The 128-row shard gradient when every core runs one at the same time (each thread its own engine and
    /// buffers, as gradient workers do), each round starting after every thread has rewritten its share of the shared
    /// weights (as the slices' update does, so the weights' cache lines move between cores as in training), and in
    /// the same rounds one thread's shard alone: the lone and concurrent medians and the concurrent samples. Their
    /// ratio is the hardware's parallel efficiency (shared caches, memory bandwidth, clocks), which no runtime can beat;
    /// measured in the same rounds so that a noisy machine's slow minutes hit both.</summary>
    private static (double Lone, double Median, double[] Samples) Concurrent(ModelPlan plan, float[][] w, Dataset train)
    {
        int n = Environment.ProcessorCount;
        var times = new double[n][];
        var lone = new List<double>();
        using var start = new Barrier(n);
        var threads = Enumerable.Range(0, n).Select(t => new Thread(() =>
        {
            var engine = new GradientEngine(plan, 128) { MaxDegreeOfParallelism = 1 };
            var grads = w.Select(a => new float[a.Length]).ToArray();
            var x = train.Images.AsSpan(t * 128 * 784, 128 * 784).ToArray();
            var y = train.Labels.AsSpan(t * 128, 128).ToArray();
            times[t] = Enumerable.Range(0, 40).Select(_ =>
            {
                foreach (var a in w)
                    for (long i = a.Length * (long)t / n, end = a.Length * (long)(t + 1) / n; i < end; i++) a[i] += 0f;
                start.SignalAndWait();
                if (t == 0)
                {
                    long l0 = Stopwatch.GetTimestamp();
                    engine.ComputeGradients(w, x, y, ReadOnlySpan<float>.Empty, 128, 128, 1, grads);
                    lone.Add(Stopwatch.GetElapsedTime(l0).TotalSeconds);
                }
                start.SignalAndWait();
                long t0 = Stopwatch.GetTimestamp();
                engine.ComputeGradients(w, x, y, ReadOnlySpan<float>.Empty, 128, 128, 1, grads);
                return Stopwatch.GetElapsedTime(t0).TotalSeconds;
            }).Skip(5).ToArray();
        })).ToArray();
        foreach (var th in threads) th.Start();
        foreach (var th in threads) th.Join();
        var all = times.SelectMany(a => a).Order().ToArray();
        var l = lone.Skip(5).Order().ToArray();
        int rounds = times[0].Length;
        var normalized = Enumerable.Range(0, rounds).SelectMany(r =>
        {
            double mean = times.Average(a => a[r]);
            return times.Select(a => a[r] / mean);
        }).ToArray();
        return (l[l.Length / 2], all[all.Length / 2], normalized);
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
