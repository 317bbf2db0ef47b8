using System.Diagnostics;
using ActorTrainer.Kernels;

namespace ActorTrainer.Bench;

/// <summary>
/// `gemm-steady`: the large MLP shapes run back to back (as in training: one implementation at a time, its threads
/// warm and spinning), ours with 1 and 2 threads and OpenBLAS with its configured threads; median GFLOP/s over
/// `reps` calls after 50 warm-up calls. The interleaved `gemm` table alternates implementations call by call, which
/// leaves each one's caches and worker threads cold; this mode shows what a training step sees. The last two rows
/// take x from the bundled MNIST images (81 % zero pixels): the first layer's GEMMs as training runs them, where our
/// kernels skip the zeros (KernelSettings.SparseOperands; ACTORTRAINER_SPARSE_GEMM=0 measures the dense kernels).
/// Usage: gemm-steady [reps=200]
/// </summary>
public static class GemmSteady
{
    public static int Run(string[] args)
    {
        int reps = args.Length > 0 ? int.Parse(args[0]) : 200;
        Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, loadavg before: {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine($"OpenBLAS: {(OpenBlas.IsAvailable ? $"{OpenBlas.CoreName}, {OpenBlas.Threads} threads" : "not installed")}");
        if (OpenBlas.IsAvailable && OpenBlas.DetectionGap() is { } gap) Console.WriteLine(gap);
        Console.WriteLine($"{"shape",-32} {"ours 1T",8} {"ours 2T",8} {"OpenBLAS",9} {"2T/BLAS",8}");
        var rng = new Random(1);
        var mnist = ActorTrainer.Core.Data.Mnist.LoadBundled().Item1.Images;
        foreach (var (m, n, k, ta, tb, name, images) in new[]
                 {
                     (128, 512, 784, false, false, "x·W1 (128x784)·(784x512)", false),
                     (784, 512, 128, true, false, "xT·dh (784x128)·(128x512) tA", false),
                     (128, 784, 512, false, true, "dh·W1T (128x512)·(512x784) tB", false),
                     (128, 512, 784, false, false, "x·W1, x = 128 MNIST images", true),
                     (784, 512, 128, true, false, "xT·dh, x = 128 MNIST images", true),
                 })
        {
            var a = new float[m * k];
            var b = new float[k * n];
            var c = new float[m * n];
            for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble();
            if (images) Array.Copy(mnist, 6400 * 784, a, 0, a.Length);   // rows 6400..6527 of the training set
            for (int i = 0; i < b.Length; i++) b[i] = (float)rng.NextDouble();
            int lda = ta ? m : k, ldb = tb ? k : n;
            double flop = 2.0 * m * n * k;
            int saved = KernelSettings.MaxDegreeOfParallelism;
            var ours = new double[2];
            for (int t = 1; t <= 2; t++)
            {
                KernelSettings.MaxDegreeOfParallelism = t;
                ours[t - 1] = flop / Median(reps, () => GemmBackends.Managed.Gemm(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, c, n)) / 1e9;
            }
            KernelSettings.MaxDegreeOfParallelism = saved;
            double blas = OpenBlas.IsAvailable
                ? flop / Median(reps, () => OpenBlas.Sgemm(ta, tb, m, n, k, 1f, a, lda, b, ldb, 0f, c, n)) / 1e9 : double.NaN;
            Console.WriteLine($"{name,-32} {ours[0],8:F1} {ours[1],8:F1} {blas,9:F1} {ours[1] / blas,8:F2}");
        }
        Console.WriteLine($"loadavg after: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }

    /// <summary>Median seconds of one call over <paramref name="reps"/> calls after 50 warm-up calls.</summary>
    internal static double Median(int reps, Action call)
    {
        for (int w = 0; w < 50; w++) call();
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
