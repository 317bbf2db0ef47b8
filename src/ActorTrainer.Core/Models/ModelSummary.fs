namespace ActorTrainer.Core

open System
open System.Collections.Generic
open System.Globalization

/// Keras' `model.summary()` table.
module internal ModelSummary =

    /// Keras 3's readable_memory_size: bytes in B, KB, MB, GB, TB or PB (base 1024), two decimals ("100.73 KB").
    let readableMemorySize (bytes: float) : string =
        let units = [| "B"; "KB"; "MB"; "GB"; "TB"; "PB" |]
        let mutable size = bytes
        let mutable unit = 0
        while unit < units.Length - 1 && size / 1024.0 >= 1.0 do
            size <- size / 1024.0
            unit <- unit + 1
        String.Format(CultureInfo.InvariantCulture, "{0:F2} {1}", size, units.[unit])

    let private shapeStr (s: int[]) = "(None, " + String.Join(", ", s) + ")"

    /// The summary of a built model: one row per layer (name (class), output shape, params), then the totals.
    let text (name: string) (inputShape: int[]) (layers: IReadOnlyList<Layer>) : string =
        let sb = Text.StringBuilder()
        let line (a: string) (b: string) (c: string) = sb.AppendLine(sprintf " %-28s%-26s%-10s" a b c) |> ignore
        let fmt (n: int) = n.ToString("N0", CultureInfo.InvariantCulture)
        let mem (n: int) = readableMemorySize (float n * 4.0)
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
        sb.AppendLine(sprintf "Total params: %s (%s)" (fmt total) (mem total)) |> ignore
        sb.AppendLine(sprintf "Trainable params: %s (%s)" (fmt total) (mem total)) |> ignore
        sb.AppendLine("Non-trainable params: 0 (0.00 B)") |> ignore
        sb.AppendLine(String('_', 65)) |> ignore
        sb.ToString()
