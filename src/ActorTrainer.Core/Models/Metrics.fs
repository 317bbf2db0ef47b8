namespace ActorTrainer.Core

open System

/// Keras metric names understood by compile(), and which of them each loss really computes. The engine counts one
/// hit per sample (LossKernels.correct): for sparse categorical crossentropy argmax(p) = label; for categorical
/// crossentropy and mse argmax(p) = argmax(t) (a one-unit output: (p > 0.5) = (t > 0.5)); for binary crossentropy
/// the per-sample mean of (p > 0.5) = (t > 0.5). A name is accepted only where that count is what it means in Keras.
module Metrics =

    /// Every metric name compile() knows ("acc" is Keras' alias of "accuracy").
    let names = [| "accuracy"; "acc"; "sparse_categorical_accuracy"; "categorical_accuracy"; "binary_accuracy" |]

    /// The names whose value the engine's hit count is for `loss`: "accuracy"/"acc" (Keras picks the variant that
    /// fits the loss) and the one explicit variant (sparse_categorical_, categorical_ or binary_accuracy).
    let supported (loss: Loss) : string[] =
        let variant =
            match loss with
            | Loss.SparseCategoricalCrossentropy -> "sparse_categorical_accuracy"
            | Loss.CategoricalCrossentropy | Loss.MeanSquaredError -> "categorical_accuracy"
            | Loss.BinaryCrossentropy -> "binary_accuracy"
        [| "accuracy"; "acc"; variant |]

    /// Validates a metric name against the loss and returns the key used in logs/history ("acc" → "accuracy").
    /// Unknown names and names the engine does not compute for `loss` throw ArgumentException (ParamName "metrics").
    let internal resolve (loss: Loss) (name: string) : string =
        let n = if isNull name then "" else name.Trim().ToLowerInvariant()
        if not (Array.contains n names) then
            raise (ArgumentException(sprintf "unknown metric '%s' (allowed: %s)" name (String.Join(", ", names)), "metrics"))
        let ok = supported loss
        if not (Array.contains n ok) then
            let msg = sprintf "'%s' is not computed for loss %s; supported with %s: %s (the metric does not apply to loss '%s')"
                              name loss.Name loss.Name (String.Join(", ", ok)) loss.Name
            raise (ArgumentException(msg, "metrics"))
        if n = "acc" then "accuracy" else n

    /// Keras' display format for a metric value: 4 decimals when |v| > 1e-3, else scientific notation (as Keras' Progbar).
    let format (v: float) =
        if Double.IsNaN v then "nan"
        elif not (abs v > 1e-3) then v.ToString("0.0000e+00", Globalization.CultureInfo.InvariantCulture)
        else v.ToString("0.0000", Globalization.CultureInfo.InvariantCulture)
