namespace ActorTrainer.Core

open System

/// The one check of integer class labels for a sparse loss, shared by the model's fit/evaluate (SequentialChecks) and
/// the tape's loss functions (Losses): float labels must be whole numbers (NaN, ±Inf and 2.5 are refused, not cast),
/// and every label must lie in [0, classes).
module internal SparseLabels =

    /// The labels of y as int32 (y's values in order); ArgumentException (parameter `param`) naming `what`, the sample
    /// and the value for a float label that is not a whole number.
    let wholeNumbers (what: string) (param: string) (y: Tensor) : int[] =
        if y.DType = Float32 || y.DType = Float64 then
            let v = y.ToFloat64Array()
            match v |> Array.tryFindIndex (fun l -> Double.IsNaN l || Double.IsInfinity l || l <> Math.Floor l) with
            | Some i ->
                let shown = if y.DType = Float32 then (float32 v.[i]).ToString("R", Globalization.CultureInfo.InvariantCulture)
                            else v.[i].ToString("R", Globalization.CultureInfo.InvariantCulture)
                raise (ArgumentException(sprintf "%s: label %s at sample %d is not a class index (a sparse loss needs whole-number labels; NaN, infinite and fractional values are refused, not cast)" what shown i, param))
            | None -> ()
        y.ToInt32Array()

    /// Refuses (ArgumentException, parameter `param`) the first label outside [0, classes), naming `what`, the sample
    /// and the label.
    let inRange (what: string) (param: string) (classes: int) (labels: int[]) : unit =
        match labels |> Array.tryFindIndex (fun l -> uint l >= uint classes) with
        | Some i -> raise (ArgumentException(sprintf "%s: label %d at sample %d is outside [0, %d)" what labels.[i] i classes, param))
        | None -> ()
