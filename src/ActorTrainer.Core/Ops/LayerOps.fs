namespace ActorTrainer.Core

open System


/// Differentiable (GradientTape) forms of the layers' and losses' math. Each is ONE op whose forward and backward are
/// the training engine's span kernels (ActivationKernels, DenseKernels, DropoutKernels, LossKernels), so the tape
/// and the engine share one definition of every activation, loss, Dense and Dropout. Float32: like Keras layers,
/// float64 inputs are cast to float32 first (a differentiable cast).
module internal TapeOps =
    open OpHelpers

    let private f32 (t: Tensor) = if t.DType = Float32 then t else t.AsType Float32
    let private data (a: NDArray) : float32[] = (Elementwise.cast Float32 a).F32
    let private ro (a: float32[]) = ReadOnlySpan<float32>(a)

    /// (rows, width) of a row-major array whose last axis is the feature axis (a scalar is one 1-wide row).
    let private rowsWidth (a: NDArray) =
        let d = a.Dims
        let w = if d.Length = 0 then 1 else d.[d.Length - 1]
        (if w = 0 then 0 else a.Size / w), w

    let private actOp (a: Activation) =
        mk a.Name
            (fun i ->
                let rows, w = rowsWidth i.[0]
                let y = Array.zeroCreate<float32> i.[0].Size
                ActivationKernels.forward a (ro i.[0].F32) (Span y) rows w
                NDArray.Raw(y, Array.copy i.[0].Dims))
            (fun _ o g ->
                let rows, w = rowsWidth o
                let gx = Array.copy (data g)
                ActivationKernels.backward a (ro o.F32) (Span gx) rows w
                [| NDArray.Raw(gx, Array.copy o.Dims) |])

    /// y = act(x) along the last axis (softmax per row); one op: ActivationKernels.forward / backward. Shape of x.
    let activation (a: Activation) (x: Tensor) : Tensor =
        if a = Activation.Linear then x else Tensor.Apply(actOp a, [| f32 x |])

    let private denseOp (inDim: int) (units: int) (useBias: bool) =
        mkSel "dense"
            (fun i ->
                let x = i.[0]
                let rows = if inDim = 0 then 0 else x.Size / inDim
                let z = Array.zeroCreate<float32> (rows * units)
                DenseKernels.forward (ro x.F32) (ro i.[1].F32) (if useBias then ro i.[2].F32 else ReadOnlySpan.Empty) (Span z) rows inDim units
                let d = Array.copy x.Dims
                d.[d.Length - 1] <- units
                NDArray.Raw(z, d))
            (fun i _ g needed ->
                let x = i.[0]
                let rows = if inDim = 0 then 0 else x.Size / inDim
                let out (k: int) (n: int) = if needed.[k] then Array.zeroCreate<float32> n else null
                let dx, dW = out 0 x.Size, out 1 (inDim * units)
                let db = if useBias then out 2 units else null
                DenseKernels.backward (ro x.F32) (ro (data g)) (ro i.[1].F32) (Span<float32>(dW)) (Span<float32>(db)) (Span<float32>(dx)) rows inDim units
                let nd (a: float32[]) (dims: int[]) = if isNull a then Unchecked.defaultof<NDArray> else NDArray.Raw(a, Array.copy dims)
                [| yield nd dx x.Dims; yield nd dW i.[1].Dims; if useBias then yield nd db i.[2].Dims |])

    /// z = x·W (+ b) on the last axis; x (..., inDim), W (inDim × units), b (units) or null → (..., units).
    /// One op: DenseKernels.forward / backward (only the needed gradients are computed).
    let dense (x: Tensor) (w: Tensor) (b: Tensor) : Tensor =
        let ws = w.Shape
        let inDim, units = ws.[0], ws.[1]
        let xs = x.Shape
        if xs.Length < 1 || xs.[xs.Length - 1] <> inDim then
            raise (ShapeException(sprintf "dense: input of shape %s does not match a kernel of shape %s" (Shape.str xs) (Shape.str ws)))
        let useBias = not (isNull b)
        Tensor.Apply(denseOp inDim units useBias, (if useBias then [| f32 x; f32 w; f32 b |] else [| f32 x; f32 w |]))

    /// Inverted dropout y = x ⊙ mask with the engine's keyed mask (DropoutKernels.mask seed layer rate); shape of x.
    let dropout (rate: float) (seed: int64) (layer: int) (x: Tensor) : Tensor =
        let x = f32 x
        let mask = Array.zeroCreate<float32> (Shape.size x.Shape)
        DropoutKernels.mask seed layer rate (Span mask)
        let op =
            mk "dropout"
                (fun i -> let y = Array.zeroCreate<float32> mask.Length in DropoutKernels.apply (ro i.[0].F32) (ro mask) (Span y); NDArray.Raw(y, Array.copy i.[0].Dims))
                (fun i _ g -> let gx = Array.zeroCreate<float32> mask.Length in DropoutKernels.apply (ro (data g)) (ro mask) (Span gx); [| NDArray.Raw(gx, Array.copy i.[0].Dims) |])
        Tensor.Apply(op, [| x |])

    /// The output activation a loss fuses with when given logits: softmax for the crossentropies, sigmoid for binary.
    let fusedActivation (loss: Loss) =
        match loss with
        | Loss.SparseCategoricalCrossentropy | Loss.CategoricalCrossentropy -> Activation.Softmax
        | Loss.BinaryCrossentropy -> Activation.Sigmoid
        | Loss.MeanSquaredError -> Activation.Linear

    /// (rows, width, labels, targets) of a loss over z (..., width): int labels (one per row) for the sparse loss
    /// (the other null), else float32 targets (rows × width); refuses targets that do not fit, naming both shapes.
    let private lossTargets (loss: Loss) (yTrue: Tensor) (z: Tensor) =
        let rows, width = rowsWidth z.Value
        let labels = if loss.SparseTargets then (Elementwise.cast DType.Int32 yTrue.Value).I32 else null
        let targets = if loss.SparseTargets then null else data yTrue.Value
        let have = if loss.SparseTargets then labels.Length else targets.Length
        if have <> (if loss.SparseTargets then rows else rows * width) then
            raise (ShapeException(sprintf "%s: targets of shape %s do not fit predictions of shape %s" loss.Name (Shape.str yTrue.Shape) (Shape.str z.Shape)))
        rows, width, labels, targets

    /// Mean over samples of loss(yTrue, act(z)) — the engine's LossKernels.lossAndGrad as one op over z, fused where
    /// (loss, act) fuses; z (..., width); yTrue: integer labels (...) for the sparse loss else targets shaped like z
    /// (constants: no gradient flows to them) → scalar float32.
    let lossAfter (loss: Loss) (act: Activation) (yTrue: Tensor) (z: Tensor) : Tensor =
        let z = f32 z
        let rows, width, labels, targets = lossTargets loss yTrue z
        let mutable y : float32[] = null
        let op =
            mk ("loss_" + loss.Name)
                (fun i ->
                    let zv = i.[0].F32
                    y <- if act = Activation.Linear then zv else Array.zeroCreate<float32> zv.Length
                    if act <> Activation.Linear then ActivationKernels.forward act (ro zv) (Span y) rows width
                    let total = LossKernels.lossAndGrad loss act (ro zv) (ro y) (ReadOnlySpan<int>(labels)) (ReadOnlySpan<float32>(targets)) rows width (max rows 1) Span.Empty
                    NDArray.Raw([| float32 (total / float rows) |], [||]))
                (fun i _ g ->
                    let dz = Array.zeroCreate<float32> i.[0].Size
                    LossKernels.lossAndGrad loss act (ro i.[0].F32) (ro y) (ReadOnlySpan<int>(labels)) (ReadOnlySpan<float32>(targets)) rows width (max rows 1) (Span dz) |> ignore
                    let s = (data g).[0]
                    if s <> 1.0f then System.Numerics.Tensors.TensorPrimitives.Multiply(ro dz, s, Span dz)
                    [| NDArray.Raw(dz, Array.copy i.[0].Dims) |])
        Tensor.Apply(op, [| z |])

    /// Mean over samples of the per-sample loss (Keras "sum_over_batch_size"). With fromLogits the prediction is the
    /// pre-activation of the loss's fused activation (fusedActivation): the stable fused form. → scalar float32.
    let loss (loss: Loss) (fromLogits: bool) (yTrue: Tensor) (yPred: Tensor) : Tensor =
        lossAfter loss (if fromLogits then fusedActivation loss else Activation.Linear) yTrue yPred

    /// Loss of row r alone (a batch of one) through LossKernels.lossAndGrad; writes ∂loss/∂z_r into dr unless empty.
    let private rowLoss (loss: Loss) (act: Activation) (z: float32[]) (y: float32[]) (labels: int[]) (targets: float32[])
                        (r: int) (width: int) (dr: Span<float32>) =
        let lab = if isNull labels then ReadOnlySpan<int>.Empty else ReadOnlySpan<int>(labels, r, 1)
        let tgt = if isNull targets then ReadOnlySpan<float32>.Empty else ReadOnlySpan<float32>(targets, r * width, width)
        LossKernels.lossAndGrad loss act (ReadOnlySpan<float32>(z, r * width, width)) (ReadOnlySpan<float32>(y, r * width, width)) lab tgt 1 width 1 dr

    /// Per-sample loss(yTrue, act(z)) — each row through the engine's LossKernels.lossAndGrad alone (a batch of one),
    /// fused where (loss, act) fuses, as one op over z; z (..., width), yTrue as for lossAfter → float32 (...).
    let perSampleAfter (loss: Loss) (act: Activation) (yTrue: Tensor) (z: Tensor) : Tensor =
        let z = f32 z
        let rows, width, labels, targets = lossTargets loss yTrue z
        let mutable y : float32[] = null
        let op =
            mk loss.Name
                (fun i ->
                    let zv = i.[0].F32
                    y <- if act = Activation.Linear then zv else Array.zeroCreate<float32> zv.Length
                    if act <> Activation.Linear then ActivationKernels.forward act (ro zv) (Span y) rows width
                    let out = Array.init rows (fun r -> float32 (rowLoss loss act zv y labels targets r width Span.Empty))
                    NDArray.Raw(out, Array.sub i.[0].Dims 0 (max 0 (i.[0].Dims.Length - 1))))
                (fun i _ g ->
                    let zv, gv = i.[0].F32, data g
                    let dz = Array.zeroCreate<float32> zv.Length
                    for r in 0 .. rows - 1 do
                        rowLoss loss act zv y labels targets r width (Span<float32>(dz, r * width, width)) |> ignore
                        System.Numerics.Tensors.TensorPrimitives.Multiply(ReadOnlySpan<float32>(dz, r * width, width), gv.[r], Span<float32>(dz, r * width, width))
                    [| NDArray.Raw(dz, Array.copy i.[0].Dims) |])
        Tensor.Apply(op, [| z |])
