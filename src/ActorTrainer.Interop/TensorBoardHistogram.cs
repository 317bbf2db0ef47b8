namespace ActorTrainer.Interop;

/// <summary>Fields of a TensorFlow HistogramProto: bucket i counts values in [BucketLimit[i-1], BucketLimit[i]) (−DBL_MAX below the first).</summary>
/// <param name="Min">Smallest value.</param>
/// <param name="Max">Largest value.</param>
/// <param name="Num">Number of values.</param>
/// <param name="Sum">Σx over the values.</param>
/// <param name="SumSquares">Σx² over the values.</param>
/// <param name="BucketLimits">Upper (exclusive) edge of each bucket, ascending.</param>
/// <param name="Buckets">Count of values in each bucket (same length as BucketLimits).</param>
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
        var counts = CountBuckets(tag, values);
        double min = double.MaxValue, max = -double.MaxValue, sum = 0, sumSq = 0;
        foreach (double v in values)
        {
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

    /// <summary>Bits of a float kept by the bucket table's index: sign, exponent and the mantissa's top
    /// <see cref="CellMantissaBits"/> bits.</summary>
    private const int CellShift = 23 - CellMantissaBits, CellMantissaBits = 4;

    /// <summary>The bucket table: for each cell of floats sharing sign, exponent and top 4 mantissa bits (1/16 of an
    /// octave, narrower than the limits' ×1.1 steps, so at most one limit falls inside a cell), upper_bound of the
    /// cell's lowest value. A value's bucket is then its cell's entry or the next one: one compare.</summary>
    private static readonly ushort[] Cells = BuildCells();

    private static ushort[] BuildCells()
    {
        var cells = new ushort[1 << (32 - CellShift)];
        for (uint c = 0; c < cells.Length; c++)
        {
            uint lowest = (c & (1u << (31 - CellShift))) != 0 ? c << CellShift | ((1u << CellShift) - 1) : c << CellShift;
            float v = BitConverter.UInt32BitsToSingle(lowest);
            if (float.IsFinite(v)) cells[c] = (ushort)UpperBoundBySearch(v);
        }
        return cells;
    }

    /// <summary>upper_bound over the default limits by binary search: the first index whose limit is strictly greater
    /// than the finite v (1 … 1550).</summary>
    private static int UpperBoundBySearch(double v)
    {
        int i = Array.BinarySearch(Limits, v);
        return Math.Min(i >= 0 ? i + 1 : ~i, Limits.Length - 1);
    }

    /// <summary>Count of values per bucket (bucket i: [Limits[i−1], Limits[i])) — each value's bucket from the table and
    /// one compare (a weight histogram of 400 k values: 40 ms by binary search, ~2 ms here); four interleaved count
    /// arrays so that runs of values in one bucket do not wait on each other's increments.</summary>
    private static double[] CountBuckets(string tag, ReadOnlySpan<float> values)
    {
        int n = Limits.Length;
        var counts = new int[4 * n];
        var limits = Limits;
        var cells = Cells;
        for (var i = 0; i < values.Length; i++)
        {
            float f = values[i];
            uint bits = BitConverter.SingleToUInt32Bits(f);
            if ((bits & 0x7F80_0000u) == 0x7F80_0000u)
                throw new ArgumentException($"Histogram '{tag}': value #{i} is {f}; only finite values can be histogrammed.", nameof(values));
            int g = cells[bits >> CellShift];
            g += limits[g] <= f ? 1 : 0;
            counts[(i & 3) * n + g]++;
        }
        var total = new double[n];
        for (var b = 0; b < n; b++) total[b] = counts[b] + counts[n + b] + counts[2 * n + b] + counts[3 * n + b];
        return total;
    }
}
