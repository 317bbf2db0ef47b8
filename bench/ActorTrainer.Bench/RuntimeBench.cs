using System.Diagnostics;
using System.Globalization;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Kernels;
using ActorTrainer.Runtime;

namespace ActorTrainer.Bench;

/// <summary>Steps/s of the in-process SyncStepper loop vs the actor runtime (sync with 1, 2, 4 workers; async with
/// 2 workers) on the reference MLP 784-512-10 (relu/softmax, RMSprop) over MNIST. Sync runs are also checked
/// bit-identical to the SyncStepper weights. Options: --steps N (300), --batch B (128), --shards S (4),
/// --workers a,b,c (1,2,4), --async-workers W (2).</summary>
public static class RuntimeBench
{
    private sealed record Row(string Mode, string Workers, long Steps, double Seconds, double StepsPerSecond, string Weights);

    /// <summary>Runs the benchmark and prints a table; returns 0, or 1 when a sync run is not bit-identical to the reference.</summary>
    public static int Run(string[] args)
    {
        int steps = 300, batch = 128, shards = 4, asyncWorkers = 2;
        int[] workerCounts = [1, 2, 4];
        for (int i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"runtime bench: option {args[i]} needs a value");
            int Int(string name, string v) => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
                ? n : throw new ArgumentException($"runtime bench: {name} must be a positive integer, got '{v}'");
            switch (args[i])
            {
                case "--steps": steps = Int("--steps", Next()); break;
                case "--batch": batch = Int("--batch", Next()); break;
                case "--shards": shards = Int("--shards", Next()); break;
                case "--async-workers": asyncWorkers = Int("--async-workers", Next()); break;
                case "--workers": workerCounts = Next().Split(',').Select(v => Int("--workers", v)).ToArray(); break;
                default: throw new ArgumentException($"runtime bench: unknown option '{args[i]}' (allowed: --steps, --batch, --shards, --workers, --async-workers)");
            }
        }
        var (train, _) = Mnist.loadBundled().ToValueTuple();
        int n = Math.Min(train.Count, steps * batch);
        steps = Batching.batchCount(n, batch);
        var data = new TrainingData(train.Images.AsSpan(0, n * 784).ToArray(), train.Labels.AsSpan(0, n).ToArray(), null, n, 784);
        var plan = new ModelPlan(784,
            [PlanLayer.NewDense(784, 512, true, Activation.Relu), PlanLayer.NewDense(512, 10, true, Activation.Softmax)],
            Loss.SparseCategoricalCrossentropy);
        var init = plan.WeightShapes.Select((s, k) => s.Length == 1 ? new float[s[0]] : Initializer.GlorotUniform.Create(s, 42 + k)).ToArray();
        Optimizer Rms() => new RMSprop(learningRate: 0.001);
        TrainingJob Job(RuntimeOptions o, TrainingData d) => new(plan, init, Rms(), d, null, 1, batch, 1, true, o, "bench");

        Console.WriteLine($"RuntimeBench: MLP 784-512-10 (relu/softmax, RMSprop), MNIST {n} samples, batch {batch}, " +
                          $"{shards} shards/batch, {steps} steps, {Environment.ProcessorCount} cores, GEMM '{GemmBackends.Default.Name}'");

        // warm-up (JIT, caches): a few steps of each path
        var warm = data with { X = data.X.AsSpan(0, Math.Min(n, 8 * batch) * 784).ToArray(), Labels = data.Labels!.AsSpan(0, Math.Min(n, 8 * batch)).ToArray(), Count = Math.Min(n, 8 * batch) };
        StepperLoop(plan, init, warm, batch, shards);
        ActorTrainingRunner.RunAsync(Job(new RuntimeOptions(Workers: 2, ShardsPerBatch: shards), warm), NullTrainingObserver.Instance, CancellationToken.None).GetAwaiter().GetResult();

        var rows = new List<Row>();
        var (refWeights, refSeconds) = StepperLoop(plan, init, data, batch, shards);
        rows.Add(new Row("stepper", "-", steps, refSeconds, steps / refSeconds, "reference"));
        bool ok = true;
        foreach (int w in workerCounts)
        {
            var sw = Stopwatch.StartNew();
            var r = ActorTrainingRunner.RunAsync(Job(new RuntimeOptions(Workers: w, ShardsPerBatch: shards), data), NullTrainingObserver.Instance, CancellationToken.None).GetAwaiter().GetResult();
            double secs = sw.Elapsed.TotalSeconds;
            bool same = Identical(refWeights, r.Weights);
            ok &= same;
            rows.Add(new Row("sync", w.ToString(CultureInfo.InvariantCulture), r.Steps, secs, r.Steps / secs, same ? "bit-identical" : "DIFFERENT"));
        }
        {
            var sw = Stopwatch.StartNew();
            var r = ActorTrainingRunner.RunAsync(Job(new RuntimeOptions(Workers: asyncWorkers, Mode: "async", ShardsPerBatch: shards), data),
                NullTrainingObserver.Instance, CancellationToken.None).GetAwaiter().GetResult();
            double secs = sw.Elapsed.TotalSeconds;
            rows.Add(new Row("async", asyncWorkers.ToString(CultureInfo.InvariantCulture), r.Steps, secs, r.Steps / secs,
                $"n/a ({r.StaleGradientsRejected} stale rejected, loss {r.History[0].Loss:F4})"));
        }

        Console.WriteLine();
        Console.WriteLine($"{"mode",-8} {"workers",7} {"steps",6} {"seconds",8} {"steps/s",8} {"vs stepper",10}  weights");
        foreach (var row in rows)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{row.Mode,-8} {row.Workers,7} {row.Steps,6} {row.Seconds,8:F2} {row.StepsPerSecond,8:F1} {row.StepsPerSecond / rows[0].StepsPerSecond,9:F2}x  {row.Weights}"));
        var two = rows.FirstOrDefault(r => r is { Mode: "sync", Workers: "2" });
        if (two is not null)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"\nsync 2 workers / stepper = {two.StepsPerSecond / rows[0].StepsPerSecond:F2} (target >= 0.90)"));
        if (!ok) Console.WriteLine("ERROR: a sync actor run did not reproduce the SyncStepper weights bit for bit");
        return ok ? 0 : 1;
    }

    private static (float[][] Weights, double Seconds) StepperLoop(ModelPlan plan, float[][] init, TrainingData d, int batch, int shards)
    {
        var w = init.Select(a => (float[])a.Clone()).ToArray();
        var opt = new RMSprop(learningRate: 0.001);
        var stepper = new SyncStepper(plan, batch, shards);
        var order = Batching.permutation(1, 0, d.Count, true);
        int steps = Batching.batchCount(d.Count, batch);
        var sw = Stopwatch.StartNew();
        for (int b = 0; b < steps; b++)
        {
            int start = b * batch;
            stepper.Step(w, opt, d.X, d.Labels, null, order, start, Math.Min(batch, d.Count - start), 1, b);
        }
        return (w, sw.Elapsed.TotalSeconds);
    }

    private static bool Identical(float[][] a, float[][] b) =>
        a.Length == b.Length && a.Zip(b).All(p => p.First.AsSpan().SequenceEqual(p.Second));
}
