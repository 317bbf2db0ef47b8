using ActorTrainer.Core;

namespace ActorTrainer.Runtime;

/// <summary>Where a gradient worker computes its shards: grads = ∂(Σ_rows loss / batchRows)/∂weights at `weights`
/// (weightsKey: equal keys mean equal weights within a run), for x (rows × InputDim), labels (rows) or targets (rows × OutputDim); grads are overwritten
/// (the plan's weight shapes). Every implementation runs the same GradientEngine, so the bits do not depend on where
/// a shard is computed. <see cref="LocalShardCompute"/> runs in this process; a remote one ships the shard to a
/// worker node.</summary>
public interface IShardCompute : IDisposable
{
    /// <summary>Where the shards are computed, for messages ("this process", "node 10.0.0.2:8472").</summary>
    string Where { get; }

    /// <summary>Prepares the computation (connects, for a remote one); throws <see cref="WorkerNodeLostException"/>
    /// when it cannot.</summary>
    void Open();

    /// <summary>One shard's gradient and statistics (see the interface); throws <see cref="WorkerNodeLostException"/>
    /// when a remote node is gone or misses its deadline.</summary>
    ShardStats Compute(float[][] weights, long weightsKey, ReadOnlyMemory<float> x, ReadOnlyMemory<int> labels,
        ReadOnlyMemory<float> targets, int rows, int batchRows, long dropoutSeed, float[][] grads);
}

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
