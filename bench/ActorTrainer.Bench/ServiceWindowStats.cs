using ActorTrainer.Interop;

namespace ActorTrainer.Bench;

/// <summary>One measured window of <see cref="ServiceWindowsBench"/>: wall-clock bounds (Unix seconds), whether the
/// load was on, and what the daemon, the trainer and this process (the load generator) did in it.</summary>
internal sealed record LoadWindow(int Index, bool On, double Start, double End, long Requests, double DaemonCpu,
                                  double TrainerCpu, double ClientCpu, List<double> LatencyMs);

/// <summary>
/// The trainer's progress over time, from its TensorBoard batch scalars (every N steps an event with the wall time
/// and global step; tag batch_loss), and the statistics of <see cref="ServiceWindowsBench"/>.
/// </summary>
internal sealed class StepTrace
{
    private readonly (double Wall, long Step)[] _points;
    private readonly double[] _epochEnds;

    private StepTrace((double, long)[] points, double[] epochEnds) => (_points, _epochEnds) = (points, epochEnds);

    /// <summary>Batch events recorded.</summary>
    public int Count => _points.Length;

    /// <summary>Reads every train event file of a run directory.</summary>
    public static StepTrace Read(string runDir)
    {
        var events = Directory.EnumerateFiles(Path.Combine(runDir, "tensorboard", "train"), "events.out.tfevents.*")
            .SelectMany(EventFileReader.Read).ToList();
        var points = events.Where(e => e.Tag == "batch_loss").Select(e => (e.WallTime, e.Step)).OrderBy(p => p.WallTime).ToArray();
        var ends = events.Where(e => e.Tag == "epoch_loss").Select(e => e.WallTime).Order().ToArray();
        return new StepTrace(points, ends);
    }

    /// <summary>Steps per second from <paramref name="t0"/> to <paramref name="t1"/> (global step interpolated
    /// between events at both ends); NaN when the trace does not cover the window.</summary>
    public double Rate(double t0, double t1) => (StepAt(t1) - StepAt(t0)) / (t1 - t0);

    /// <summary>Steps per second over the event intervals inside the window that hold no epoch end (no validation,
    /// no per-epoch TensorBoard work): the speed of the training steps themselves.</summary>
    public double InEpochRate(double t0, double t1)
    {
        double steps = 0, seconds = 0;
        for (var i = 1; i < _points.Length; i++)
        {
            var (a, b) = (_points[i - 1], _points[i]);
            if (a.Wall < t0 || b.Wall > t1 || _epochEnds.Any(e => e >= a.Wall && e <= b.Wall)) continue;
            steps += b.Step - a.Step;
            seconds += b.Wall - a.Wall;
        }
        return seconds > 0 ? steps / seconds : double.NaN;
    }

    private double StepAt(double t)
    {
        for (var i = 1; i < _points.Length; i++)
        {
            var (a, b) = (_points[i - 1], _points[i]);
            if (t >= a.Wall && t <= b.Wall)
                return b.Wall > a.Wall ? a.Step + (b.Step - a.Step) * (t - a.Wall) / (b.Wall - a.Wall) : a.Step;
        }
        return double.NaN;
    }

    /// <summary>(off − on) / off of each adjacent (off, on) pair of windows (windows 2k and 2k+1); skips pairs
    /// with a NaN rate.</summary>
    public static List<double> PairSlowdowns(IReadOnlyList<LoadWindow> windows, Func<LoadWindow, double> rate)
    {
        var result = new List<double>();
        for (var k = 0; k + 1 < windows.Count; k += 2)
        {
            var (w1, w2) = (windows[k], windows[k + 1]);
            var (off, on) = w1.On ? (rate(w2), rate(w1)) : (rate(w1), rate(w2));
            if (double.IsFinite(off) && double.IsFinite(on) && off > 0) result.Add((off - on) / off);
        }
        return result;
    }

    /// <summary>A percentile bootstrap 95 % interval of the median of <paramref name="xs"/> (fixed seed).</summary>
    public static (double Low, double High) BootstrapMedian(IReadOnlyList<double> xs, int resamples = 10000)
    {
        if (xs.Count == 0) return (double.NaN, double.NaN);
        var rng = new Random(12345);
        var medians = new double[resamples];
        var sample = new List<double>(xs.Count);
        for (var r = 0; r < resamples; r++)
        {
            sample.Clear();
            for (var i = 0; i < xs.Count; i++) sample.Add(xs[rng.Next(xs.Count)]);
            medians[r] = ServiceBench.Median(sample);
        }
        Array.Sort(medians);
        return (medians[(int)(0.025 * resamples)], medians[(int)(0.975 * resamples) - 1]);
    }

    /// <summary>Two-sided sign-test p-value of <paramref name="positive"/> successes in <paramref name="n"/> fair
    /// coin tosses.</summary>
    public static double SignTestP(int positive, int n)
    {
        if (n == 0) return double.NaN;
        var k = Math.Min(positive, n - positive);
        double tail = 0;
        for (var i = 0; i <= k; i++) tail += Math.Exp(LogChoose(n, i) - n * Math.Log(2));
        return Math.Min(1, 2 * tail);
    }

    private static double LogChoose(int n, int k)
    {
        double s = 0;
        for (var i = 1; i <= k; i++) s += Math.Log(n - k + i) - Math.Log(i);
        return s;
    }
}
