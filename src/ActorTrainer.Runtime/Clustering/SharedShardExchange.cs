using System.Runtime.InteropServices;
using ActorTrainer.Core;
using ActorTrainer.Runtime.SharedMemory;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>The coordinator's side of one connection's shared memory with a worker node on this host
/// (<see cref="NodeSharedWork"/> is the node's): a <see cref="SharedTensorRegion"/> with slots for x and for the labels
/// or targets and a spare set of gradient slots; the weights are read from the run's <see cref="SharedWeightsHome"/> (a
/// second file, mapped read-only by the node) or, without one, from a slot per tensor here (copied in when the weights
/// key changes).
/// The worker's gradient buffers and the rows buffer it gathers into are placed in the region (their pages become the
/// file's), so the node's gradient lands in the buffer the parameter server folds and the gathered rows are where the
/// node reads them; only the partial pages at their ends are copied. A buffer the region has no room for goes through
/// the spare slots, copied.</summary>
internal sealed class SharedShardExchange : IDisposable
{
    private readonly SharedTensorRegion _region;
    private readonly SharedWeightsHome? _home;
    private readonly SharedTensorRegion? _homeRegion;
    private readonly long[] _weightsAt;
    private readonly ModelPlan _plan;
    private readonly int[] _sizes;
    private readonly long[] _weights, _spare;
    private readonly long _x, _targets;
    private readonly bool[] _placed;
    private readonly int[] _offsets;
    private long _heldKey = long.MinValue;

    private SharedShardExchange(SharedTensorRegion region, ModelPlan plan, int maxRows, SharedWeightsHome? home, SharedTensorRegion? homeRegion)
    {
        _region = region;
        _home = home;
        _homeRegion = homeRegion;
        _plan = plan;
        _sizes = plan.WeightSizes;
        _weightsAt = new long[_sizes.Length];
        _weights = home is null ? _sizes.Select(n => region.Reserve(4L * n)).ToArray() : [];
        _spare = _sizes.Select(n => region.Reserve(4L * n)).ToArray();
        _x = region.Reserve(4L * maxRows * plan.InputDim);
        _targets = region.Reserve(4L * maxRows * Math.Max(1, plan.OutputDim));
        _placed = new bool[_sizes.Length];
        _offsets = new int[2 * NodeSharedWork.Count(_sizes.Length)];
    }

    /// <summary>Gradient buffer sets the region has room for besides its reserved slots.</summary>
    internal const int BufferSets = 8;

    /// <summary>A region for `plan`'s tensors and shards of up to `maxRows`, the weights read from `home` (the run's file)
    /// when given, or null where this host has no shared memory (`why`).</summary>
    internal static SharedShardExchange? TryCreate(ModelPlan plan, int maxRows, SharedWeightsHome? home, out string? why)
    {
        SharedTensorRegion? homeRegion = null;
        if (home is not null && (homeRegion = home.Region(out why)) is null) return null;
        long page = SharedMemoryNative.Page, weights = plan.WeightSizes.Sum(n => 4L * n + 2 * page);
        long bytes = (home is null ? 2 : 1) * weights + BufferSets * weights + 4L * maxRows * (plan.InputDim + Math.Max(1, plan.OutputDim)) + 4 * page;
        var region = SharedTensorRegion.TryCreate(bytes, out why);
        return region is null ? null : new SharedShardExchange(region, plan, maxRows, home, homeRegion);
    }

    /// <summary>The Job frame's section: what the node maps.</summary>
    internal byte[] Describe() => System.Text.Encoding.UTF8.GetBytes(NodeSharedWork.Describe(_region, _homeRegion));

    /// <summary>Puts a shard's tensors where the node reads them and returns the Work frame's offsets.</summary>
    internal int[] Prepare(float[][] weights, long weightsKey, ReadOnlyMemory<float> x, ReadOnlyMemory<int> labels,
        ReadOnlyMemory<float> targets, float[][] grads)
    {
        int n = _sizes.Length;
        if (_home is not null) _home.Offsets(weights, weightsKey, _weightsAt);
        else
        {
            if (weightsKey != _heldKey)
            {
                _heldKey = long.MinValue;
                for (int i = 0; i < n; i++) weights[i].AsSpan(0, _sizes[i]).CopyTo(_region.At<float>(_weights[i], _sizes[i]));
                _heldKey = weightsKey;
            }
            _weights.CopyTo(_weightsAt, 0);
        }
        for (int i = 0; i < n; i++) Set(i, _weightsAt[i]);
        Set(n, PlaceRows(x));
        if (_plan.Loss.SparseTargets) labels.Span.CopyTo(_region.At<int>(_targets, labels.Length));
        else targets.Span.CopyTo(_region.At<float>(_targets, targets.Length));
        Set(n + 1, _targets);
        for (int i = 0; i < n; i++)
        {
            long g = _region.Place(grads[i]);
            _placed[i] = g >= 0;
            Set(n + 2 + i, g >= 0 ? g : _spare[i]);
        }
        return _offsets;
    }

    /// <summary>After the node's Result: the gradient's parts the region does not share (or all of it, through the
    /// spare slots) into `grads`.</summary>
    internal void Finish(float[][] grads)
    {
        for (int i = 0; i < _sizes.Length; i++)
        {
            if (_placed[i]) _region.Collect(grads[i]);
            else _region.At<float>(_spare[i], _sizes[i]).CopyTo(grads[i]);
        }
    }

    /// <summary>The rows in place when they are the start of an array the region can hold, else copied into x's slot.</summary>
    private long PlaceRows(ReadOnlyMemory<float> x)
    {
        if (MemoryMarshal.TryGetArray(x, out var seg) && seg.Array is { } a && _region.Place(a) is var o and >= 0)
        {
            _region.Publish(a);
            return o + 4L * seg.Offset;
        }
        x.Span.CopyTo(_region.At<float>(_x, x.Length));
        return _x;
    }

    private void Set(int tensor, long offset)
    {
        _offsets[2 * tensor] = (int)offset;
        _offsets[2 * tensor + 1] = (int)(offset >> 32);
    }

    /// <summary>Gives the placed buffers their own pages back and removes the file.</summary>
    public void Dispose() => _region.Dispose();
}
