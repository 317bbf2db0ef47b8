using ActorTrainer.Core;

namespace ActorTrainer.Runtime;

/// <summary>The flat parameter vector (the weights concatenated in plan order, N elements) cut into contiguous
/// slices: slice s covers [Start(s), Start(s + 1)), boundaries at multiples of <see cref="Align"/> elements and as
/// even as that allows. A slice is a list of <see cref="WeightRange"/>s, one per weight tensor it touches (it may span tensor boundaries). The layout
/// changes who computes which element, never what is computed: every optimizer rule is element-wise.</summary>
public sealed class ParameterSlices
{
    /// <summary>Slice boundaries are multiples of this many elements (64-byte cache lines of float32).</summary>
    public const int Align = 16;

    /// <summary>Auto layout: one slice per core, each at least this many elements (64 KiB of float32; smaller slices
    /// cost more in messages than they save in folding and updating).</summary>
    public const int MinAutoSliceElements = 16384;

    /// <summary>Most slices a layout may have (trainer.ps-slices): each step every slice tells every other one its
    /// check (slices × (slices − 1) SliceChecked messages), so the vote grows with the square of the count; 1024 slices
    /// already cost about 0.25 s per step on 2 cores (64 slices: 0.01 s; bench/RESULTS.md, fortieth session).</summary>
    public const int MaxSlices = 1024;

    private readonly long[] _starts;
    private readonly WeightRange[][] _ranges;

    private ParameterSlices(long[] starts, WeightRange[][] ranges) { _starts = starts; _ranges = ranges; }

    /// <summary>Number of slices.</summary>
    public int Count => _ranges.Length;

    /// <summary>Total number of parameters N.</summary>
    public long Total => _starts[^1];

    /// <summary>The weight ranges of slice s, in flat order.</summary>
    public WeightRange[] this[int slice] => _ranges[slice];

    /// <summary>First flat index of slice s (Start(Count) = N).</summary>
    public long Start(int slice) => _starts[slice];

    /// <summary>Elements in slice s.</summary>
    public int Length(int slice) => (int)(_starts[slice + 1] - _starts[slice]);

    /// <summary>The auto slice count: min(cores, N / MinAutoSliceElements, MaxSlices), at least 1.</summary>
    public static int Auto(int cores, long total) => (int)Math.Max(1, Math.Min(Math.Min(cores, MaxSlices), total / MinAutoSliceElements));

    /// <summary>Cuts tensors of these element counts into `count` slices (fewer when N / Align is smaller: no slice
    /// is empty). Throws ArgumentException for count &lt; 1 or a negative size.</summary>
    public static ParameterSlices Split(int[] sizes, int count)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        if (count < 1) throw new ArgumentException($"trainer.ps-slices must be >= 1 here, got {count}", nameof(count));
        if (sizes.Any(s => s < 0)) throw new ArgumentException("parameter slices: a weight tensor has a negative size", nameof(sizes));
        long total = sizes.Sum(s => (long)s);
        long units = (total + Align - 1) / Align;
        int n = (int)Math.Max(1, Math.Min(count, units));
        var starts = new long[n + 1];
        for (int s = 1; s < n; s++) starts[s] = units * s / n * Align;
        starts[n] = total;
        var ranges = new WeightRange[n][];
        for (int s = 0; s < n; s++) ranges[s] = RangesOf(sizes, starts[s], starts[s + 1]);
        return new ParameterSlices(starts, ranges);
    }

    private static WeightRange[] RangesOf(int[] sizes, long from, long to)
    {
        var list = new List<WeightRange>();
        long tensorStart = 0;
        for (int t = 0; t < sizes.Length && tensorStart < to; t++)
        {
            long a = Math.Max(from, tensorStart), b = Math.Min(to, tensorStart + sizes[t]);
            if (b > a) list.Add(new WeightRange(t, (int)(a - tensorStart), (int)(b - a)));
            tensorStart += sizes[t];
        }
        return list.ToArray();
    }

    /// <summary>Copies slice s of `weights` (per-tensor arrays) into a flat array of Length(s) elements: `into` when it
    /// has that length (a recycled buffer), else a new one.</summary>
    public float[] Gather(int slice, float[][] weights, float[]? into = null)
    {
        var flat = into is not null && into.Length == Length(slice) ? into : GC.AllocateUninitializedArray<float>(Length(slice));
        int at = 0;
        foreach (var g in _ranges[slice])
        {
            weights[g.Tensor].AsSpan(g.Offset, g.Count).CopyTo(flat.AsSpan(at));
            at += g.Count;
        }
        return flat;
    }

    /// <summary>Writes a flat copy of slice s (as made by Gather) back into per-tensor arrays.</summary>
    public void Scatter(int slice, ReadOnlySpan<float> flat, float[][] weights)
    {
        if (flat.Length != Length(slice))
            throw new ArgumentException($"parameter slice {slice}: expected {Length(slice)} values, got {flat.Length}", nameof(flat));
        int at = 0;
        foreach (var g in _ranges[slice])
        {
            flat.Slice(at, g.Count).CopyTo(weights[g.Tensor].AsSpan(g.Offset, g.Count));
            at += g.Count;
        }
    }
}
