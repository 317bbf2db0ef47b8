using ActorTrainer.Core;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>The data-plane frames of a coordinator's job on a worker node (the largest is a Work frame that carries a
/// shard's rows and the weights) or on a ps node (a SliceJob or a push); a node whose cluster.data-plane.max-frame-mib is
/// below them would refuse every step. <see cref="MinimumMib"/> is the one figure every advice about that key gives: the
/// coordinator's own check before a run (the daemon's <c>train</c>) and its refusal of a node, for the same model.</summary>
public static class NodeFrames
{
    /// <summary>The least cluster.data-plane.max-frame-mib that carries frames of <paramref name="bytes"/>: whole MiB,
    /// rounded up (at least 1, the key's minimum).</summary>
    public static long MinimumMib(long bytes) => Math.Max(1L, (bytes + (1L << 20) - 1) >> 20);

    /// <summary>Bytes of the largest frame between a coordinator and a worker node for <paramref name="plan"/> in a run of
    /// batches of <paramref name="batchSize"/> rows over <paramref name="trainCount"/> samples (<see cref="Largest"/> for
    /// the rows of a shard, <see cref="JobValidation.WorkerRows(int, int, int, bool)"/>).</summary>
    public static long Largest(ModelPlan plan, int batchSize, int trainCount, int shardsPerBatch, bool async) =>
        Largest(plan, JobValidation.WorkerRows(batchSize, trainCount, shardsPerBatch, async));

    /// <summary>Bytes of the largest frame a coordinator sends a node for `plan` with shards of up to `maxRows` rows,
    /// counted as block-sparse codes at their worst (every block marked: the values plus the mask), which is never
    /// less than the plain tensors: x, labels or targets, the weights' base key and the weights.</summary>
    public static long Largest(ModelPlan plan, int maxRows)
    {
        static long Coded(long n) => 4 * n + BlockSparse.MaskBytes((int)Math.Min(n, int.MaxValue));
        long rows = maxRows;
        long targets = 4 * rows * (plan.Loss.SparseTargets ? 1 : plan.OutputDim);
        return Coded(rows * plan.InputDim) + targets + 8 + plan.WeightSizes.Sum(n => Coded(n));
    }

    /// <summary>Why a node that accepts frames of up to `nodeMax` bytes (0: it did not say) cannot serve this job, or
    /// null when it can.</summary>
    public static string? Refusal(WorkerNodeInfo node, ModelPlan plan, int maxRows)
    {
        long need = Largest(plan, maxRows);
        if (node.MaxFrameBytes <= 0 || need <= node.MaxFrameBytes) return null;
        return $"worker node {node.Host}:{node.Port} has cluster.data-plane.max-frame-mib = {node.MaxFrameBytes >> 20} ({node.MaxFrameBytes} bytes), " +
               $"but this model's data-plane frames need up to {need} bytes; it gets no work from this run: restart it with " +
               $"cluster.data-plane.max-frame-mib = {MinimumMib(need)} or more";
    }

    /// <summary>Bytes of the largest frame a ps node hosting slices `first`..`last` of `layout` receives: the SliceJob
    /// (its text of `textBytes`, the hosted weights and `slots` optimizer slots over them) or a push (stats and the
    /// hosted gradient ranges, block-sparse at their worst).</summary>
    internal static long LargestPs(ParameterSlices layout, int first, int last, int slots, int textBytes)
    {
        var segments = Enumerable.Range(first, last - first + 1).SelectMany(s => layout[s]).ToArray();
        long hosted = segments.Sum(g => (long)g.Count);
        long job = textBytes + 4 * hosted * (1 + slots), push = 20 + segments.Sum(g => 4L * g.Count + BlockSparse.MaskBytes(g.Count));
        return Math.Max(job, push);
    }

    /// <summary>Why the ps node `node` cannot host slices `first`..`last` (its cluster.data-plane.max-frame-mib is below
    /// their frames), or null when it can.</summary>
    internal static string? PsRefusal(WorkerNodeInfo node, ParameterSlices layout, SliceJobSpec spec, int slots)
    {
        var (first, last) = (spec.First, spec.Last);
        long need = LargestPs(layout, first, last, slots, spec.Encode().Length);
        if (node.MaxFrameBytes <= 0 || need <= node.MaxFrameBytes) return null;
        return $"parameter-server node {node.Host}:{node.Port} has cluster.data-plane.max-frame-mib = {node.MaxFrameBytes >> 20} ({node.MaxFrameBytes} bytes), " +
               $"but the frames of its slices {first}..{last} need up to {need} bytes: restart it with cluster.data-plane.max-frame-mib = " +
               $"{MinimumMib(need)} or more (or spread the slices over more ps nodes: cluster.ps-nodes)";
    }
}
