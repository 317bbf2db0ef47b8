namespace ActorTrainer.Core

open System

/// Model outputs for many rows (Keras `predict`): inference passes over chunks of up to MaxRows rows on
/// <see cref="InferenceLanes"/> (several lanes with T ≥ 2 kernel threads: MNIST's 10 000 test images through README's
/// model 1.55–1.6× faster on 2 cores than one engine in turn, bench/RESULTS.md). A row's outputs depend only on that row
/// (k-only blocking, row-wise activations), so their bits do not depend on T or on MaxRows. One Run at a time per
/// predictor.
[<Sealed>]
type Predictor(plan: ModelPlan, maxRows: int) =
    do if maxRows < 1 then raise (ArgumentOutOfRangeException("maxRows", maxRows, "prediction batch size must be >= 1"))
    let lanes = InferenceLanes(plan, maxRows)
    let mutable pass = struct ((null: float32[][]), (null: float32[]), 0, (null: float32[]))   // weights, x, rows, out
    let work =
        Action<GradientEngine, int>(fun eng c ->
            let struct (weights, x, count, out) = pass
            let f, ow = plan.InputDim, plan.OutputDim
            let start = c * maxRows
            let rows = lanes.ChunkRows(count, c)
            eng.Predict(weights, ReadOnlySpan(x, start * f, rows * f), rows).CopyTo(Span(out, start * ow, rows * ow)))

    /// Largest number of rows per inference pass.
    member _.MaxRows = maxRows

    /// y = model(x) for the first `count` rows of x (count × InputDim, row-major): count × OutputDim, row-major.
    member _.Run(weights: float32[][], x: float32[], count: int) : float32[] =
        if isNull x then nullArg "x"
        if count < 0 || int64 count * int64 plan.InputDim > int64 x.Length then
            raise (ArgumentOutOfRangeException("count", count, sprintf "predict: %d rows of %d features need %d values, x has %d" count plan.InputDim (int64 count * int64 plan.InputDim) x.Length))
        let out = Array.zeroCreate<float32> (count * plan.OutputDim)
        pass <- struct (weights, x, count, out)
        try lanes.Run(count, work)
        finally pass <- struct (null, null, 0, null)
        out
