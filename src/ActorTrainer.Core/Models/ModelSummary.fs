namespace ActorTrainer.Core

open System
open System.Collections.Generic
open System.Globalization

/// Keras' `model.summary()` table.
module ModelSummary =

    let private shapeStr (s: int[]) = "(None, " + String.Join(", ", s) + ")"

    /// The summary of a built model: one row per layer (name (class), output shape, params), then the totals.
    let text (name: string) (inputShape: int[]) (layers: IReadOnlyList<Layer>) : string =
        let sb = Text.StringBuilder()
        let line (a: string) (b: string) (c: string) = sb.AppendLine(sprintf " %-28s%-26s%-10s" a b c) |> ignore
        let fmt (n: int) = n.ToString("N0", CultureInfo.InvariantCulture)
        let mb (n: int) = float n * 4.0 / 1048576.0
        sb.AppendLine(sprintf "Model: \"%s\"" name) |> ignore
        sb.AppendLine(String('_', 65)) |> ignore
        line "Layer (type)" "Output Shape" "Param #"
        sb.AppendLine(String('=', 65)) |> ignore
        let mutable s = inputShape
        let mutable total = 0
        for i in 0 .. layers.Count - 1 do
            let l = layers.[i]
            s <- l.ComputeOutputShape s
            let p = l.CountParams()
            total <- total + p
            line (sprintf "%s (%s)" l.Name l.ClassName) (shapeStr s) (fmt p)
            if i < layers.Count - 1 then sb.AppendLine("") |> ignore
        sb.AppendLine(String('=', 65)) |> ignore
        sb.AppendLine(sprintf "Total params: %s (%.2f MB)" (fmt total) (mb total)) |> ignore
        sb.AppendLine(sprintf "Trainable params: %s (%.2f MB)" (fmt total) (mb total)) |> ignore
        sb.AppendLine("Non-trainable params: 0 (0.00 B)") |> ignore
        sb.AppendLine(String('_', 65)) |> ignore
        sb.ToString()
