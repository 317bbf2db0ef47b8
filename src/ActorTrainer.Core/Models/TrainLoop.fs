namespace ActorTrainer.Core

open System
open System.Numerics.Tensors
open MathNet.Numerics.Random

/// The data-parallel training schedule shared by in-process `fit` and the actor runtime, so both produce
/// bit-identical weights: seeded per-epoch permutation, batches, a fixed split of each batch into shards,
/// gradients summed in shard order, one optimizer step per batch.
module Batching =

    /// A deterministic 64-bit seed from a list of integers (see Seeds.derive).
    let deriveSeed (parts: int64[]) : int64 = Seeds.derive parts

    /// Number of batches per epoch: ⌈n / batchSize⌉.
    let batchCount (n: int) (batchSize: int) =
        if batchSize < 1 then raise (ArgumentOutOfRangeException("batchSize", batchSize, "batch size must be >= 1"))
        (n + batchSize - 1) / batchSize

    /// Sample order of an epoch: a Fisher–Yates shuffle seeded by (seed, epoch), or 0..n−1 when not shuffling.
    let permutation (seed: int) (epoch: int) (n: int) (shuffle: bool) : int[] =
        let p = Array.init n id
        if shuffle then
            let rng = MersenneTwister(int (deriveSeed [| int64 seed; int64 epoch; 0x5EEDL |] &&& 0x7FFFFFFFL), false)
            for i in n - 1 .. -1 .. 1 do
                let j = rng.Next(i + 1)
                let t = p.[i]
                p.[i] <- p.[j]
                p.[j] <- t
        p

    /// Rows [start, start+count) of shard s when a batch of `rows` samples is split into `shards` contiguous parts.
    let shardRange (rows: int) (shards: int) (s: int) : struct (int * int) =
        if shards < 1 then raise (ArgumentOutOfRangeException("shards", shards, "shards per batch must be >= 1"))
        if s < 0 || s >= shards then raise (ArgumentOutOfRangeException("s", s, sprintf "shard index must be in [0, %d)" shards))
        let a = int (int64 s * int64 rows / int64 shards)
        let b = int (int64 (s + 1) * int64 rows / int64 shards)
        struct (a, b - a)

    /// Copies rows idx[start..start+count) of a (n × width) matrix into dest (count × width).
    let gather (data: float32[]) (width: int) (idx: int[]) (start: int) (count: int) (dest: Span<float32>) =
        for r in 0 .. count - 1 do
            ReadOnlySpan<float32>(data, idx.[start + r] * width, width).CopyTo(dest.Slice(r * width, width))

    /// Copies labels idx[start..start+count) into dest.
    let gatherLabels (labels: int[]) (idx: int[]) (start: int) (count: int) (dest: Span<int>) =
        for r in 0 .. count - 1 do dest.[r] <- labels.[idx.[start + r]]

    /// Dropout seed of shard s at global step `step` (independent of which worker computes it).
    let dropoutSeed (seed: int) (step: int64) (shard: int) : int64 =
        deriveSeed [| int64 seed; step; int64 shard |]

    /// acc[i] ← acc[i] + g[i] element-wise (the fixed shard-order reduction).
    let addInto (acc: float32[][]) (g: float32[][]) =
        for i in 0 .. acc.Length - 1 do
            TensorPrimitives.Add(ReadOnlySpan acc.[i], ReadOnlySpan g.[i], Span acc.[i])

    /// Fresh zeroed arrays with the sizes of `like`.
    let zerosLike (like: float32[][]) = like |> Array.map (fun a -> Array.zeroCreate<float32> a.Length)

    /// True when every value is finite.
    let allFinite (arrays: float32[][]) =
        arrays |> Array.forall (fun a -> Single.IsFinite(TensorPrimitives.Sum(ReadOnlySpan a)) || Array.forall Single.IsFinite a)

/// In-process synchronous data-parallel step: computes the S shard gradients of a batch one after another on
/// one engine and sums them in shard order — exactly what the actor runtime's parameter server does with
/// shard gradients arriving from any number of workers.
type SyncStepper(plan: ModelPlan, batchSize: int, shards: int) =
    do if shards < 1 then raise (ArgumentOutOfRangeException("shards", shards, "trainer.shards-per-batch must be >= 1"))
    let maxShardRows = (batchSize + shards - 1) / shards + 1
    let engine = GradientEngine(plan, max 1 maxShardRows)
    let inW = plan.InputDim
    let xBatch = Array.zeroCreate<float32> (batchSize * inW)
    let yBatch = Array.zeroCreate<int> batchSize
    let tBatch = Array.zeroCreate<float32> (batchSize * plan.OutputDim)
    let mutable shardGrads : float32[][] = null
    let mutable sum : float32[][] = null

    /// The engine (for inference passes).
    member _.Engine = engine

    /// One optimizer step on samples idx[start..start+rows) of (x, labels | targets); returns the batch's statistics.
    /// `step` is the global step number (dropout seeds).
    member _.Step(weights: float32[][], optimizer: Optimizer, x: float32[], labels: int[], targets: float32[],
                  idx: int[], start: int, rows: int, seed: int, step: int64) : ShardStats =
        if isNull sum then
            shardGrads <- Batching.zerosLike weights
            sum <- Batching.zerosLike weights
        Batching.gather x inW idx start rows (Span xBatch)
        if not (isNull labels) then Batching.gatherLabels labels idx start rows (Span yBatch)
        if not (isNull targets) then Batching.gather targets plan.OutputDim idx start rows (Span tBatch)
        let mutable stats = ShardStats.Zero
        let mutable first = true
        for s in 0 .. shards - 1 do
            let struct (a, c) = Batching.shardRange rows shards s
            if c > 0 then
                let st =
                    engine.ComputeGradients(weights, ReadOnlySpan(xBatch, a * inW, c * inW),
                                            (if isNull labels then ReadOnlySpan.Empty else ReadOnlySpan(yBatch, a, c)),
                                            (if isNull targets then ReadOnlySpan.Empty else ReadOnlySpan(tBatch, a * plan.OutputDim, c * plan.OutputDim)),
                                            c, rows, Batching.dropoutSeed seed step s, (if first then sum else shardGrads))
                if not first then Batching.addInto sum shardGrads
                first <- false
                stats <- stats + st
        optimizer.Apply(weights, sum)
        stats

