namespace ActorTrainer.Core

open System

/// The data-parallel training schedule shared by in-process `fit` and the actor runtime, so both produce
/// bit-identical weights: seeded per-epoch permutation, batches, a fixed split of each batch into shards,
/// gradients summed in shard order, one optimizer step per batch.
module Batching =

    /// Default number of shards each batch is split into for the gradient sum (`fit`, `trainer.shards-per-batch`).
    [<Literal>]
    let DefaultShardsPerBatch = 2

    /// Number of batches per epoch: ⌈n / batchSize⌉.
    let batchCount (n: int) (batchSize: int) =
        if batchSize < 1 then raise (ArgumentOutOfRangeException("batchSize", batchSize, "batch size must be >= 1"))
        (n + batchSize - 1) / batchSize

    /// Sample order of an epoch: a Fisher–Yates shuffle drawn from Rng (seed, epoch), or 0..n−1 when not shuffling.
    let permutation (seed: int) (epoch: int) (n: int) (shuffle: bool) : int[] =
        let p = Array.init n id
        if shuffle then
            let rng = Rng.OfParts [| int64 seed; int64 epoch; 0x5EEDL |]
            for i in n - 1 .. -1 .. 1 do
                let j = rng.NextInt(i + 1)
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

    /// Copies rows idx[start..start+count) of a (n × width) matrix into dest (count × width); the next row's cache
    /// lines are prefetched while one is copied (ActorTrainer.Kernels.RowGather).
    let gather (data: float32[]) (width: int) (idx: int[]) (start: int) (count: int) (dest: Span<float32>) =
        ActorTrainer.Kernels.RowGather.Gather(data, width, idx, start, count, dest)

    /// Copies labels idx[start..start+count) into dest.
    let gatherLabels (labels: int[]) (idx: int[]) (start: int) (count: int) (dest: Span<int>) =
        for r in 0 .. count - 1 do dest.[r] <- labels.[idx.[start + r]]

    /// Dropout seed of shard s at global step `step` (independent of which worker computes it).
    let dropoutSeed (seed: int) (step: int64) (shard: int) : int64 =
        int64 (Rng.Key [| int64 seed; step; int64 shard |])

    /// acc[i] ← acc[i] + g[i] element-wise (the fixed shard-order reduction).
    let addInto (acc: float32[][]) (g: float32[][]) =
        for i in 0 .. acc.Length - 1 do
            ActorTrainer.Kernels.GradientFold.Add(Span acc.[i], ReadOnlySpan g.[i])

    /// acc[i] ← acc[i] + g[i] element-wise, as addInto; true when every value of the new acc is finite (the check
    /// fused into the add: one pass).
    let addIntoChecked (acc: float32[][]) (g: float32[][]) =
        let mutable ok = true
        for i in 0 .. acc.Length - 1 do
            ok <- ActorTrainer.Kernels.GradientFold.AddChecked(Span acc.[i], ReadOnlySpan g.[i]) && ok
        ok

    /// Fresh zeroed arrays with the sizes of `like`.
    let zerosLike (like: float32[][]) = like |> Array.map (fun a -> Array.zeroCreate<float32> a.Length)

    /// True when every value is finite.
    let allFinite (arrays: float32[][]) =
        arrays |> Array.forall (fun a -> ActorTrainer.Kernels.GradientFold.AllFinite(ReadOnlySpan a))
