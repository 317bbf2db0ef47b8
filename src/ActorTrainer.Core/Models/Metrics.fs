namespace ActorTrainer.Core

open System

/// Keras metric names understood by compile(). The engine counts argmax hits for (sparse) categorical losses and
/// thresholded hits (p > 0.5) for binary crossentropy, as Keras' "accuracy" does for each loss.
module Metrics =

    /// Allowed metric names.
    let names = [| "accuracy"; "acc"; "sparse_categorical_accuracy"; "categorical_accuracy"; "binary_accuracy" |]

    /// Validates a metric name against the loss and returns the key used in logs/history ("acc" → "accuracy").
    let resolve (loss: Loss) (name: string) : string =
        let n = if isNull name then "" else name.Trim().ToLowerInvariant()
        let fits =
            match n, loss with
            | ("accuracy" | "acc"), _ -> true
            | "sparse_categorical_accuracy", Loss.SparseCategoricalCrossentropy -> true
            | "categorical_accuracy", (Loss.CategoricalCrossentropy | Loss.MeanSquaredError) -> true
            | "binary_accuracy", (Loss.BinaryCrossentropy | Loss.MeanSquaredError) -> true
            | _ -> false
        if not (Array.contains n names) then
            raise (ArgumentException(sprintf "unknown metric '%s' (allowed: %s)" name (String.Join(", ", names)), "metrics"))
        if not fits then
            raise (ArgumentException(sprintf "metric '%s' does not apply to loss '%s'" name loss.Name, "metrics"))
        if n = "acc" then "accuracy" else n

    /// Keras' display format for a metric value: 4 decimals, or scientific notation below 1e-3.
    let format (v: float) =
        if Double.IsNaN v then "nan"
        elif v <> 0.0 && abs v < 1e-3 then v.ToString("0.0000e+00", Globalization.CultureInfo.InvariantCulture)
        else v.ToString("0.0000", Globalization.CultureInfo.InvariantCulture)
