using ActorTrainer.Core;
using ActorTrainer.Runtime.DataPlane;
using ActorTrainer.Runtime.SharedMemory;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>A worker node's side of a job whose tensors live in memory shared with the coordinator
/// (<see cref="SharedTensorRegion"/>, Job flag 16): the Job's section names the connection's file (path, size, nonce)
/// and, on three more lines, the run's weights file (<see cref="SharedWeightsHome"/>; mapped read-only, and then every
/// weights offset is into it); each Work frame carries one Int64 offset per tensor, as Int32 pairs (low, high): the
/// weights, x, the labels or targets, then the gradients. Every offset is checked against the mapping before the node
/// reads or writes there; the shard's
/// gradient is written where the coordinator's buffer is, and the Result frame carries only the statistics.</summary>
internal sealed class NodeSharedWork : IDisposable
{
    private readonly SharedTensorMapping _map;
    private readonly SharedTensorMapping? _weightsMap;   // the run's weights file (read-only), when the Job named one
    private readonly ModelPlan _plan;
    private readonly int[] _sizes;
    private readonly int[] _offsets;
    private readonly ReadOnlyMemory<float>[] _weights;
    private readonly Memory<float>[] _grads;
    private readonly Dictionary<(long, int), Memory<float>> _views = [], _weightViews = [];

    private NodeSharedWork(SharedTensorMapping map, SharedTensorMapping? weightsMap, ModelPlan plan)
    {
        _map = map;
        _weightsMap = weightsMap;
        _plan = plan;
        _sizes = plan.WeightSizes;
        _offsets = new int[2 * Count(_sizes.Length)];
        _weights = new ReadOnlyMemory<float>[_sizes.Length];
        _grads = new Memory<float>[_sizes.Length];
    }

    /// <summary>Tensors per Work frame: the weights, x, labels or targets, the gradients.</summary>
    internal static int Count(int weights) => 2 * weights + 2;

    /// <summary>The Job section's text: path, size and nonce (hex), one per line; then the same for the weights file.</summary>
    internal static string Describe(SharedTensorRegion r, SharedTensorRegion? weights) =>
        $"{r.Path}\n{r.Size}\n{Convert.ToHexString(r.Nonce)}" + (weights is null ? "" : $"\n{weights.Path}\n{weights.Size}\n{Convert.ToHexString(weights.Nonce)}");

    /// <summary>Maps the file the Job's `text` names, or returns null with `why` when this node cannot use it (the
    /// coordinator then sends tensors through the socket); InvalidDataException when the text is malformed.</summary>
    internal static NodeSharedWork? TryOpen(string text, ModelPlan plan, out string? why)
    {
        var parts = text.Split('\n');
        if (parts.Length is not (3 or 6))
            throw new InvalidDataException("shared memory section: expected path, size and a 32-digit hex nonce on three lines (six with the weights file)");
        var (path, size, nonce) = FileLines(parts, 0, "the connection's file");
        var weightsFile = parts.Length == 6 ? FileLines(parts, 3, "the weights file") : default;
        SharedTensorMapping? map = null;
        try
        {
            why = null;
            map = SharedTensorMapping.Open(path, size, nonce);
            var weights = weightsFile.Path is null ? null : SharedTensorMapping.Open(weightsFile.Path, weightsFile.Size, weightsFile.Nonce, readOnly: true);
            return new NodeSharedWork(map, weights, plan);
        }
        catch (InvalidDataException e)
        {
            map?.Dispose();
            why = e.Message;
            return null;
        }
    }

    /// <summary>Path, size and nonce of `what` from three lines of the Job's section, from `at` on.</summary>
    private static (string Path, long Size, byte[] Nonce) FileLines(string[] parts, int at, string what)
    {
        if (!long.TryParse(parts[at + 1], out long size) || parts[at + 2].Length != 32)
            throw new InvalidDataException($"shared memory section, {what}: expected path, size and a 32-digit hex nonce on three lines");
        try { return (parts[at], size, Convert.FromHexString(parts[at + 2])); }
        catch (FormatException) { throw new InvalidDataException($"shared memory section, {what}: the nonce is not hex"); }
    }

    /// <summary>Reads the Work frame's offsets (section 0; checked) and computes the shard into the shared gradient.</summary>
    internal ShardStats Compute(TensorConnection conn, FrameHeader h, LocalShardCompute compute, int rows, int batchRows)
    {
        int n = _sizes.Length;
        if (h.SectionCount != 1 || h.Types[0] != SectionType.Int32 || h.Lengths[0] != _offsets.Length)
            throw new InvalidDataException($"work frame of a shared-memory job: expected one section of {_offsets.Length} Int32, got {h.SectionCount} sections");
        conn.ReceiveSection(_offsets.AsSpan());
        for (int i = 0; i < n; i++)
        {
            _weights[i] = View(_weightsMap ?? _map, _weightsMap is null ? _views : _weightViews, 2 * i, _sizes[i], $"weight {i}");
            _grads[i] = View(2 * (n + 2 + i), _sizes[i], $"gradient {i}");
        }
        var x = View(2 * n, rows * _plan.InputDim, "x");
        bool sparse = _plan.Loss.SparseTargets;
        long t = Offset(2 * (n + 1));
        var labels = sparse ? _map.Ints(t, rows, "labels") : Memory<int>.Empty;
        var targets = sparse ? Memory<float>.Empty : View(2 * (n + 1), rows * _plan.OutputDim, "targets");
        return compute.Compute(_weights, x, labels, targets, rows, batchRows, h.D, _grads);
    }

    private long Offset(int at) => (long)(uint)_offsets[at] | ((long)_offsets[at + 1] << 32);

    private Memory<float> View(int at, int length, string what) => View(_map, _views, at, length, what);

    /// <summary>`length` floats of `map` at the offset in the Work frame's entry `at` (checked; views kept in `views`).</summary>
    private Memory<float> View(SharedTensorMapping map, Dictionary<(long, int), Memory<float>> views, int at, int length, string what)
    {
        long offset = Offset(at);
        if (!views.TryGetValue((offset, length), out var v))
        {
            if (views.Count > 4096) views.Clear();
            views[(offset, length)] = v = map.Floats(offset, length, what);
        }
        return v;
    }

    /// <summary>Unmaps the files.</summary>
    public void Dispose()
    {
        _map.Dispose();
        _weightsMap?.Dispose();
    }
}
