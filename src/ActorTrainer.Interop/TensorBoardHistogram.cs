namespace ActorTrainer.Interop;

/// <summary>Fields of a TensorFlow HistogramProto: bucket i counts values in [BucketLimit[i-1], BucketLimit[i]) (−DBL_MAX below the first).</summary>
public sealed record HistogramData(double Min, double Max, double Num, double Sum, double SumSquares, double[] BucketLimits, double[] Buckets);

/// <summary>
/// TensorFlow's default histogram (tensorflow/core/lib/histogram/histogram.cc): bucket limits −DBL_MAX, −1e20…−1e-12 (×1.1 steps),
/// 0, 1e-12…1e20 (×1.1 steps), DBL_MAX; encoded like Histogram::EncodeToProto(preserve_zero_buckets=false), i.e. each run of
/// empty buckets collapses into a single zero-count entry ending at the run's last limit.
/// </summary>
public static class TensorBoardHistogram
{
    private static readonly double[] Limits = BuildDefaultLimits();

    /// <summary>The default bucket limits, ascending (1551 entries: 775 negative, 0, 775 positive including ±DBL_MAX).</summary>
    public static ReadOnlySpan<double> DefaultBucketLimits => Limits;

    private static double[] BuildDefaultLimits()
    {
        var pos = new List<double>();
        for (var v = 1.0e-12; v < 1.0e20; v *= 1.1)
            pos.Add(v);
        pos.Add(double.MaxValue);
        var result = new double[pos.Count * 2 + 1];
        for (var i = 0; i < pos.Count; i++)
        {
            result[pos.Count - 1 - i] = -pos[i];
            result[pos.Count + 1 + i] = pos[i];
        }
        result[pos.Count] = 0.0;
        return result;
    }

    /// <summary>Builds a histogram of finite <paramref name="values"/>; throws ArgumentException naming <paramref name="tag"/> and the index of a NaN/∞.</summary>
    public static HistogramData Compute(string tag, ReadOnlySpan<float> values)
    {
        var counts = new double[Limits.Length];
        double min = double.MaxValue, max = -double.MaxValue, sum = 0, sumSq = 0;
        for (var i = 0; i < values.Length; i++)
        {
            double v = values[i];
            if (!double.IsFinite(v))
                throw new ArgumentException($"Histogram '{tag}': value #{i} is {v}; only finite values can be histogrammed.", nameof(values));
            // upper_bound: first limit strictly greater than v.
            var idx = Array.BinarySearch(Limits, v);
            var b = idx >= 0 ? idx + 1 : ~idx;
            if (b >= counts.Length) b = counts.Length - 1;
            counts[b] += 1;
            if (v < min) min = v;
            if (v > max) max = v;
            sum += v;
            sumSq += v * v;
        }
        if (values.Length == 0)
        {
            min = 0;
            max = 0;
        }

        var limits = new List<double>();
        var buckets = new List<double>();
        for (var i = 0; i < counts.Length;)
        {
            var end = Limits[i];
            var count = counts[i];
            i++;
            if (count <= 0.0)
            {
                while (i < counts.Length && counts[i] <= 0.0)
                {
                    end = Limits[i];
                    count = counts[i];
                    i++;
                }
            }
            limits.Add(end);
            buckets.Add(count);
        }
        return new HistogramData(min, max, values.Length, sum, sumSq, limits.ToArray(), buckets.ToArray());
    }
}
