namespace ActorTrainer.Core

open System

/// Where a gradient worker computes its shards: grads = ∂(Σ_rows loss / batchRows)/∂weights at `weights` (weightsKey:
/// equal keys mean equal weights within a run), for x (rows × InputDim), labels (rows) or targets (rows × OutputDim);
/// grads are overwritten (the plan's weight shapes). The CPU implementations (in this process, or on a remote worker
/// node) run the same GradientEngine, so their bits do not depend on where a shard is computed; a GPU one computes the
/// same math with other bits.
[<AllowNullLiteral>]
type IShardCompute =
    inherit IDisposable
    /// Where the shards are computed, for messages ("this process", "node 10.0.0.2:8472", "GPU 0").
    abstract Where: string
    /// Prepares the computation (connects, for a remote one; opens buffers on a device); a remote one throws
    /// WorkerNodeLostException when it cannot.
    abstract Open: unit -> unit
    /// One shard's gradient and statistics (see the type); a remote one throws WorkerNodeLostException when its node
    /// is gone or misses its deadline.
    abstract Compute: weights: float32[][] * weightsKey: int64 * x: ReadOnlyMemory<float32> * labels: ReadOnlyMemory<int> *
                      targets: ReadOnlyMemory<float32> * rows: int * batchRows: int * dropoutSeed: int64 * grads: float32[][] -> ShardStats

/// Makes the shard computation of one local gradient worker: (plan, largest shard rows, GEMM threads) → IShardCompute.
type ShardComputeFactory = delegate of plan: ModelPlan * maxRows: int * threads: int -> IShardCompute
