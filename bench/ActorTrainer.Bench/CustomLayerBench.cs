using System.Diagnostics;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;

namespace ActorTrainer.Bench;

/// <summary>
/// A user-defined layer on the engine: Dense(512) → Scale (its own Call, y = relu(x ⊙ w), run through the
/// GradientTape) → Dense(10, softmax), batch 128 of MNIST: milliseconds per ComputeGradients step (median of rounds),
/// the Calls of the custom layer per step, and the built-in model's step (Dense(512, relu) → Dense(10, softmax)) beside
/// it. Compare builds with the same command on each (e.g. a worktree of an older commit).
/// Usage: custom-layer [steps per round=100] [rounds=7]
/// </summary>
public static class CustomLayerBench
{
    /// <summary>y = relu(x ⊙ w), one trainable scale per feature; counts its Calls.</summary>
    private sealed class Scale() : Layer("Scale", "scale")
    {
        private Variable? _w;
        public int Calls;
        public override void BuildWeights(int[] inputShape, int seed) =>
            _w = new Variable(Tensor.FromArray(Enumerable.Range(0, inputShape[0]).Select(i => 1f + 0.001f * i).ToArray(), [inputShape[0]]), "scale/w");
        public override int[] ComputeOutputShape(int[] inputShape) => inputShape;
        public override Tensor Call(Tensor x, bool training)
        {
            Calls++;
            return Tensor.Relu(x * _w!.Value);
        }
        public override Variable[] Variables => _w is null ? [] : [_w];
    }

    public static int Run(string[] args)
    {
        int steps = args.Length > 0 ? int.Parse(args[0]) : 100, rounds = args.Length > 1 ? int.Parse(args[1]) : 7;
        var (train, _) = Mnist.LoadBundled();
        const int rows = 128;
        var x = train.Images.AsSpan(0, rows * 784).ToArray();
        var labels = train.Labels.AsSpan(0, rows).ToArray();
        Console.WriteLine($"# custom-layer benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, " +
                          $"{rounds} rounds of {steps} steps, load {File.ReadAllText("/proc/loadavg").Trim()}");
        var scale = new Scale();
        var custom = new Sequential([new Dense(512), scale, new Dense(10, "softmax")], "custom", [784], seed: 3);
        var builtIn = new Sequential([new Dense(512, "relu"), new Dense(10, "softmax")], "builtin", [784], seed: 3);
        foreach (var m in new[] { custom, builtIn }) m.Compile(new SGD(), "sparse_categorical_crossentropy");
        var (customStep, customGrad) = StepOf(custom, x, labels, rows);
        var (builtInStep, _) = StepOf(builtIn, x, labels, rows);
        double customMs = Time(customStep, steps, rounds), builtInMs = Time(builtInStep, steps, rounds);
        scale.Calls = 0;
        customStep();
        int callsPerStep = scale.Calls;
        float g = customGrad()[0];
        Console.WriteLine($"custom layer: {customMs:0.000} ms/step (median), {callsPerStep} Call(s) per step; built-in relu: {builtInMs:0.000} ms/step; " +
                          $"custom / built-in {customMs / builtInMs:0.00}; gradient of scale/w[0] {g:R}");
        return 0;
    }

    /// <summary>One engine step (ComputeGradients of the model's weights on the rows) and its third gradient.</summary>
    private static (Action Step, Func<float[]> Grad) StepOf(Sequential m, float[] x, int[] labels, int rows)
    {
        var weights = m.GetWeights();
        var grads = weights.Select(w => new float[w.Length]).ToArray();
        var engine = new GradientEngine(m.Plan, rows);
        return (() => engine.ComputeGradients(weights, x, labels, ReadOnlySpan<float>.Empty, rows, rows, 1L, grads),
                () => grads[Math.Min(2, grads.Length - 1)]);
    }

    /// <summary>Median over rounds of the mean ms per step, after a warm-up of 300 steps (tiered compilation settles).</summary>
    private static double Time(Action step, int steps, int rounds)
    {
        for (int i = 0; i < 300; i++) step();
        var times = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < steps; i++) step();
            times[r] = sw.Elapsed.TotalMilliseconds / steps;
        }
        Array.Sort(times);
        return times[rounds / 2];
    }
}
