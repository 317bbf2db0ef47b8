using System.Diagnostics;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;

namespace ActorTrainer.Bench;

/// <summary>
/// The chapter's training loop written by hand on the GradientTape (relu(x·W1 + b1)·W2 + b2, log-softmax, mean
/// negative log-likelihood, SGD through AssignSub; batch 128) against the engine's step (Sequential.fit with SGD,
/// same model and batch): milliseconds per step and their ratio, with a per-phase breakdown of the tape step.
/// Usage: tape [steps=60]
/// </summary>
public static class TapeBench
{
    public static int Run(string[] args)
    {
        int steps = args.Length > 0 ? int.Parse(args[0]) : 60;
        var (train, _) = Mnist.LoadBundled();
        const int batch = 128;
        Console.WriteLine($"# tape benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {steps} steps, load {File.ReadAllText("/proc/loadavg").Trim()}");
        var w1 = new Variable(Tensor.RandomUniform([784, 512], 0.0, 0.1, seed: 1));
        var b1 = new Variable(Tensor.Zeros([512]));
        var w2 = new Variable(Tensor.RandomUniform([512, 10], 0.0, 0.1, seed: 2));
        var b2 = new Variable(Tensor.Zeros([10]));
        var vars = new[] { w1, b1, w2, b2 };
        var lr = Tensor.Scalar(1e-3f);
        double fwd = 0, bwd = 0, upd = 0;
        var total = new List<double>();
        int g0 = 0, g1 = 0, g2 = 0;
        long allocated = 0;
        for (int s = 0; s < steps + 5; s++)
        {
            int off = (s * batch) % (train.Labels.Length - batch);
            var x = Tensor.FromArray(train.Images.AsSpan(off * 784, batch * 784).ToArray(), [batch, 784]);
            var y = Tensor.OneHot(Tensor.FromArray(train.Labels.AsSpan(off, batch).ToArray(), [batch]), 10);
            var t0 = Stopwatch.GetTimestamp();
            Tensor[] grads;
            long t1, t2;
            using (var tape = new GradientTape())
            {
                var h = Tensor.Relu(Tensor.Dot(x, w1.Value) + b1.Value);
                var logits = Tensor.Dot(h, w2.Value) + b2.Value;
                var loss = -Tensor.Mean(Tensor.Sum(y * Tensor.LogSoftmax(logits), [1]));
                t1 = Stopwatch.GetTimestamp();
                grads = tape.Gradient(loss, vars.Select(v => v.Value).ToArray());
                t2 = Stopwatch.GetTimestamp();
            }
            for (int i = 0; i < vars.Length; i++) vars[i].AssignSub(grads[i] * lr);
            var t3 = Stopwatch.GetTimestamp();
            if (s == 4) { g0 = GC.CollectionCount(0); g1 = GC.CollectionCount(1); g2 = GC.CollectionCount(2); allocated = GC.GetTotalAllocatedBytes(); }
            if (s < 5) continue;
            fwd += Ms(t0, t1); bwd += Ms(t1, t2); upd += Ms(t2, t3);
            total.Add(Ms(t0, t3));
        }
        total.Sort();
        double tapeMs = total[total.Count / 2];
        Console.WriteLine($"tape step: median {tapeMs:F2} ms (forward {fwd / steps:F2}, gradient {bwd / steps:F2}, update {upd / steps:F2} ms mean); " +
                          $"per step {(GC.GetTotalAllocatedBytes() - allocated) / steps / 1048576.0:F1} MiB allocated, GCs gen0/1/2 {GC.CollectionCount(0) - g0}/{GC.CollectionCount(1) - g1}/{GC.CollectionCount(2) - g2} in {steps} steps");

        var model = new Sequential([new Dense(512, "relu"), new Dense(10, "softmax")]);
        model.Compile(new SGD(1e-3), "sparse_categorical_crossentropy", ["accuracy"]);
        int n = batch * steps;
        var data = ArrayData.OfLabels(train.Images.AsSpan(0, n * 784).ToArray(), 784, train.Labels.AsSpan(0, n).ToArray());
        model.FitArrays(data, epochs: 1, batchSize: batch, verbose: 0);              // warm-up
        var sw = Stopwatch.StartNew();
        model.FitArrays(data, epochs: 2, batchSize: batch, verbose: 0);
        double engine = sw.Elapsed.TotalMilliseconds / (2 * steps);
        Console.WriteLine($"engine step (Sequential.fit, SGD): {engine:F2} ms");
        Console.WriteLine($"tape / engine: {tapeMs / engine:F2}x (target ≤ 2x)");
        return 0;
    }

    private static double Ms(long a, long b) => (b - a) * 1000.0 / Stopwatch.Frequency;
}
