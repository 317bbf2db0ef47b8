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
/// --workers a,b,c (1,2,4), --async-workers W (2), --rounds R (3; configurations
/// run round-robin R times, best and median steps/s reported).</summary>
public static class RuntimeBench
{
    /// <summary>Runs the benchmark and prints a table; returns 0, or 1 when a sync run is not bit-identical to the reference.</summary>
    public static int Run(string[] args)
    {
        int steps = 300, batch = 128, shards = 4, asyncWorkers = 2, rounds = 3;
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
                case "--rounds": rounds = Int("--rounds", Next()); break;
                case "--workers": workerCounts = Next().Split(',').Select(v => Int("--workers", v)).ToArray(); break;
                default: throw new ArgumentException($"runtime bench: unknown option '{args[i]}' (allowed: --steps, --batch, --shards, --workers, --async-workers, --rounds)");
            }
        }
        var (train, _) = Mnist.LoadBundled();
        int n = Math.Min(train.Count, steps * batch);
        steps = Batching.batchCount(n, batch);
        var data = new ArrayData(train.Images.AsSpan(0, n * 784).ToArray(), 784, train.Labels.AsSpan(0, n).ToArray(), null, n);
        var plan = new ModelPlan(784,
            [PlanLayer.NewDense(784, 512, true, Activation.Relu), PlanLayer.NewDense(512, 10, true, Activation.Softmax)],
            Loss.SparseCategoricalCrossentropy);
        var init = plan.WeightShapes.Select((s, k) => s.Length == 1 ? new float[s[0]] : Initializer.GlorotUniform.Create(s, 42 + k)).ToArray();
        Optimizer Rms() => new RMSprop(learningRate: 0.001);
        TrainingJob Job(RuntimeOptions o, ArrayData d) => new(plan, init, Rms(), d, null, 1, batch, 1, true, o, "bench");

        Console.WriteLine($"RuntimeBench: MLP 784-512-10 (relu/softmax, RMSprop), MNIST {n} samples, batch {batch}, " +
                          $"{shards} shards/batch, {steps} steps, {Environment.ProcessorCount} cores, GEMM '{GemmBackends.Default.Name}'");

        // warm-up (JIT, caches): a few steps of each path
        var warm = data.Slice(0, Math.Min(n, 8 * batch));
        StepperLoop(plan, init, warm, batch, shards);
        ActorTrainingRunner.RunAsync(Job(new RuntimeOptions(Workers: 2, ShardsPerBatch: shards), warm), null, CancellationToken.None).GetAwaiter().GetResult();

        // round-robin repetitions, so a load change on a shared machine hits every configuration alike
        var configs = new List<(string Mode, int Workers)> { ("stepper", 0) };
        configs.AddRange(workerCounts.Select(w => ("sync", w)));
        configs.Add(("async", asyncWorkers));
        var rates = configs.Select(_ => new List<double>()).ToArray();
        var notes = new string[configs.Count];
        float[][]? refWeights = null;
        bool ok = true;
        for (int round = 0; round < rounds; round++)
        {
            for (int c = 0; c < configs.Count; c++)
            {
                var (mode, w) = configs[c];
                if (mode == "stepper")
                {
                    var (weights, secs) = StepperLoop(plan, init, data, batch, shards);
                    refWeights ??= weights;
                    rates[c].Add(steps / secs);
                    notes[c] = "reference";
                    continue;
                }
                var sw = Stopwatch.StartNew();
                var r = ActorTrainingRunner.RunAsync(Job(new RuntimeOptions(Workers: w, Mode: mode, ShardsPerBatch: shards), data),
                    null, CancellationToken.None).GetAwaiter().GetResult();
                rates[c].Add(r.Steps / sw.Elapsed.TotalSeconds);
                if (mode == "sync")
                {
                    bool same = Identical(refWeights!, r.Weights);
                    ok &= same;
                    notes[c] = same && notes[c] != "DIFFERENT" ? "bit-identical" : "DIFFERENT";
                }
                else notes[c] = $"n/a ({r.StaleGradientsRejected} stale rejected, loss {r.History[0].Loss:F4})";
            }
        }

        double Best(int c) => rates[c].Max();
        double Median(int c) => rates[c].Order().ElementAt(rates[c].Count / 2);
        Console.WriteLine();
        Console.WriteLine($"{"mode",-8} {"workers",7} {"steps",6} {"best/s",8} {"median/s",9} {"best vs stepper",16}  weights");
        for (int c = 0; c < configs.Count; c++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{configs[c].Mode,-8} {(configs[c].Workers == 0 ? "-" : configs[c].Workers.ToString(CultureInfo.InvariantCulture)),7} {steps,6} {Best(c),8:F1} {Median(c),9:F1} {Best(c) / Best(0),15:F2}x  {notes[c]}"));
        int two = configs.FindIndex(x => x is ("sync", 2));
        if (two >= 0)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"\nsync 2 workers / stepper (best of {rounds}) = {Best(two) / Best(0):F2} (target >= 0.90)"));
        if (!ok) Console.WriteLine("ERROR: a sync actor run did not reproduce the SyncStepper weights bit for bit");
        return ok ? 0 : 1;
    }

    private static (float[][] Weights, double Seconds) StepperLoop(ModelPlan plan, float[][] init, ArrayData d, int batch, int shards)
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
            var (_, g) = stepper.Gradients(w, d.X, d.Labels, null, order, start, Math.Min(batch, d.Count - start), 1, b);
            opt.Apply(w, g);
        }
        return (w, sw.Elapsed.TotalSeconds);
    }

    private static bool Identical(float[][] a, float[][] b) =>
        a.Length == b.Length && a.Zip(b).All(p => p.First.AsSpan().SequenceEqual(p.Second));
}
