namespace ActorTrainer.Core.FSharp

open System
open ActorTrainer.Core

/// Keras' loss functions (tf.keras.losses.*) for GradientTape code, curried for F#: per-sample losses, one per row
/// of the predictions (shape yPred without its last axis), as Keras' functions return them; average them with
/// `T.mean`. Each is the training engine's own loss (LossKernels.lossAndGrad: Keras' 1e-7 clipping, and the fused
/// stable form for logits), differentiable under the tape. C# calls ActorTrainer.Core.Losses (`Losses.MeanSquaredError(y, p)`).
[<RequireQualifiedAccess>]
module Losses =
    /// Refuses targets whose shape does not go with the predictions', naming the loss and both shapes, and sparse labels
    /// that are not whole numbers in [0, classes), naming the sample (SparseLabels, as fit and evaluate do).
    let private check (loss: Loss) (yTrue: Tensor) (yPred: Tensor) =
        if isNull (box yTrue) then raise (ArgumentNullException("yTrue"))
        if isNull (box yPred) then raise (ArgumentNullException("yPred"))
        let p, t = yPred.Shape, yTrue.Shape
        let lead = p.[.. p.Length - 2]
        let fits = if loss.SparseTargets then t = lead || t = Array.append lead [| 1 |] else t = p
        if p.Length = 0 || not fits then
            let want = if loss.SparseTargets then sprintf "%s (integer labels)" (Shape.str lead) else Shape.str p
            raise (ShapeException(sprintf "%s: y_true of shape %s does not fit y_pred of shape %s (expected y_true %s)" loss.Name (Shape.str t) (Shape.str p) want))
        if loss.SparseTargets then
            SparseLabels.wholeNumbers loss.Name "yTrue" yTrue |> SparseLabels.inRange loss.Name "yTrue" p.[p.Length - 1]

    /// Per-sample loss(yTrue, yPred) (shape of yPred without its last axis); with fromLogits, yPred is the
    /// pre-activation of the loss's fused activation (softmax for crossentropies, sigmoid for binary).
    let internal perSample (loss: Loss) (fromLogits: bool) (yTrue: Tensor) (yPred: Tensor) : Tensor =
        check loss yTrue yPred
        TapeOps.perSampleAfter loss (if fromLogits then TapeOps.fusedActivation loss else Activation.Linear) yTrue yPred

    /// −log p[y] per sample (p clipped to [1e-7, 1−1e-7]); yTrue integer labels (N,) or (N, 1), yPred probabilities (N, C) → (N,).
    let sparseCategoricalCrossentropy (yTrue: Tensor) (yPred: Tensor) = perSample Loss.SparseCategoricalCrossentropy false yTrue yPred
    /// logΣe^z − z[y] per sample (fused log-softmax); yTrue integer labels (N,) or (N, 1), logits z (N, C) → (N,).
    let sparseCategoricalCrossentropyFromLogits (yTrue: Tensor) (logits: Tensor) = perSample Loss.SparseCategoricalCrossentropy true yTrue logits
    /// −Σ t·log p per sample (p renormalised, clipped to [1e-7, 1−1e-7]); yTrue, yPred (N, C) → (N,).
    let categoricalCrossentropy (yTrue: Tensor) (yPred: Tensor) = perSample Loss.CategoricalCrossentropy false yTrue yPred
    /// Σ t·(logΣe^z − z) per sample (fused log-softmax); yTrue, logits z (N, C) → (N,).
    let categoricalCrossentropyFromLogits (yTrue: Tensor) (logits: Tensor) = perSample Loss.CategoricalCrossentropy true yTrue logits
    /// mean over the last axis of −(t·log p + (1−t)·log(1−p)) (p clipped to [1e-7, 1−1e-7]); yTrue, yPred (N, K) → (N,).
    let binaryCrossentropy (yTrue: Tensor) (yPred: Tensor) = perSample Loss.BinaryCrossentropy false yTrue yPred
    /// mean over the last axis of max(z,0) − z·t + log(1+e^−|z|) (fused log-sigmoid); yTrue, logits z (N, K) → (N,).
    let binaryCrossentropyFromLogits (yTrue: Tensor) (logits: Tensor) = perSample Loss.BinaryCrossentropy true yTrue logits
    /// mean over the last axis of (p − t)²; yTrue, yPred (N, K) → (N,).
    let meanSquaredError (yTrue: Tensor) (yPred: Tensor) = perSample Loss.MeanSquaredError false yTrue yPred

namespace ActorTrainer.Core

open System.Runtime.InteropServices

/// Keras' loss functions (tf.keras.losses.*) for GradientTape code:
/// `var loss = Losses.SparseCategoricalCrossentropy(labels, predictions); var avg = loss.Mean();` as the book's
/// `tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(labels, predictions))`. Each returns the per-sample
/// losses (shape of yPred without its last axis), is the training engine's own loss (LossKernels.lossAndGrad: Keras'
/// 1e-7 clipping, the fused stable form for fromLogits) and is differentiable under the tape. F# code calls the
/// curried ActorTrainer.Core.FSharp.Losses (`Losses.sparseCategoricalCrossentropy labels predictions`).
[<AbstractClass; Sealed>]
type Losses =
    /// −log p[y] per sample (p clipped to [1e-7, 1−1e-7]; fromLogits: logΣe^z − z[y]); yTrue integer labels (N,) or (N, 1), yPred (N, C) → (N,).
    static member SparseCategoricalCrossentropy(yTrue: Tensor, yPred: Tensor, [<Optional; DefaultParameterValue(false)>] fromLogits: bool) : Tensor =
        ActorTrainer.Core.FSharp.Losses.perSample Loss.SparseCategoricalCrossentropy fromLogits yTrue yPred

    /// −Σ t·log p per sample (p renormalised and clipped; fromLogits: Σ t·(logΣe^z − z)); yTrue, yPred (N, C) → (N,).
    static member CategoricalCrossentropy(yTrue: Tensor, yPred: Tensor, [<Optional; DefaultParameterValue(false)>] fromLogits: bool) : Tensor =
        ActorTrainer.Core.FSharp.Losses.perSample Loss.CategoricalCrossentropy fromLogits yTrue yPred

    /// mean over the last axis of −(t·log p + (1−t)·log(1−p)) (p clipped; fromLogits: the fused log-sigmoid form); yTrue, yPred (N, K) → (N,).
    static member BinaryCrossentropy(yTrue: Tensor, yPred: Tensor, [<Optional; DefaultParameterValue(false)>] fromLogits: bool) : Tensor =
        ActorTrainer.Core.FSharp.Losses.perSample Loss.BinaryCrossentropy fromLogits yTrue yPred

    /// mean over the last axis of (p − t)²; yTrue, yPred (N, K) → (N,).
    static member MeanSquaredError(yTrue: Tensor, yPred: Tensor) : Tensor =
        ActorTrainer.Core.FSharp.Losses.perSample Loss.MeanSquaredError false yTrue yPred
