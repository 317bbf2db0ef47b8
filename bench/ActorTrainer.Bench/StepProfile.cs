using System.Diagnostics;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Kernels;

namespace ActorTrainer.Bench;

/// <summary>
/// `step-profile`: where one in-process training step of the reference model (784-512-10, RMSprop, batch 128) spends
/// its time — the whole shard gradient, its GEMMs alone (same shapes and threads), the optimizer update, the row
/// gather and the finiteness check — as medians over `reps` repetitions of each piece run back to back.
/// Usage: step-profile [reps=300] [rows=128]
/// </summary>
public static class StepProfile
{
    public static int Run(string[] args)
    {
        int reps = args.Length > 0 ? int.Parse(args[0]) : 300;
        int rows = args.Length > 1 ? int.Parse(args[1]) : 128;
        Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, loadavg before: {File.ReadAllText("/proc/loadavg").Trim()}, " +
                          $"GEMM {GemmBackends.Default.Name}, threads {KernelSettings.MaxDegreeOfParallelism}, rows {rows}");
        var (train, _) = Mnist.LoadBundled();
        var model = new Sequential(new Layer[] { new Dense(512, "relu"), new Dense(10, "softmax") }, seed: 1);
        model.Compile(new RMSprop(), "sparse_categorical_crossentropy", ["accuracy"]);
        model.Build([784]);
        var plan = model.Plan;
        var weights = model.GetWeights();
        var grads = weights.Select(w => new float[w.Length]).ToArray();
        var engine = new GradientEngine(plan, rows);
        var idx = Enumerable.Range(0, train.Labels.Length).ToArray();
        var x = new float[rows * 784];
        var y = new int[rows];
        Array.Copy(train.Labels, y, rows);
        var opt = new RMSprop();
        var h = new float[rows * 512];
        var g = new float[rows * 512];
        var gOut = new float[rows * 10];
        var dW1 = new float[784 * 512];
        var tmp = new float[784 * 512];
        var gemm = GemmBackends.Default;
        var rnd = new Random(1);
        for (int i = 0; i < g.Length; i++) { g[i] = (float)rnd.NextDouble() - 0.5f; h[i] = (float)rnd.NextDouble(); }
        Batching.gather(train.Images, 784, idx, 0, rows, x);
        var perm = Batching.permutation(1, 0, train.Labels.Length, true);
        int next = 0;
        var pieces = new (string Name, double Mflop, Action Call)[]
        {
            ("whole step: gather + gradient + check + RMSprop", 2.0 * rows * (784 * 512 * 2 + 512 * 10 * 3) / 1e6, () =>
            {
                Batching.gather(train.Images, 784, idx, 0, rows, x);
                engine.ComputeGradients(weights, x, y, ReadOnlySpan<float>.Empty, rows, rows, 0, grads);
                Batching.allFinite(grads);
                opt.Apply(weights, grads);
            }),
            ("whole step, shuffled rows (as fit: a new batch each step)", 2.0 * rows * (784 * 512 * 2 + 512 * 10 * 3) / 1e6, () =>
            {
                if (next + rows > perm.Length) next = 0;
                Batching.gather(train.Images, 784, perm, next, rows, x);
                Batching.gatherLabels(train.Labels, perm, next, rows, y);
                next += rows;
                engine.ComputeGradients(weights, x, y, ReadOnlySpan<float>.Empty, rows, rows, 0, grads);
                Batching.allFinite(grads);
                opt.Apply(weights, grads);
            }),
            ("gradient (ComputeGradients)", 2.0 * rows * (784 * 512 * 2 + 512 * 10 * 3) / 1e6,
                () => engine.ComputeGradients(weights, x, y, ReadOnlySpan<float>.Empty, rows, rows, 0, grads)),
            ("  GEMM x·W1", 2.0 * rows * 784 * 512 / 1e6, () => gemm.Gemm(false, false, rows, 512, 784, 1f, x, 784, weights[0], 512, 0f, h, 512)),
            ("  GEMM x·W1, 1 thread", 2.0 * rows * 784 * 512 / 1e6, () =>
            {
                using var one = KernelSettings.UseParallelism(1);
                gemm.Gemm(false, false, rows, 512, 784, 1f, x, 784, weights[0], 512, 0f, h, 512);
            }),
            ("  GEMM xᵀ·dh", 2.0 * rows * 784 * 512 / 1e6, () => gemm.Gemm(true, false, 784, 512, rows, 1f, x, 784, g, 512, 0f, dW1, 512)),
            ("  GEMM h·W2", 2.0 * rows * 512 * 10 / 1e6, () => gemm.Gemm(false, false, rows, 10, 512, 1f, h, 512, weights[2], 10, 0f, gOut, 10)),
            ("  GEMM hᵀ·g", 2.0 * rows * 512 * 10 / 1e6, () => gemm.Gemm(true, false, 512, 10, rows, 1f, h, 512, gOut, 10, 0f, tmp, 10)),
            ("  GEMM g·W2ᵀ", 2.0 * rows * 512 * 10 / 1e6, () => gemm.Gemm(false, true, rows, 512, 10, 1f, gOut, 10, weights[2], 10, 0f, g, 512)),
            ("  of which: nonzeros of x (x·W1's operand)", 0, () => BuildRows(x, rows, false)),
            ("  of which: nonzeros of xᵀ (xᵀ·dh's operand)", 0, () => BuildRows(x, rows, true)),
            ("RMSprop update (407 050 parameters)", 0, () => opt.Apply(weights, grads)),
            ("gather rows", 0, () => Batching.gather(train.Images, 784, idx, 0, rows, x)),
            ("allFinite(grads)", 0, () => Batching.allFinite(grads)),
        };
        Console.WriteLine($"input density (nonzero share of the batch's pixels): {x.Count(v => v != 0f) / (double)x.Length:P1}; " +
                          $"sparse GEMM path {(KernelSettings.SparseOperands ? "on" : "off (ACTORTRAINER_SPARSE_GEMM=0)")}, " +
                          $"bits equal to the dense path: {SameBitsAsDense(x, weights[0], g, rows)}");
        Console.WriteLine($"{"piece",-52} {"ms",8} {"GFLOP/s",8}");
        foreach (var (name, mflop, call) in pieces)
        {
            double s = Median(reps, call);
            Console.WriteLine($"{name,-52} {s * 1e3,8:F3} {(mflop > 0 ? $"{mflop / 1e3 / s,8:F1}" : ""),8}");
        }
        Console.WriteLine($"loadavg after: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }

    /// <summary>x·W1 and xᵀ·g on the sparse path and on the dense path give the same bits.</summary>
    private static bool SameBitsAsDense(float[] x, float[] w1, float[] g, int rows)
    {
        bool saved = KernelSettings.SparseOperands;
        var outs = new float[2][][];
        for (int v = 0; v < 2; v++)
        {
            KernelSettings.SparseOperands = v == 0;
            var h = new float[rows * 512];
            var dw = new float[784 * 512];
            GemmBackends.Default.Gemm(false, false, rows, 512, 784, 1f, x, 784, w1, 512, 0f, h, 512);
            GemmBackends.Default.Gemm(true, false, 784, 512, rows, 1f, x, 784, g, 512, 0f, dw, 512);
            outs[v] = [h, dw];
        }
        KernelSettings.SparseOperands = saved;
        return outs[0][0].AsSpan().SequenceEqual(outs[1][0]) && outs[0][1].AsSpan().SequenceEqual(outs[1][1]);
    }

    private static unsafe void BuildRows(float[] x, int rows, bool trans)
    {
        fixed (float* p = x) SparseRows.TryBuild(p, 784, trans, trans ? 784 : rows, trans ? rows : 784, SparseGemm.MaxDensity, 32);
    }

    private static double Median(int reps, Action call)
    {
        for (int w = 0; w < 30; w++) call();
        var times = new double[reps];
        for (int r = 0; r < reps; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            call();
            times[r] = (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency;
        }
        Array.Sort(times);
        return times[reps / 2];
    }
}
