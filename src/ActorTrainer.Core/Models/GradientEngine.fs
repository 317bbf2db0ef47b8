namespace ActorTrainer.Core

open System
open System.Numerics.Tensors
open ActorTrainer.Kernels

/// Forward and backward passes of a ModelPlan over preallocated float32 buffers, for up to maxRows samples at a
/// time. No allocation per call. Not thread-safe: one engine per worker. Deterministic: the same weights, inputs
/// and dropout seed give bit-identical gradients on any number of cores.
type GradientEngine(plan: ModelPlan, maxRows: int) =
    do if maxRows < 1 then raise (ArgumentOutOfRangeException("maxRows", maxRows, "maxRows must be >= 1"))
    let layers = plan.Layers
    let n = layers.Length
    let widths =
        let w = Array.zeroCreate n
        let mutable cur = plan.InputDim
        for i in 0 .. n - 1 do
            match layers.[i] with
            | PlanLayer.Dense(inDim, u, _, _) ->
                if inDim <> cur then
                    raise (ArgumentException(sprintf "layer %d (Dense) expects %d inputs but receives %d" i inDim cur))
                cur <- u
            | PlanLayer.Custom c ->
                if c.InputDim <> cur then
                    raise (ArgumentException(sprintf "layer %d (custom) expects %d inputs but receives %d" i c.InputDim cur))
                cur <- c.OutputDim
            | _ -> ()
            w.[i] <- cur
        w
    let maxWidth = Array.fold max plan.InputDim widths
    let outs = widths |> Array.map (fun w -> Array.zeroCreate<float32> (maxRows * w))
    let masks = layers |> Array.mapi (fun i l -> match l with PlanLayer.Dropout _ -> Array.zeroCreate<float32> (maxRows * widths.[i]) | _ -> null)
    let outW = if n = 0 then plan.InputDim else widths.[n - 1]
    let zLast = Array.zeroCreate<float32> (maxRows * outW)
    // the backward pass's two gradient buffers, made at the first one: an engine that only infers (evaluation,
    // prediction lanes) never touches their pages (2 × 3.2 MB for 1 024 rows of MNIST)
    let mutable gA : float32[] = null
    let mutable gB : float32[] = null
    // weight index of each Dense layer
    let weightIndex =
        let idx = Array.create n -1
        let mutable k = 0
        for i in 0 .. n - 1 do
            match layers.[i] with
            | PlanLayer.Dense(_, _, b, _) -> idx.[i] <- k; k <- k + (if b then 2 else 1)
            | PlanLayer.Custom c -> idx.[i] <- k; k <- k + c.WeightShapes.Length
            | _ -> ()
        idx
    let shapes = plan.WeightShapes
    let lastDense = n > 0 && (match layers.[n - 1] with PlanLayer.Dense _ -> true | _ -> false)
    let lastAct = n > 0 && (match layers.[n - 1] with PlanLayer.Activation _ -> true | _ -> false)
    let finalAct =
        if n = 0 then Activation.Linear
        else match layers.[n - 1] with
             | PlanLayer.Dense(_, _, _, a) | PlanLayer.Activation a -> a
             | PlanLayer.Dropout _ | PlanLayer.Custom _ -> Activation.Linear

    let sizes = shapes |> Array.map (Array.fold (*) 1)
    /// The weights of custom layer i (the plan's order).
    let customWeights (i: int) (c: CustomPlanLayer) (weights: float32[][]) = weights.[weightIndex.[i] .. weightIndex.[i] + c.WeightShapes.Length - 1]
    let checkWeights (weights: float32[][]) =
        if weights.Length <> shapes.Length then
            raise (ArgumentException(sprintf "engine: model expects %d weight arrays but got %d" shapes.Length weights.Length))
        for i in 0 .. shapes.Length - 1 do
            let want = sizes.[i]
            if weights.[i].Length <> want then
                raise (ArgumentException(sprintf "engine: weight %d has %d elements but shape %s needs %d" i weights.[i].Length (Shape.str shapes.[i]) want))

    let checkRows (rows: int) (x: ReadOnlySpan<float32>) =
        if rows < 0 || rows > maxRows then
            raise (ArgumentOutOfRangeException("rows", rows, sprintf "rows must be in [0, %d] for this engine" maxRows))
        if x.Length < rows * plan.InputDim then
            raise (ArgumentException(sprintf "engine: input has %d values but %d rows × %d features need %d" x.Length rows plan.InputDim (rows * plan.InputDim)))

    let input (x: ReadOnlySpan<float32>) (i: int) (rows: int) : ReadOnlySpan<float32> =
        if i = 0 then x.Slice(0, rows * plan.InputDim)
        else ReadOnlySpan<float32>(outs.[i - 1], 0, rows * widths.[i - 1])

    // No [<MethodImpl(AggressiveOptimization)>] here: F# drops that flag (the method's IL stays plain), so it never had
    // an effect. The daemon runs without tiered compilation and with this assembly as IL, which compiles the per-step
    // methods optimized at their first call, on `train`'s warm-up thread (bench/RESULTS.md, "No tiered compilation").
    let forward (wm: ReadOnlyMemory<float32>[]) (weights: float32[][]) (x: ReadOnlySpan<float32>) (rows: int) (training: bool) (seed: int64) =
        for i in 0 .. n - 1 do
            let inp = input x i rows
            let w = widths.[i]
            let out = Span<float32>(outs.[i], 0, rows * w)
            match layers.[i] with
            | PlanLayer.Dense(inDim, units, useBias, act) ->
                let keepZ = i = n - 1 && act <> Activation.Linear
                let z = if keepZ then Span<float32>(zLast, 0, rows * units) else out
                let k = weightIndex.[i]
                DenseKernels.forward inp wm.[k].Span (if useBias then wm.[k + 1].Span else ReadOnlySpan.Empty)
                    z rows inDim units
                ActivationKernels.forward act (SpanUtil.ro z) out rows units
            | PlanLayer.Activation act ->
                ActivationKernels.forward act inp out rows w
            | PlanLayer.Dropout rate ->
                if training && rate > 0.0 then
                    let mask = Span<float32>(masks.[i], 0, rows * w)
                    DropoutKernels.mask seed i rate mask
                    DropoutKernels.apply inp (SpanUtil.ro mask) out
                else inp.CopyTo out
            | PlanLayer.Custom c -> CustomLayerRows.forward c (customWeights i c weights) inp out rows training

    let hasCustom = layers |> Array.exists (function PlanLayer.Custom _ -> true | _ -> false)
    // the arrays' views, refilled per call (no allocation)
    let wmCache : ReadOnlyMemory<float32>[] = Array.zeroCreate shapes.Length
    let gmCache : Memory<float32>[] = Array.zeroCreate shapes.Length
    let toMem (weights: float32[][]) =
        for i in 0 .. weights.Length - 1 do wmCache.[i] <- ReadOnlyMemory weights.[i]
        wmCache
    let checkViews (wm: ReadOnlyMemory<float32>[]) (gm: Memory<float32>[]) =
        if hasCustom then raise (ArgumentException "engine: a plan with custom layers computes from weight arrays, not memory views")
        if wm.Length <> shapes.Length || gm.Length <> shapes.Length then
            raise (ArgumentException(sprintf "engine: model expects %d weight and gradient views but got %d and %d" shapes.Length wm.Length gm.Length))
        for i in 0 .. shapes.Length - 1 do
            if wm.[i].Length <> sizes.[i] || gm.[i].Length <> sizes.[i] then
                raise (ArgumentException(sprintf "engine: weight %d and its gradient have %d and %d elements but shape %s needs %d" i wm.[i].Length gm.[i].Length (Shape.str shapes.[i]) sizes.[i]))
    /// The plan this engine runs.
    member _.Plan = plan
    /// Largest number of rows per call.
    member _.MaxRows = maxRows
    /// Threads one GEMM of this engine may use (0: the caller's scope or the process default); results do not depend on it.
    member val MaxDegreeOfParallelism = 0 with get, set

    /// Inference forward pass y = model(x): x (rows × InputDim) → y (rows × OutputDim), in an internal buffer valid
    /// until the next call; dropout is the identity.
    member e.Predict(weights: float32[][], x: ReadOnlySpan<float32>, rows: int) : ReadOnlySpan<float32> =
        use _ = KernelSettings.UseParallelism e.MaxDegreeOfParallelism
        checkWeights weights
        checkRows rows x
        forward (toMem weights) weights x rows false 0L
        if n = 0 then x.Slice(0, rows * plan.InputDim) else ReadOnlySpan<float32>(outs.[n - 1], 0, rows * outW)

    /// Σ_rows loss(y, target) and metric hits of an inference pass (validation / evaluate): x (rows × InputDim),
    /// labels (rows) for the sparse loss else targets (rows × OutputDim).
    member e.Evaluate(weights: float32[][], x: ReadOnlySpan<float32>, labels: ReadOnlySpan<int>, targets: ReadOnlySpan<float32>, rows: int) : ShardStats =
        e.Evaluate(weights, x, labels, targets, rows, Span.Empty)

    /// Evaluate, and the pass's outputs y (rows × OutputDim: Predict's bits) copied to `outputs` unless it is empty.
    member e.Evaluate(weights: float32[][], x: ReadOnlySpan<float32>, labels: ReadOnlySpan<int>, targets: ReadOnlySpan<float32>, rows: int,
                      outputs: Span<float32>) : ShardStats =
        let y = e.Predict(weights, x, rows)
        if not outputs.IsEmpty then y.CopyTo outputs
        let z = if lastDense && finalAct <> Activation.Linear then ReadOnlySpan<float32>(zLast, 0, rows * outW)
                elif lastAct then input x (n - 1) rows
                else y
        let loss = LossKernels.lossAndGrad plan.Loss finalAct z y labels targets rows outW rows Span.Empty
        { LossSum = loss; Correct = LossKernels.correct plan.Loss y labels targets rows outW; Count = rows }

    /// Forward + backward on `rows` samples that belong to a batch of `batchSize` samples: writes
    /// grads[i] = ∂(Σ_rows loss / batchSize)/∂weights[i] (overwriting; shapes of weights[i]) and returns the shard's
    /// loss sum and hits; x, labels, targets as in Evaluate. Dropout masks are DropoutKernels.mask dropoutSeed
    /// (plan layer index), so every worker, and the tape's Dropout layer, computes the same shard identically.
    member e.ComputeGradients(weights: float32[][], x: ReadOnlySpan<float32>, labels: ReadOnlySpan<int>, targets: ReadOnlySpan<float32>,
                              rows: int, batchSize: int, dropoutSeed: int64, grads: float32[][]) : ShardStats =
        checkWeights weights
        if grads.Length <> weights.Length then
            raise (ArgumentException(sprintf "engine: %d gradient arrays for %d weights" grads.Length weights.Length))
        for i in 0 .. grads.Length - 1 do gmCache.[i] <- Memory grads.[i]
        e.Gradients(toMem weights, weights, x, labels, targets, rows, batchSize, dropoutSeed, gmCache, grads)

    /// ComputeGradients over views of weights and gradients held elsewhere (memory shared with another process):
    /// weights[i] and grads[i] have the sizes of the plan's weight shapes; bit-identical to the arrays' overload. Plans
    /// with custom layers need arrays (ArgumentException).
    member e.ComputeGradients(weights: ReadOnlyMemory<float32>[], x: ReadOnlySpan<float32>, labels: ReadOnlySpan<int>, targets: ReadOnlySpan<float32>,
                              rows: int, batchSize: int, dropoutSeed: int64, grads: Memory<float32>[]) : ShardStats =
        checkViews weights grads
        e.Gradients(weights, null, x, labels, targets, rows, batchSize, dropoutSeed, grads, null)

    member private e.Gradients(wm: ReadOnlyMemory<float32>[], weights: float32[][], x: ReadOnlySpan<float32>, labels: ReadOnlySpan<int>,
                               targets: ReadOnlySpan<float32>, rows: int, batchSize: int, dropoutSeed: int64,
                               gm: Memory<float32>[], grads: float32[][]) : ShardStats =
        use _ = KernelSettings.UseParallelism e.MaxDegreeOfParallelism
        checkRows rows x
        if batchSize < rows || batchSize < 1 then
            raise (ArgumentOutOfRangeException("batchSize", batchSize, sprintf "batchSize must be >= rows (%d) and >= 1" rows))
        forward wm weights x rows true dropoutSeed
        let y = if n = 0 then x.Slice(0, rows * outW) else ReadOnlySpan<float32>(outs.[n - 1], 0, rows * outW)
        let z = if lastDense && finalAct <> Activation.Linear then ReadOnlySpan<float32>(zLast, 0, rows * outW)
                elif lastAct then input x (n - 1) rows
                else y
        if isNull gA then
            gA <- Array.zeroCreate (maxRows * maxWidth)
            gB <- Array.zeroCreate (maxRows * maxWidth)
        let mutable g = gA
        let mutable gOther = gB
        let loss = LossKernels.lossAndGrad plan.Loss finalAct z y labels targets rows outW batchSize (Span<float32>(g, 0, rows * outW))
        let correct = LossKernels.correct plan.Loss y labels targets rows outW
        // gradient w.r.t. the pre-activation of the last Dense, or w.r.t. the input of a final Activation layer
        let mutable gIsPreAct = lastDense
        let start = if lastAct then n - 2 else n - 1
        let mutable i = start
        while i >= 0 do
                let w = widths.[i]
                let gs = Span<float32>(g, 0, rows * w)
                match layers.[i] with
                | PlanLayer.Dense(inDim, units, useBias, act) ->
                    if not gIsPreAct then
                        ActivationKernels.backward act (ReadOnlySpan<float32>(outs.[i], 0, rows * w)) gs rows w
                    let k = weightIndex.[i]
                    let dx = if i > 0 then Span<float32>(gOther, 0, rows * inDim) else Span.Empty
                    DenseKernels.backward (input x i rows) (SpanUtil.ro gs) wm.[k].Span gm.[k].Span
                        (if useBias then gm.[k + 1].Span else Span.Empty) dx rows inDim units
                    if i > 0 then
                        let t = g in g <- gOther; gOther <- t
                    gIsPreAct <- false
                | PlanLayer.Activation act ->
                    if i > 0 then ActivationKernels.backward act (ReadOnlySpan<float32>(outs.[i], 0, rows * w)) gs rows w
                    gIsPreAct <- false
                | PlanLayer.Dropout rate ->
                    if i > 0 && rate > 0.0 then
                        DropoutKernels.apply (SpanUtil.ro gs) (ReadOnlySpan<float32>(masks.[i], 0, rows * w)) gs
                    gIsPreAct <- false
                | PlanLayer.Custom c ->
                    let dx = if i > 0 then Span<float32>(gOther, 0, rows * c.InputDim) else Span.Empty
                    let k = weightIndex.[i]
                    CustomLayerRows.backward c (customWeights i c weights) (input x i rows) (SpanUtil.ro gs)
                        grads.[k .. k + c.WeightShapes.Length - 1] dx rows
                    if i > 0 then
                        let t = g in g <- gOther; gOther <- t
                    gIsPreAct <- false
                i <- i - 1
        { LossSum = loss; Correct = correct; Count = rows }
