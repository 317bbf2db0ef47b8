using ActorTrainer.Core;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>The data-plane frames of a coordinator's job on a worker node: the largest is a Work frame that carries a
/// shard's rows and the weights; a node whose cluster.data-plane.max-frame-mib is below it would refuse every step.</summary>
internal static class NodeFrames
{
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
               $"cluster.data-plane.max-frame-mib = {(need + (1L << 20) - 1) >> 20} or more";
    }
}
