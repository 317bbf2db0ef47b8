namespace ActorTrainer.Core

open System
open System.Runtime.InteropServices

/// Flattens each sample: (batch, d1, d2, ...) → (batch, d1·d2·...).
type Flatten([<Optional; DefaultParameterValue("")>] name: string) =
    inherit Layer("Flatten", (if isNull name then "" else name))
    override _.BuildWeights(_, _) = ()
    override l.ComputeOutputShape shape =
        let n = shape |> Array.fold (fun (acc: int64) d -> acc * int64 d) 1L
        if n > int64 Int32.MaxValue then
            raise (ResourceLimitException(sprintf "Flatten '%s': input shape %s has %d values per sample, more than 2147483647" l.Name (Shape.str shape) n))
        [| int n |]
    override _.Call(x, _) = Tensor.Reshape(x, [| x.Shape.[0]; -1 |])
    override _.Variables = [||]
    override _.IdentityOnFlatRows = true

    /// Reads a Flatten entry: only "data_format" channels_last (or null), the order this layer flattens in.
    static member internal FromConfig(c: LayerConfig) : Layer =
        if not (isNull c.Config.["data_format"]) then
            match ModelJson.str c.Where c.Config "data_format" None with
            | "channels_last" -> ()
            | f -> ModelJson.failKey c.Where "data_format" (sprintf "%s is not supported: only channels_last" f)
        Flatten(c.Name) :> Layer

    /// Class name and config reader for config.json.
    static member internal Registration =
        { ClassName = "Flatten"
          Fields = [ "data_format" ]
          NullFields = []
          Parse = Flatten.FromConfig }
