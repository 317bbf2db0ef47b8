namespace ActorTrainer.Core

open System
open System.Numerics.Tensors
open ActorTrainer.Kernels

/// Keras losses. Reduction is Keras' "sum_over_batch_size": the mean over samples of the per-sample loss.
[<RequireQualifiedAccess>]
type Loss =
    /// −log p[y] for integer labels y (probabilities clipped to [1e-7, 1−1e-7]; fused with log-softmax after softmax).
    | SparseCategoricalCrossentropy
    /// −Σ t·log p for one-hot/probability targets t (p renormalised and clipped as Keras; fused after softmax).
    | CategoricalCrossentropy
    /// mean over the last axis of −(t·log p + (1−t)·log(1−p)) (clipped; fused with log-sigmoid after sigmoid).
    | BinaryCrossentropy
    /// mean over the last axis of (p − t)².
    | MeanSquaredError

    /// Keras name.
    member l.Name =
        match l with
        | SparseCategoricalCrossentropy -> "sparse_categorical_crossentropy"
        | CategoricalCrossentropy -> "categorical_crossentropy"
        | BinaryCrossentropy -> "binary_crossentropy"
        | MeanSquaredError -> "mse"

    /// True when targets are integer class labels rather than float arrays.
    member l.SparseTargets = (l = SparseCategoricalCrossentropy)

    /// Allowed names, for error messages.
    static member Names = [| "sparse_categorical_crossentropy"; "categorical_crossentropy"; "binary_crossentropy"; "mse" |]

    /// Parses a Keras loss name ("mean_squared_error" is accepted for "mse").
    static member Parse(name: string) =
        match (if isNull name then "" else name.Trim().ToLowerInvariant()) with
        | "sparse_categorical_crossentropy" -> SparseCategoricalCrossentropy
        | "categorical_crossentropy" -> CategoricalCrossentropy
        | "binary_crossentropy" -> BinaryCrossentropy
        | "mse" | "mean_squared_error" -> MeanSquaredError
        | other -> raise (ArgumentException(sprintf "unknown loss '%s' (allowed: %s)" other (String.Join(", ", Loss.Names)), "loss"))

/// Raw float32 loss/metric kernels used by the training engine. All work on row-major (rows × width) buffers.
module LossKernels =

    /// Keras' backend epsilon used for probability clipping.
    [<Literal>]
    let Epsilon = 1e-7f

    let inline private clip (p: float32) = if p < Epsilon then Epsilon elif p > 1.0f - Epsilon then 1.0f - Epsilon else p

    let private argmaxRow (y: ReadOnlySpan<float32>) =
        let mutable best = 0
        for j in 1 .. y.Length - 1 do
            if y.[j] > y.[best] then best <- j
        best

    let private checkLabel (labels: ReadOnlySpan<int>) (r: int) (width: int) =
        let l = labels.[r]
        if l < 0 || l >= width then
            raise (ArgumentOutOfRangeException("labels", l, sprintf "label %d of sample %d is outside [0, %d) for an output of %d classes" l r width width))
        l

    /// Metric correct-count for a row-block: sparse/categorical accuracy counts argmax hits; binary accuracy
    /// counts the per-sample mean of (p > 0.5) = t.
    let correct (loss: Loss) (y: ReadOnlySpan<float32>) (labels: ReadOnlySpan<int>) (targets: ReadOnlySpan<float32>) (rows: int) (width: int) =
        let mutable c = 0.0
        for r in 0 .. rows - 1 do
            let yr = y.Slice(r * width, width)
            match loss with
            | Loss.SparseCategoricalCrossentropy -> if argmaxRow yr = checkLabel labels r width then c <- c + 1.0
            | Loss.BinaryCrossentropy ->
                let tr = targets.Slice(r * width, width)
                let mutable hits = 0
                for j in 0 .. width - 1 do
                    if (yr.[j] > 0.5f) = (tr.[j] > 0.5f) then hits <- hits + 1
                c <- c + float hits / float width
            | Loss.CategoricalCrossentropy | Loss.MeanSquaredError ->
                let tr = targets.Slice(r * width, width)
                if width = 1 then (if (yr.[0] > 0.5f) = (tr.[0] > 0.5f) then c <- c + 1.0)
                elif argmaxRow yr = argmaxRow tr then c <- c + 1.0
        c

    /// Fused softmax + sparse crossentropy: Σ_r (logΣe^z − z[l]); dz = (softmax(z) − onehot(l)) / batchSize.
    let private sparseSoftmax (z: ReadOnlySpan<float32>) (y: ReadOnlySpan<float32>) (labels: ReadOnlySpan<int>)
                              (rows: int) (width: int) (invB: float32) (dz: Span<float32>) =
        let mutable total = 0.0
        for r in 0 .. rows - 1 do
            let zr = z.Slice(r * width, width)
            let l = checkLabel labels r width
            total <- total + float (CanonicalMath.LogSumExp zr - zr.[l])
            if not dz.IsEmpty then
                let yr = y.Slice(r * width, width)
                let dr = dz.Slice(r * width, width)
                TensorPrimitives.Multiply(yr, invB, dr)
                dr.[l] <- (yr.[l] - 1.0f) * invB
        total

    /// Fused softmax + categorical crossentropy: Σ_r Σ_j t·(logΣe^z − z_j); dz = (softmax(z)·Σt − t) / batchSize.
    let private categoricalSoftmax (z: ReadOnlySpan<float32>) (y: ReadOnlySpan<float32>) (targets: ReadOnlySpan<float32>)
                                   (rows: int) (width: int) (invB: float32) (dz: Span<float32>) =
        let mutable total = 0.0
        for r in 0 .. rows - 1 do
            let zr = z.Slice(r * width, width)
            let tr = targets.Slice(r * width, width)
            let lse = CanonicalMath.LogSumExp zr
            let mutable lr = 0.0f
            let mutable tsum = 0.0f
            for j in 0 .. width - 1 do
                lr <- lr + tr.[j] * (lse - zr.[j])
                tsum <- tsum + tr.[j]
            total <- total + float lr
            if not dz.IsEmpty then
                let yr = y.Slice(r * width, width)
                let dr = dz.Slice(r * width, width)
                for j in 0 .. width - 1 do dr.[j] <- (yr.[j] * tsum - tr.[j]) * invB
        total

    /// Fused sigmoid + binary crossentropy: Σ_r mean_j (max(z,0) − z·t + log(1+e^−|z|)); dz = (σ(z) − t) / (batchSize·width).
    let private binarySigmoid (z: ReadOnlySpan<float32>) (y: ReadOnlySpan<float32>) (targets: ReadOnlySpan<float32>)
                              (rows: int) (width: int) (invB: float32) (dz: Span<float32>) =
        let mutable total = 0.0
        let invBW = invB / float32 width
        for r in 0 .. rows - 1 do
            let mutable lr = 0.0f
            for j in 0 .. width - 1 do
                let i = r * width + j
                let zi = z.[i]
                let t = targets.[i]
                lr <- lr + (MathF.Max(zi, 0.0f) - zi * t + CanonicalMath.Log(1.0f + CanonicalMath.Exp(-MathF.Abs zi)))
                if not dz.IsEmpty then dz.[i] <- (y.[i] - t) * invBW
            total <- total + float (lr / float32 width)
        total

    /// Keras' clipped sparse crossentropy of one row of probabilities: log Σclip(y) − log clip(y[l]); dr = ∂/∂y / batchSize.
    let private sparseRow (yr: ReadOnlySpan<float32>) (l: int) (invB: float32) (dr: Span<float32>) =
        let width = yr.Length
        let mutable s = 0.0f
        for j in 0 .. width - 1 do s <- s + clip yr.[j]
        if not dr.IsEmpty then
            for j in 0 .. width - 1 do
                let inside = yr.[j] > Epsilon && yr.[j] < 1.0f - Epsilon
                let g = (1.0f / s) - (if j = l then 1.0f / clip yr.[j] else 0.0f)
                dr.[j] <- (if inside then g * invB else 0.0f)
        float (CanonicalMath.Log s - CanonicalMath.Log(clip yr.[l]))

    /// Keras' categorical crossentropy of one row: −Σ t·log clip(y/Σy); dr = ∂/∂y / batchSize.
    let private categoricalRow (yr: ReadOnlySpan<float32>) (tr: ReadOnlySpan<float32>) (invB: float32) (dr: Span<float32>) =
        let width = yr.Length
        let s = CanonicalReduce.Sum yr
        let mutable lr = 0.0f
        for j in 0 .. width - 1 do lr <- lr - tr.[j] * CanonicalMath.Log(clip (yr.[j] / s))
        if not dr.IsEmpty then
            let mutable dot = 0.0f
            for j in 0 .. width - 1 do
                let q = yr.[j] / s
                let dq = if q > Epsilon && q < 1.0f - Epsilon then -tr.[j] / q else 0.0f
                dr.[j] <- dq
                dot <- dot + dq * q
            for j in 0 .. width - 1 do dr.[j] <- (dr.[j] - dot) / s * invB
        float lr

    /// Keras' binary crossentropy of one row: mean_j −(t·log p + (1−t)·log(1−p)), p = clip y; dr = ∂/∂y / batchSize.
    let private binaryRow (yr: ReadOnlySpan<float32>) (tr: ReadOnlySpan<float32>) (invB: float32) (dr: Span<float32>) =
        let width = yr.Length
        let mutable lr = 0.0f
        for j in 0 .. width - 1 do
            let p = clip yr.[j]
            lr <- lr - (tr.[j] * CanonicalMath.Log p + (1.0f - tr.[j]) * CanonicalMath.Log(1.0f - p))
            if not dr.IsEmpty then
                let inside = yr.[j] > Epsilon && yr.[j] < 1.0f - Epsilon
                dr.[j] <- if inside then (-tr.[j] / p + (1.0f - tr.[j]) / (1.0f - p)) * invB / float32 width else 0.0f
        float (lr / float32 width)

    /// Mean squared error of one row: mean_j (y − t)²; dr = 2(y − t) / (batchSize·width).
    let private mseRow (yr: ReadOnlySpan<float32>) (tr: ReadOnlySpan<float32>) (invB: float32) (dr: Span<float32>) =
        let width = yr.Length
        let mutable lr = 0.0f
        for j in 0 .. width - 1 do
            let d = yr.[j] - tr.[j]
            lr <- lr + d * d
            if not dr.IsEmpty then dr.[j] <- 2.0f * d * invB / float32 width
        float (lr / float32 width)

    /// Keras' probability form: clip, log; gradient w.r.t. y, then back through the activation.
    let private probabilityForm (loss: Loss) (act: Activation) (y: ReadOnlySpan<float32>) (labels: ReadOnlySpan<int>)
                                (targets: ReadOnlySpan<float32>) (rows: int) (width: int) (invB: float32) (dz: Span<float32>) =
        let mutable total = 0.0
        for r in 0 .. rows - 1 do
            let yr = y.Slice(r * width, width)
            let dr = if dz.IsEmpty then Span<float32>.Empty else dz.Slice(r * width, width)
            let tr = if loss.SparseTargets then ReadOnlySpan<float32>.Empty else targets.Slice(r * width, width)
            let lr =
                match loss with
                | Loss.SparseCategoricalCrossentropy -> sparseRow yr (checkLabel labels r width) invB dr
                | Loss.CategoricalCrossentropy -> categoricalRow yr tr invB dr
                | Loss.BinaryCrossentropy -> binaryRow yr tr invB dr
                | Loss.MeanSquaredError -> mseRow yr tr invB dr
            total <- total + lr
        if not dz.IsEmpty then ActivationKernels.backward act y dz rows width
        total

    /// Sum over the rows of the per-sample loss, and, when dz is non-empty, dz = ∂(Σ loss / batchSize)/∂z
    /// where z is the last layer's pre-activation and y = act(z) its output (all rows × width). Fused (exact, stable)
    /// forms for softmax+crossentropy and sigmoid+binary crossentropy; otherwise Keras' clipped form, back through act.
    let lossAndGrad (loss: Loss) (act: Activation) (z: ReadOnlySpan<float32>) (y: ReadOnlySpan<float32>)
                    (labels: ReadOnlySpan<int>) (targets: ReadOnlySpan<float32>)
                    (rows: int) (width: int) (batchSize: int) (dz: Span<float32>) : float =
        let invB = 1.0f / float32 batchSize
        match loss, act with
        | Loss.SparseCategoricalCrossentropy, Activation.Softmax -> sparseSoftmax z y labels rows width invB dz
        | Loss.CategoricalCrossentropy, Activation.Softmax -> categoricalSoftmax z y targets rows width invB dz
        | Loss.BinaryCrossentropy, Activation.Sigmoid -> binarySigmoid z y targets rows width invB dz
        | _ -> probabilityForm loss act y labels targets rows width invB dz
