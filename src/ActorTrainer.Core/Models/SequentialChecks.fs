namespace ActorTrainer.Core

open System

/// Checks of the data fit / evaluate receive, before any step runs: the feature count, the sample count and the
/// labels or targets the compiled loss needs.
module internal SequentialChecks =

    /// The sample count N of tensors x (N, ...) and y (N, ...); refuses a null x or y, an x without a batch axis and a
    /// y whose first axis is not N, naming both shapes.
    let samples (what: string) (x: Tensor) (y: Tensor) =
        if isNull x || isNull y then raise (ArgumentNullException((if isNull x then "x" else "y"), sprintf "%s: x and y are required" what))
        if x.NDim < 1 then raise (ShapeException(sprintf "%s: x must have a batch axis, got shape %s" what (Shape.str x.Shape)))
        if y.NDim < 1 || y.Shape.[0] <> x.Shape.[0] then
            raise (ShapeException(sprintf "%s: x has %d samples (shape %s) but y has shape %s" what x.Shape.[0] (Shape.str x.Shape) (Shape.str y.Shape)))
        x.Shape.[0]

    /// Refuses a tensor x (N, ...) whose sample shape (x without its batch axis) is not the model's input shape, naming
    /// `what`, both shapes and the fix: Keras compares the shape, not the element count, so (N, 28, 28) is not taken
    /// for (N, 784) — add Flatten as the first layer, or reshape x.
    let sampleShape (what: string) (model: string) (inputShape: int[]) (x: Tensor) =
        let s = x.Shape
        if s.[1..] <> inputShape then
            raise (ShapeException(
                sprintf "%s: model '%s' takes samples of shape %s but x has shape %s (samples of shape %s): reshape x to %s, or make the model take such samples (Flatten as its first layer)"
                    what model (Shape.str inputShape) (Shape.str s) (Shape.str s.[1..]) (Shape.str (Array.append [| s.[0] |] inputShape))))

    /// Refuses data whose feature count is not the model's input size (`what`: "fit", "fit validation_data", ...).
    let features (what: string) (model: string) (inputDim: int) (d: ArrayData) =
        if inputDim <> d.Features then
            raise (ShapeException(sprintf "%s: model '%s' expects %d features per sample but x has %d" what model inputDim d.Features))

    /// Refuses arrays that do not hold Count × Features values, missing or short labels (sparse losses), labels
    /// outside [0, outputDim), and targets that are not (Count, outputDim).
    let data (what: string) (loss: Loss) (outputDim: int) (d: ArrayData) =
        if d.Count < 0 || d.X.Length <> d.Count * d.Features then
            raise (ArgumentException(sprintf "%s: x has %d values, expected %d samples × %d features" what d.X.Length d.Count d.Features))
        if loss.SparseTargets then
            if isNull d.Labels || d.Labels.Length <> d.Count then
                raise (ArgumentException(sprintf "%s: loss %s needs %d integer labels, got %s" what loss.Name d.Count (if isNull d.Labels then "none" else string d.Labels.Length)))
            SparseLabels.inRange what null outputDim d.Labels
        elif isNull d.Targets || d.Targets.Length <> d.Count * outputDim then
            raise (ArgumentException(sprintf "%s: loss %s needs targets of shape (%d, %d)" what loss.Name d.Count outputDim))

    /// Integer class labels from a label tensor y (N,) or (N, 1) (as Keras takes them): an int32 or bool tensor as it
    /// is; a float tensor only when every value is a whole number (NaN, ±Inf and 2.5 are refused naming the sample and
    /// value, rather than cast). y of any other shape (one-hot rows) is refused, naming its shape and the loss to use.
    let labels (what: string) (y: Tensor) : int[] =
        if y.NDim > 1 && y.Size <> y.Shape.[0] then
            raise (ShapeException(sprintf "%s: a sparse loss takes y as (N,) integer class labels, got y of shape %s; for one-hot or probability targets compile with loss \"categorical_crossentropy\"" what (Shape.str y.Shape)))
        SparseLabels.wholeNumbers what "y" y
