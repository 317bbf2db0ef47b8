namespace ActorTrainer.Core

open System
open System.Collections.Generic

/// Loss and metrics of data under given weights (Keras `evaluate` and fit's validation): inference passes over
/// chunks of up to MaxRows samples, chunk c covering samples [c·MaxRows, (c+1)·MaxRows). With T ≥ 2 kernel threads
/// (KernelSettings.MaxDegreeOfParallelism on the calling thread) and at least two chunks, min(T, chunks) lanes each
/// take a contiguous run of chunks on their own engine with single-threaded kernels (the work between the GEMMs runs
/// in parallel too); otherwise one engine runs the chunks in turn with multi-threaded GEMMs. Every chunk's sums are
/// the same either way, and they are added in chunk order, so the result's bits do not depend on T. Each lane keeps
/// an engine's buffers for MaxRows rows; one Run at a time per evaluator (fit keeps one, `evaluate` makes one per call).
[<Sealed>]
type Evaluator(plan: ModelPlan, maxRows: int) =
    do if maxRows < 1 then raise (ArgumentOutOfRangeException("maxRows", maxRows, "evaluation batch size must be >= 1"))
    let engine = GradientEngine(plan, maxRows)
    let lanes = ResizeArray<GradientEngine>()
    let mutable chunkStats : ShardStats[] = [||]
    let mutable pass = struct ((null: float32[][]), (null: ArrayData), 0)

    let chunk (eng: GradientEngine) (weights: float32[][]) (d: ArrayData) (c: int) =
        let start = c * maxRows
        let rows = min maxRows (d.Count - start)
        let ow = plan.OutputDim
        eng.Evaluate(weights, ReadOnlySpan(d.X, start * d.Features, rows * d.Features),
                     (if isNull d.Labels then ReadOnlySpan.Empty else ReadOnlySpan(d.Labels, start, rows)),
                     (if isNull d.Targets then ReadOnlySpan.Empty else ReadOnlySpan(d.Targets, start * ow, rows * ow)), rows)

    /// Largest number of samples per inference pass.
    member _.MaxRows = maxRows

    /// Σ loss, Σ hits and count over all samples of d (inference mode: dropout is the identity).
    member e.Run(weights: float32[][], d: ArrayData) : ShardStats =
        if isNull d then nullArg "d"
        let chunks = (d.Count + maxRows - 1) / maxRows
        let width = min chunks (min ActorTrainer.Kernels.KernelSettings.MaxDegreeOfParallelism 64)
        if width < 2 then
            let mutable st = ShardStats.Zero
            for c in 0 .. chunks - 1 do st <- st + chunk engine weights d c
            st
        else
            while lanes.Count < width do lanes.Add(GradientEngine(plan, maxRows, MaxDegreeOfParallelism = 1))
            if chunkStats.Length < chunks then chunkStats <- Array.zeroCreate chunks
            pass <- struct (weights, d, chunks)
            try ActorTrainer.Kernels.KernelThreads.Run(e, width)
            finally pass <- struct (null, null, 0)
            let mutable st = ShardStats.Zero
            for c in 0 .. chunks - 1 do st <- st + chunkStats.[c]
            st

    interface ActorTrainer.Kernels.IPartitionedWork with
        member _.Run(part, parts) =
            let struct (weights, d, chunks) = pass
            let c0 = int (int64 chunks * int64 part / int64 parts)
            let c1 = int (int64 chunks * int64 (part + 1) / int64 parts)
            for c in c0 .. c1 - 1 do chunkStats.[c] <- chunk lanes.[part] weights d c

/// Evaluation sums and their Keras-style logs.
module Evaluation =
    /// Σ loss, Σ hits and count over all samples of d (inference mode) in chunks of engine.MaxRows samples: an
    /// <see cref="Evaluator"/> for the engine's plan and rows (kept for callers of earlier versions).
    let run (engine: GradientEngine) (weights: float32[][]) (d: ArrayData) : ShardStats =
        Evaluator(engine.Plan, engine.MaxRows).Run(weights, d)

    /// Keras-style logs: "loss" = ΣLoss/N and each metric name = ΣHits/N, with a prefix ("" or "val_").
    let logs (prefix: string) (metricNames: string[]) (st: ShardStats) (into: Dictionary<string, float>) =
        into.[prefix + "loss"] <- st.LossSum / float (max 1 st.Count)
        for k in metricNames do into.[prefix + k] <- st.Correct / float (max 1 st.Count)
