namespace ActorTrainer.Core

open System
open System.Globalization

/// NumPy-like text of a tensor's array (Tensor.ToString).
module internal TensorFormat =
    /// One element as text (float32 G7, float64 G10, int, True/False).
    let private element (value: NDArray) (i: int) =
        match value.Storage with
        | :? (float32[]) as a -> a.[i].ToString("G7", CultureInfo.InvariantCulture)
        | :? (float[]) as a -> a.[i].ToString("G10", CultureInfo.InvariantCulture)
        | :? (int[]) as a -> a.[i].ToString(CultureInfo.InvariantCulture)
        | :? (bool[]) as a -> (if a.[i] then "True" else "False")
        | _ -> "?"

    /// Nested brackets (axes longer than 6 summarised with ... when the array has over 1000 elements), shape and dtype.
    let format (value: NDArray) =
        let d = value.Dims
        let st = Shape.strides d
        let sb = Text.StringBuilder()
        let summarise = value.Size > 1000
        let rec go (ax: int) (off: int) =
            if ax = d.Length then sb.Append(element value off) |> ignore
            else
                sb.Append('[') |> ignore
                let n = d.[ax]
                let idx = if summarise && n > 6 then [| 0; 1; 2; -1; n - 3; n - 2; n - 1 |] else Array.init n id
                idx |> Array.iteri (fun j i ->
                    if j > 0 then sb.Append(if ax = d.Length - 1 then ", " else ",\n" + String.replicate (ax + 1) " ") |> ignore
                    if i < 0 then sb.Append("...") |> ignore else go (ax + 1) (off + i * st.[ax]))
                sb.Append(']') |> ignore
        go 0 0
        sprintf "Tensor(%s, shape=%s, dtype=%s)" (sb.ToString()) (Shape.str d) (DType.name value.DType)
