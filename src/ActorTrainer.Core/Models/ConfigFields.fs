namespace ActorTrainer.Core

open System
open System.Text.Json.Nodes
open ActorTrainer.Core.ModelJson

/// One layer entry of a config.json as a layer's config reader receives it (ModelConfig.parseLayer has already checked
/// its class name and read its name).
type internal LayerConfig =
    { /// Where the entry sits, for messages: "layers[2] (Dense)".
      Where: string
      /// The entry's "config" object.
      Config: JsonObject
      /// The layer name ("" when absent: Sequential names it).
      Name: string }

/// Readers for the config.json fields layers share (initializers, activations), on top of ModelJson's typed reads.
/// Every failure is a ModelFileException naming the field, as ModelJson's.
module internal ConfigFields =

    /// Initializer from a name or a {"class_name", "config"} object; the class in Keras' snake_case or CamelCase
    /// spelling ("glorot_uniform", "GlorotUniform").
    let parseInitializer (where: string) (node: JsonNode) : Initializer =
        match node with
        | null -> fail where "missing initializer"
        | :? JsonObject as o ->
            let cfg = objOpt where o "config" |> Option.defaultWith (fun () -> JsonObject())
            let cls = str where o "class_name" None
            let init = guard where (fun () -> Initializer.Parse cls)
            match init with
            | Initializer.Constant _ -> Initializer.Constant(num where cfg "value" (Some 0.0))
            | Initializer.RandomUniform _ ->
                let lo, hi = num where cfg "minval" (Some -0.05), num where cfg "maxval" (Some 0.05)
                if lo > hi then
                    failKeyText where "minval" (sprintf "must not be greater than the maximum %g, got %g" hi lo)
                                (sprintf "random_uniform 'minval' %g is greater than 'maxval' %g" lo hi)
                Initializer.RandomUniform(lo, hi)
            | Initializer.RandomNormal _ ->
                Initializer.RandomNormal(num where cfg "mean" (Some 0.0), numIn where cfg "stddev" (Some 0.05) 0.0 Double.MaxValue false)
            | other -> other
        | n ->
            match asString n with
            | Some name -> guard where (fun () -> Initializer.Parse name)
            | None -> fail where (sprintf "initializer must be a name or an object, got %s" (show n))

    /// The initializer field `key` of a layer config (`dflt` name when absent); errors name "<where> '<key>'".
    let initializer (c: LayerConfig) (key: string) (dflt: string) : Initializer =
        parseInitializer (sprintf "%s '%s'" c.Where key) (match c.Config.[key] with null -> JsonValue.Create dflt :> JsonNode | n -> n)

    /// The "activation" field of a layer config, checked against Activation.Names (`dflt` when absent; None: required).
    let activation (c: LayerConfig) (dflt: string option) : string =
        let name = str c.Where c.Config "activation" dflt
        guardKey c.Where "activation" (fun () -> Activation.Parse name |> ignore)
        name
