using System.Diagnostics;
using System.Numerics.Tensors;

namespace ActorTrainer.Bench;

/// <summary>Chapter 2's element-wise comparison: relu(x + y) on (20,100) float64, 1000 repetitions,
/// naive scalar loops (naive_add then naive_relu) vs vectorised TensorPrimitives.Add + TensorPrimitives.Max(…, 0).</summary>
internal static class ElementwiseBench
{
    private const int Rows = 20, Cols = 100, Reps = 1000, Trials = 31;

    internal static void Run()
    {
        Console.WriteLine($"date: {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, loadavg: {File.ReadAllText("/proc/loadavg").Trim()}");
        var rng = new Random(0);
        var x = new double[Rows, Cols];
        var y = new double[Rows, Cols];
        for (int i = 0; i < Rows; i++)
            for (int j = 0; j < Cols; j++) { x[i, j] = rng.NextDouble(); y[i, j] = rng.NextDouble(); }
        var zNaive = new double[Rows, Cols];
        var xf = new double[Rows * Cols];
        var yf = new double[Rows * Cols];
        var zVec = new double[Rows * Cols];
        Buffer.BlockCopy(x, 0, xf, 0, xf.Length * sizeof(double));
        Buffer.BlockCopy(y, 0, yf, 0, yf.Length * sizeof(double));

        void Naive()
        {
            for (int r = 0; r < Reps; r++)
            {
                for (int i = 0; i < Rows; i++)          // naive_add
                    for (int j = 0; j < Cols; j++) zNaive[i, j] = x[i, j] + y[i, j];
                for (int i = 0; i < Rows; i++)          // naive_relu
                    for (int j = 0; j < Cols; j++) zNaive[i, j] = Math.Max(zNaive[i, j], 0.0);
            }
        }

        void Vectorised()
        {
            for (int r = 0; r < Reps; r++)
            {
                TensorPrimitives.Add(xf, yf, zVec);
                TensorPrimitives.Max(zVec, 0.0, zVec);
            }
        }

        for (int w = 0; w < 5; w++) { Naive(); Vectorised(); }
        var tn = new double[Trials];
        var tv = new double[Trials];
        for (int t = 0; t < Trials; t++)
        {
            tn[t] = Time(Naive);
            tv[t] = Time(Vectorised);
        }
        for (int i = 0; i < Rows; i++)
            for (int j = 0; j < Cols; j++)
                if (zNaive[i, j] != zVec[i * Cols + j])
                    throw new InvalidOperationException($"naive and vectorised relu(x+y) differ at ({i},{j})");
        double mn = GemmQuick.Median(tn), mv = GemmQuick.Median(tv);
        Console.WriteLine($"relu(x + y), shape ({Rows},{Cols}) float64, {Reps} repetitions, median of {Trials} trials:");
        Console.WriteLine($"  naive loops : {mn * 1e3,9:F3} ms");
        Console.WriteLine($"  vectorised  : {mv * 1e3,9:F3} ms");
        Console.WriteLine($"  speed-up    : {mn / mv,9:F1}x   (book, NumPy vs Python loops: 442x)");
    }

    private static double Time(Action f)
    {
        long t0 = Stopwatch.GetTimestamp();
        f();
        return (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency;
    }
}
