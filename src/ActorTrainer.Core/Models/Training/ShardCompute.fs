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

/// The shard computation in this process: a GradientEngine for up to maxRows samples whose GEMMs use at most
/// `parallelism` threads (0: the process default).
[<Sealed>]
type LocalShardCompute(plan: ModelPlan, maxRows: int, parallelism: int) =
    let engine = GradientEngine(plan, maxRows, MaxDegreeOfParallelism = parallelism)
    /// "this process".
    member _.Where = "this process"
    /// One shard's gradient and statistics (IShardCompute.Compute); weightsKey is not needed in process.
    member _.Compute(weights: float32[][], weightsKey: int64, x: ReadOnlyMemory<float32>, labels: ReadOnlyMemory<int>,
                     targets: ReadOnlyMemory<float32>, rows: int, batchRows: int, dropoutSeed: int64, grads: float32[][]) : ShardStats =
        ignore weightsKey
        engine.ComputeGradients(weights, x.Span, labels.Span, targets.Span, rows, batchRows, dropoutSeed, grads)
    /// Compute over views of weights and gradients held elsewhere (GradientEngine's memory overload; same bits).
    member _.Compute(weights: ReadOnlyMemory<float32>[], x: ReadOnlyMemory<float32>, labels: ReadOnlyMemory<int>, targets: ReadOnlyMemory<float32>,
                     rows: int, batchRows: int, dropoutSeed: int64, grads: Memory<float32>[]) : ShardStats =
        engine.ComputeGradients(weights, x.Span, labels.Span, targets.Span, rows, batchRows, dropoutSeed, grads)
    interface IShardCompute with
        member c.Where = c.Where
        member _.Open() = ()
        member c.Compute(weights, key, x, labels, targets, rows, batchRows, dropoutSeed, grads) =
            c.Compute(weights, key, x, labels, targets, rows, batchRows, dropoutSeed, grads)
        member _.Dispose() = ()

/// Makes the shard computation of local gradient worker `worker` (its id, 0-based, in start order):
/// (worker, plan, largest shard rows, GEMM threads) → IShardCompute.
type ShardComputeFactory = delegate of worker: int * plan: ModelPlan * maxRows: int * threads: int -> IShardCompute

/// A ShardComputeFactory cannot make a computation now but may later (a worker node's one GPU serves another
/// coordinator connection): the node answers the coordinator "busy" instead of refusing it for the run, and the
/// coordinator asks again at its next probe.
type ShardComputeBusyException(message: string) =
    inherit Exception(message)
