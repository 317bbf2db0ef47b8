namespace ActorTrainer.Core

open System

/// Model outputs for many rows (Keras `predict`): inference passes over chunks of up to MaxRows rows, chunk c covering
/// rows [c·MaxRows, (c+1)·MaxRows). With T ≥ 2 kernel threads (KernelSettings.MaxDegreeOfParallelism on the calling
/// thread) and at least two chunks, min(T, chunks) lanes each take a contiguous run of chunks on their own engine with
/// single-threaded kernels (the work between the GEMMs runs in parallel too: MNIST's 10 000 test images through
/// README's model 1.55–1.6× faster on 2 cores, bench/RESULTS.md); otherwise one engine runs the chunks in turn with multi-threaded GEMMs. A row's outputs depend
/// only on that row (k-only blocking, row-wise activations), so their bits do not depend on T or on MaxRows. One Run at
/// a time per predictor.
[<Sealed>]
type Predictor(plan: ModelPlan, maxRows: int) =
    do if maxRows < 1 then raise (ArgumentOutOfRangeException("maxRows", maxRows, "prediction batch size must be >= 1"))
    let engine = GradientEngine(plan, maxRows)
    let lanes = ResizeArray<GradientEngine>()
    // weights, x, rows, out of the Run in progress (read by the lanes)
    let mutable pass = struct ((null: float32[][]), (null: float32[]), 0, (null: float32[]))

    let chunk (eng: GradientEngine) (weights: float32[][]) (x: float32[]) (count: int) (out: float32[]) (c: int) =
        let f, ow = plan.InputDim, plan.OutputDim
        let start = c * maxRows
        let rows = min maxRows (count - start)
        eng.Predict(weights, ReadOnlySpan(x, start * f, rows * f), rows).CopyTo(Span(out, start * ow, rows * ow))

    /// Largest number of rows per inference pass.
    member _.MaxRows = maxRows

    /// y = model(x) for the first `count` rows of x (count × InputDim, row-major): count × OutputDim, row-major.
    member p.Run(weights: float32[][], x: float32[], count: int) : float32[] =
        if isNull x then nullArg "x"
        if count < 0 || int64 count * int64 plan.InputDim > int64 x.Length then
            raise (ArgumentOutOfRangeException("count", count, sprintf "predict: %d rows of %d features need %d values, x has %d" count plan.InputDim (int64 count * int64 plan.InputDim) x.Length))
        let out = Array.zeroCreate<float32> (count * plan.OutputDim)
        let chunks = (count + maxRows - 1) / maxRows
        let width = min chunks (min ActorTrainer.Kernels.KernelSettings.MaxDegreeOfParallelism 64)
        if width < 2 then
            for c in 0 .. chunks - 1 do chunk engine weights x count out c
        else
            while lanes.Count < width do lanes.Add(GradientEngine(plan, maxRows, MaxDegreeOfParallelism = 1))
            pass <- struct (weights, x, count, out)
            try ActorTrainer.Kernels.KernelThreads.Run(p, width)
            finally pass <- struct (null, null, 0, null)
        out

    interface ActorTrainer.Kernels.IPartitionedWork with
        member _.Run(part, parts) =
            let struct (weights, x, count, out) = pass
            let chunks = (count + maxRows - 1) / maxRows
            let c0 = int (int64 chunks * int64 part / int64 parts)
            let c1 = int (int64 chunks * int64 (part + 1) / int64 parts)
            for c in c0 .. c1 - 1 do chunk lanes.[part] weights x count out c
