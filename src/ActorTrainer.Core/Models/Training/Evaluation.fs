namespace ActorTrainer.Core

open System
open System.Collections.Generic

/// Loss and metrics of data under given weights (Keras `evaluate` and fit's validation): inference passes over
/// chunks of up to MaxRows samples on <see cref="InferenceLanes"/> (several lanes with T ≥ 2 kernel threads, else one
/// engine in turn). Every chunk's sums are the same either way, and they are added in chunk order, so the result's bits
/// do not depend on T. One Run at a time per evaluator (fit keeps one, `evaluate` makes one per call).
[<Sealed>]
type Evaluator(plan: ModelPlan, maxRows: int) =
    do if maxRows < 1 then raise (ArgumentOutOfRangeException("maxRows", maxRows, "evaluation batch size must be >= 1"))
    let lanes = InferenceLanes(plan, maxRows)
    let mutable chunkStats : ShardStats[] = [||]
    let mutable pass = struct ((null: float32[][]), (null: ArrayData), (null: float32[]))   // weights, data, outputs of the Run in progress
    let work =
        Action<GradientEngine, int>(fun eng c ->
            let struct (weights, d, outputs) = pass
            let start = c * maxRows
            let rows = lanes.ChunkRows(d.Count, c)
            let ow = plan.OutputDim
            chunkStats.[c] <-
                eng.Evaluate(weights, ReadOnlySpan(d.X, start * d.Features, rows * d.Features),
                             (if isNull d.Labels then ReadOnlySpan.Empty else ReadOnlySpan(d.Labels, start, rows)),
                             (if isNull d.Targets then ReadOnlySpan.Empty else ReadOnlySpan(d.Targets, start * ow, rows * ow)), rows,
                             (if isNull outputs then Span.Empty else Span(outputs, start * ow, rows * ow))))

    /// Largest number of samples per inference pass.
    member _.MaxRows = maxRows

    /// Σ loss, Σ hits and count over all samples of d (inference mode: dropout is the identity), the chunks' sums
    /// added in chunk order.
    member e.Run(weights: float32[][], d: ArrayData) : ShardStats = e.Run(weights, d, null)

    /// Run, and the passes' outputs (d.Count × OutputDim, row-major: the bits a Predictor gives) written to `outputs`
    /// unless it is null: one pass where `train` wants both the test set's loss and its predictions.
    member _.Run(weights: float32[][], d: ArrayData, outputs: float32[]) : ShardStats =
        if isNull d then nullArg "d"
        if not (isNull outputs) && outputs.Length <> d.Count * plan.OutputDim then
            raise (ArgumentException(sprintf "evaluate: outputs hold %d values, not %d rows × %d outputs" outputs.Length d.Count plan.OutputDim, "outputs"))
        let chunks = (d.Count + maxRows - 1) / maxRows
        if chunkStats.Length < chunks then chunkStats <- Array.zeroCreate chunks
        pass <- struct (weights, d, outputs)
        try lanes.Run(d.Count, work)
        finally pass <- struct (null, null, null)
        let mutable st = ShardStats.Zero
        for c in 0 .. chunks - 1 do st <- st + chunkStats.[c]
        st

/// Evaluation sums and their Keras-style logs.
module internal Evaluation =
    /// Rows per pass of fit's validation, and of `train`'s test evaluation on the CPU, so that both add their chunk sums
    /// in the same order (Keras evaluates in batches of batch_size): the batch size, at most `count`, at least 1.
    [<CompiledName("PassRows")>]
    let passRows (batchSize: int) (count: int) : int = max 1 (min batchSize count)

    /// Σ loss, Σ hits and count over all samples of d (inference mode) in chunks of engine.MaxRows samples: an
    /// <see cref="Evaluator"/> for the engine's plan and rows (kept for callers of earlier versions).
    let run (engine: GradientEngine) (weights: float32[][]) (d: ArrayData) : ShardStats =
        Evaluator(engine.Plan, engine.MaxRows).Run(weights, d)

    /// Keras-style logs: "loss" = ΣLoss/N and each metric name = ΣHits/N, with a prefix ("" or "val_").
    let logs (prefix: string) (metricNames: string[]) (st: ShardStats) (into: Dictionary<string, float>) =
        into.[prefix + "loss"] <- st.LossSum / float (max 1 st.Count)
        for k in metricNames do into.[prefix + k] <- st.Correct / float (max 1 st.Count)
