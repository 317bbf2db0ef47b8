using ActorTrainer.Core;

namespace ActorTrainer.Runtime;

/// <summary>The shard computation in this process: a GradientEngine for up to maxRows samples whose GEMMs use at most
/// `parallelism` threads (0: the process default).</summary>
public sealed class LocalShardCompute(ModelPlan plan, int maxRows, int parallelism) : IShardCompute
{
    private readonly GradientEngine _engine = new(plan, maxRows) { MaxDegreeOfParallelism = parallelism };

    /// <inheritdoc/>
    public string Where => "this process";

    /// <inheritdoc/>
    public void Open() { }

    /// <inheritdoc/>
    public ShardStats Compute(float[][] weights, long weightsKey, ReadOnlyMemory<float> x, ReadOnlyMemory<int> labels,
        ReadOnlyMemory<float> targets, int rows, int batchRows, long dropoutSeed, float[][] grads) =>
        _engine.ComputeGradients(weights, x.Span, labels.Span, targets.Span, rows, batchRows, dropoutSeed, grads);

    /// <inheritdoc/>
    public void Dispose() { }
}

/// <summary>A remote worker node is unreachable, closed its connection, broke the protocol or missed its per-step
/// deadline; the work item is handed to another worker.</summary>
public sealed class WorkerNodeLostException(string message, Exception? inner = null) : IOException(message, inner);
