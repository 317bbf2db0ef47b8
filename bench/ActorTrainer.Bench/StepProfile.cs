using System.Diagnostics;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Kernels;

namespace ActorTrainer.Bench;

/// <summary>
/// `step-profile`: where one in-process training step of the reference model (784-512-10, RMSprop, batch 128) spends
/// its time — the whole shard gradient, its GEMMs alone (same shapes and threads), the optimizer update, the row
/// gather, the finiteness check and fit's validation pass over the test set — as medians over `reps` repetitions of
/// each piece run back to back.
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
        var f = new Fixture(rows);
        Console.WriteLine($"input density (nonzero share of the batch's pixels): {f.X.Count(v => v != 0f) / (double)f.X.Length:P1}; " +
                          $"sparse GEMM path {(KernelSettings.SparseOperands ? "on" : "off (ACTORTRAINER_SPARSE_GEMM=0)")}, " +
                          $"bits equal to the dense path: {SameBitsAsDense(f.X, f.Weights[0], f.G, rows)}");
        Console.WriteLine($"{"piece",-52} {"ms",8} {"GFLOP/s",8}");
        foreach (var (name, mflop, call) in f.Pieces())
        {
            double s = GemmSteady.Median(reps, call);
            Console.WriteLine($"{name,-52} {s * 1e3,8:F3} {(mflop > 0 ? $"{mflop / 1e3 / s,8:F1}" : ""),8}");
        }
        f.PanelKernels(reps);
        Console.WriteLine($"loadavg after: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }

    /// <summary>The reference model, its engine and optimizer, a batch of `rows` MNIST images and the step's buffers.</summary>
    private sealed class Fixture
    {
        private readonly int _rows;
        private readonly float[] _images;
        private readonly int[] _labels, _idx, _perm, _y;
        private readonly GradientEngine _engine;
        private readonly Evaluator _evaluator;
        private readonly ArrayData _test;
        private readonly RMSprop _opt = new();
        private readonly float[][] _grads;
        private readonly float[] _h, _gOut, _dW1, _tmp;
        private int _next;
        public readonly float[] X, G;
        public readonly float[][] Weights;

        public Fixture(int rows)
        {
            _rows = rows;
            var (train, test) = Mnist.LoadBundled();
            _test = ArrayData.OfLabels(test.Images, 784, test.Labels);
            (_images, _labels) = (train.Images, train.Labels);
            var model = new Sequential(new Layer[] { new Dense(512, "relu"), new Dense(10, "softmax") }, seed: 1);
            model.Compile(new RMSprop(), "sparse_categorical_crossentropy", ["accuracy"]);
            model.Build([784]);
            Weights = model.GetWeights();
            _grads = Weights.Select(w => new float[w.Length]).ToArray();
            _engine = new GradientEngine(model.Plan, rows);
            _evaluator = new Evaluator(model.Plan, 128);
            _idx = Enumerable.Range(0, _labels.Length).ToArray();
            _perm = Batching.permutation(1, 0, _labels.Length, true);
            X = new float[rows * 784];
            _y = _labels[..rows];
            (_h, G, _gOut, _dW1, _tmp) = (new float[rows * 512], new float[rows * 512], new float[rows * 10], new float[784 * 512], new float[784 * 512]);
            var rnd = new Random(1);
            for (int i = 0; i < G.Length; i++) { G[i] = (float)rnd.NextDouble() - 0.5f; _h[i] = (float)rnd.NextDouble(); }
            Batching.gather(_images, 784, _idx, 0, rows, X);
        }

        private void Step(bool shuffled)
        {
            if (shuffled)
            {
                if (_next + _rows > _perm.Length) _next = 0;
                Batching.gather(_images, 784, _perm, _next, _rows, X);
                Batching.gatherLabels(_labels, _perm, _next, _rows, _y);
                _next += _rows;
            }
            else Batching.gather(_images, 784, _idx, 0, _rows, X);
            Gradient();
            Batching.allFinite(_grads);
            _opt.Apply(Weights, _grads);
        }

        /// <summary>The sparse GEMMs of the first layer on the AVX-512 kernels — the widest pass the shape allows (four
        /// panels, 128 columns, for xᵀ·dh at 64 rows; two panels, 64 columns, for x·W1), at most two panels, one panel
        /// (32) — interleaved call by call so that all see the same machine; medians. Same bits.</summary>
        public void PanelKernels(int reps)
        {
            if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return;
            int r = _rows;
            (string, Action)[] calls =
            [
                ("x·W1", () => Gemm(false, false, r, 512, 784, X, Weights[0], _h)),
                ("xᵀ·dh", () => Gemm(true, false, 784, 512, r, X, G, _dW1)),
            ];
            int[] limits = [0, 2, 1];
            foreach (var (name, call) in calls)
            {
                var t = limits.Select(_ => new double[reps]).ToArray();
                for (int rep = -50; rep < reps; rep++)
                    for (int v = 0; v < limits.Length; v++)
                    {
                        SparseGemm.PanelLimit = limits[v];
                        long t0 = Stopwatch.GetTimestamp();
                        call();
                        if (rep >= 0) t[v][rep] = (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency;
                    }
                SparseGemm.PanelLimit = 0;
                foreach (var a in t) Array.Sort(a);
                Console.WriteLine($"{"  GEMM " + name + ": widest / two-panel / one-panel",-52} {t[0][reps / 2] * 1e3,8:F3} {t[1][reps / 2] * 1e3,8:F3} {t[2][reps / 2] * 1e3,8:F3} ms (widest / two-panel {t[0][reps / 2] / t[1][reps / 2]:F2})");
            }
        }

        private void Gradient() => _engine.ComputeGradients(Weights, X, _y, ReadOnlySpan<float>.Empty, _rows, _rows, 0, _grads);

        private void Gemm(bool ta, bool tb, int m, int n, int k, float[] a, float[] b, float[] c) =>
            GemmBackends.Default.Gemm(ta, tb, m, n, k, 1f, a, ta ? m : k, b, tb ? k : n, 0f, c, n);

        public (string Name, double Mflop, Action Call)[] Pieces()
        {
            int r = _rows;
            double step = 2.0 * r * (784 * 512 * 2 + 512 * 10 * 3) / 1e6, big = 2.0 * r * 784 * 512 / 1e6, small = 2.0 * r * 512 * 10 / 1e6;
            return
            [
                ("whole step: gather + gradient + check + RMSprop", step, () => Step(false)),
                ("whole step, shuffled rows (as fit: a new batch each step)", step, () => Step(true)),
                ("gradient (ComputeGradients)", step, Gradient),
                ("  GEMM x·W1", big, () => Gemm(false, false, r, 512, 784, X, Weights[0], _h)),
                ("  GEMM x·W1, 1 thread", big, () =>
                {
                    using var one = KernelSettings.UseParallelism(1);
                    Gemm(false, false, r, 512, 784, X, Weights[0], _h);
                }),
                ("  GEMM xᵀ·dh", big, () => Gemm(true, false, 784, 512, r, X, G, _dW1)),
                ("  GEMM h·W2", small, () => Gemm(false, false, r, 10, 512, _h, Weights[2], _gOut)),
                ("  GEMM hᵀ·g", small, () => Gemm(true, false, 512, 10, r, _h, _gOut, _tmp)),
                ("  GEMM g·W2ᵀ", small, () => Gemm(false, true, r, 512, 10, _gOut, Weights[2], G)),
                ("  of which: nonzeros of x (x·W1's operand)", 0, () => BuildRows(X, r, false)),
                ("  of which: nonzeros of xᵀ (xᵀ·dh's operand)", 0, () => BuildRows(X, r, true)),
                ("RMSprop update (407 050 parameters)", 0, () => _opt.Apply(Weights, _grads)),
                ("gather rows", 0, () => Batching.gather(_images, 784, _idx, 0, r, X)),
                ("allFinite(grads)", 0, () => Batching.allFinite(_grads)),
                ("validation pass: 10 000 test samples (Evaluator, chunks of 128)", 2.0 * 10000 * (784 * 512 + 512 * 10) / 1e6,
                    () => _evaluator.Run(Weights, _test)),
            ];
        }
    }

    /// <summary>x·W1 and xᵀ·g on the sparse path and on the dense path give the same bits.</summary>
    private static bool SameBitsAsDense(float[] x, float[] w1, float[] g, int rows)
    {
        bool saved = KernelSettings.SparseOperands;
        KernelSettings.SparseOperands = true;
        var outs = new float[2][][];
        for (int v = 0; v < 2; v++)
        {
            SparseGemm.DenseOnly = v == 1;
            var h = new float[rows * 512];
            var dw = new float[784 * 512];
            GemmBackends.Default.Gemm(false, false, rows, 512, 784, 1f, x, 784, w1, 512, 0f, h, 512);
            GemmBackends.Default.Gemm(true, false, 784, 512, rows, 1f, x, 784, g, 512, 0f, dw, 512);
            outs[v] = [h, dw];
        }
        SparseGemm.DenseOnly = false;
        KernelSettings.SparseOperands = saved;
        return outs[0][0].AsSpan().SequenceEqual(outs[1][0]) && outs[0][1].AsSpan().SequenceEqual(outs[1][1]);
    }

    private static unsafe void BuildRows(float[] x, int rows, bool trans)
    {
        fixed (float* p = x) SparseRows.TryBuild(p, 784, trans, trans ? 784 : rows, trans ? rows : 784, SparseGemm.MaxDensity, 32);
    }
}
