using System.Diagnostics;
using ActorTrainer.Kernels;

namespace ActorTrainer.Bench;

/// <summary>Side-by-side GEMM table: median GFLOP/s per shape for ours (1 and 2 threads), OpenBLAS, MathNet managed.
/// Runners are interleaved within each repetition so machine noise hits all of them alike; shapeFilter keeps the shapes
/// whose name contains it.</summary>
internal static class GemmQuick
{
    private sealed record Runner(string Name, Action Call);

    internal static void Run(int minReps, bool includeMathNet = true, bool useMin = false, IGemm? gemm = null, string? shapeFilter = null)
    {
        bool blas = OpenBlas.IsAvailable;
        Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, loadavg before: {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine($"managed: {(gemm ?? GemmBackends.Managed).Name}, SIMD level {((gemm ?? GemmBackends.Managed) as ManagedGemm)?.Level}, Environment.ProcessorCount={Environment.ProcessorCount}");
        Console.WriteLine(blas
            ? $"OpenBLAS core: {OpenBlas.CoreName}, threads: {OpenBlas.Threads}"
            : "OpenBLAS: libopenblas.so.0 not found (apt-get install -y libopenblas0-pthread); column skipped");
        if (OpenBlas.IsAvailable && OpenBlas.DetectionGap() is { } gap) Console.WriteLine(gap);
        Console.WriteLine($"{(useMin ? "best-of-reps" : "median")} GFLOP/s over >= {minReps} interleaved reps (max rel diff vs OpenBLAS in last column)");
        Console.WriteLine($"{"shape",-34} {"ours 1T",8} {"ours 2T",8} {"OpenBLAS",9} {"MathNet",8} {"2T/BLAS",8} {"reps",5} {"maxdiff",9}");
        var rng = new Random(42);
        foreach (var s in GemmShape.Mlp.Where(s => shapeFilter is null || s.Name.Contains(shapeFilter, StringComparison.Ordinal)))
        {
            float[] a = Fill(rng, s.TransA ? s.K * s.M : s.M * s.K);
            float[] b = Fill(rng, s.TransB ? s.N * s.K : s.K * s.N);
            float[] c1 = new float[s.M * s.N], c2 = new float[s.M * s.N], c3 = new float[s.M * s.N], c4 = new float[s.M * s.N];
            var managed = gemm ?? GemmBackends.Managed;
            var runners = new List<Runner>
            {
                new("ours1", () => { KernelSettings.MaxDegreeOfParallelism = 1;
                    managed.Gemm(s.TransA, s.TransB, s.M, s.N, s.K, 1f, a, s.Lda, b, s.Ldb, 0f, c1, s.N); }),
                new("ours2", () => { KernelSettings.MaxDegreeOfParallelism = 2;
                    managed.Gemm(s.TransA, s.TransB, s.M, s.N, s.K, 1f, a, s.Lda, b, s.Ldb, 0f, c2, s.N); }),
            };
            if (blas) runners.Add(new("blas", () => OpenBlas.Sgemm(s.TransA, s.TransB, s.M, s.N, s.K, 1f, a, s.Lda, b, s.Ldb, 0f, c3, s.N)));
            var mathnet = GemmBackends.MathNet;
            var mnRunner = new Runner("mathnet", () =>
                mathnet.Gemm(s.TransA, s.TransB, s.M, s.N, s.K, 1f, a, s.Lda, b, s.Ldb, 0f, c4, s.N));
            // Warm-up (JIT tiering, page faults, worker threads).
            foreach (var r in runners) for (var sw = Stopwatch.StartNew(); sw.ElapsedMilliseconds < 300;) r.Call();
            if (includeMathNet) mnRunner.Call();
            double once = Time(runners[0].Call);
            int reps = Math.Clamp((int)(0.4 / Math.Max(once, 1e-7)), minReps, 20000);
            var times = runners.Select(_ => new double[reps]).ToArray();
            for (int i = 0; i < reps; i++)
                for (int r = 0; r < runners.Count; r++) times[r][i] = Time(runners[r].Call);
            int mnReps = includeMathNet ? Math.Max(minReps, 30) : 1;
            var mnTimes = new double[mnReps];
            for (int i = 0; i < mnReps && includeMathNet; i++) mnTimes[i] = Time(mnRunner.Call);
            KernelSettings.MaxDegreeOfParallelism = Environment.ProcessorCount;
            Func<double[], double> stat = useMin ? (x => x.Min()) : Median;
            double g1 = s.Flops / stat(times[0]) / 1e9, g2 = s.Flops / stat(times[1]) / 1e9;
            double gb = blas ? s.Flops / stat(times[2]) / 1e9 : double.NaN;
            double gm = includeMathNet ? s.Flops / Median(mnTimes) / 1e9 : double.NaN;
            double diff = blas ? MaxRelDiff(c2, c3) : MaxRelDiff(c2, c4);
            if (!c1.AsSpan().SequenceEqual(c2)) throw new InvalidOperationException($"{s}: 1-thread and 2-thread results differ");
            Console.WriteLine($"{s.Name,-34} {g1,8:F1} {g2,8:F1} {gb,9:F1} {gm,8:F2} {g2 / gb,8:F2} {reps,5} {diff,9:E1}");
        }
        Console.WriteLine($"loadavg after: {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    private static float[] Fill(Random rng, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)(rng.NextDouble() * 2 - 1);
        return x;
    }

    private static double Time(Action f)
    {
        long t0 = Stopwatch.GetTimestamp();
        f();
        return (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency;
    }

    internal static double Median(double[] xs)
    {
        var s = (double[])xs.Clone();
        Array.Sort(s);
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }

    private static double MaxRelDiff(float[] x, float[] y)
    {
        double scale = 0, d = 0;
        for (int i = 0; i < x.Length; i++) { scale = Math.Max(scale, Math.Abs(y[i])); d = Math.Max(d, Math.Abs(x[i] - y[i])); }
        return scale == 0 ? d : d / scale;
    }
}
