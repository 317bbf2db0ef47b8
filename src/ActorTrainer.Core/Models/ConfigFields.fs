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

    /// The "config" keys of an initializer class as Keras' get_config writes them (class given in any Keras spelling).
    let private initializerKeys (cls: string) =
        match Initializer.Canonical cls with
        | "constant" -> [ "value" ]
        | "random_uniform" -> [ "minval"; "maxval"; "seed" ]
        | "random_normal" -> [ "mean"; "stddev"; "seed" ]
        | "zeros" | "ones" -> []
        | _ -> [ "seed" ]

    /// Refuses an initializer "config" key the class does not take (Keras' from_config raises TypeError) and a seed
    /// other than null: initializers draw from the model's seed, so a seed of their own would be ignored.
    let private checkInitializerConfig (where: string) (cls: string) (cfg: JsonObject) =
        let keys = initializerKeys cls
        for kv in cfg do
            if not (List.contains kv.Key keys) then
                let fields = if keys.IsEmpty then "none" else String.Join(", ", keys)
                failKeyText where kv.Key (sprintf "is not a field of initializer %s (fields: %s)" cls fields)
                            (sprintf "unknown field '%s' of initializer %s (fields: %s)" kv.Key cls fields)
            elif kv.Key = "seed" && not (isNull kv.Value) then
                failKey where "seed" (sprintf "must be null, got %s (initializer seeds are not supported: weights are drawn from the model's seed)" (show kv.Value))

    /// Initializer from a name or a {"class_name", "config"} object; the class in Keras' snake_case or CamelCase
    /// spelling ("glorot_uniform", "GlorotUniform").
    let parseInitializer (where: string) (node: JsonNode) : Initializer =
        match node with
        | null -> fail where "missing initializer"
        | :? JsonObject as o ->
            let cfg = objOpt where o "config" |> Option.defaultWith (fun () -> JsonObject())
            let cls = str where o "class_name" None
            let init = guard where (fun () -> Initializer.Parse cls)
            checkInitializerConfig where cls cfg
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

    /// dtype as Keras writes it: a name ("float32") or Keras 3's policy {"class_name": "DTypePolicy", "config": {"name": ...}}.
    let private dtypeName (c: LayerConfig) (n: JsonNode) : string =
        match n with
        | :? JsonObject as o -> str (c.Where + " 'dtype'") (obj (c.Where + " 'dtype'") o "config") "name" None
        | n ->
            match asString n with
            | Some s -> s
            | None -> failKey c.Where "dtype" (sprintf "must be a dtype name or a DTypePolicy object, got %s" (show n))

    /// Refuses the fields of a layer's "config" this library does not implement, as Keras' from_config raises TypeError
    /// on an unknown keyword: "name"; "trainable" only true; "dtype" only float32 (null: float32); "batch_input_shape"
    /// (Keras 2's input shape, which ModelConfig compares with build_input_shape); `own`, the fields the layer's
    /// reader takes; `nullOnly`, Keras fields accepted only as null (regularizers, constraints).
    let checkFields (c: LayerConfig) (cls: string) (own: string list) (nullOnly: string list) : unit =
        for kv in c.Config do
            match kv.Key with
            | "name" | "batch_input_shape" -> ()
            | "trainable" ->
                if not (flag c.Where c.Config "trainable" true) then
                    failKey c.Where "trainable" "= false is not supported (every layer's weights are trained)"
            | "dtype" ->
                if not (isNull kv.Value) then
                    let d = dtypeName c kv.Value
                    if d <> "float32" then failKey c.Where "dtype" (sprintf "%s is not supported: only float32" d)
            | k when List.contains k own -> ()
            | k when List.contains k nullOnly ->
                if not (isNull kv.Value) then failKey c.Where k (sprintf "is not supported (only null), got %s" (show kv.Value))
            | k ->
                let known = String.Join(", ", [ "name"; "trainable"; "dtype" ] @ own @ nullOnly)
                failKeyText c.Where k (sprintf "is not a field of %s (fields: %s)" cls known)
                            (sprintf "unknown field '%s' (%s takes: %s)" k cls known)
