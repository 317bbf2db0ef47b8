namespace ActorTrainer.Core

open System
open System.Text.Json.Nodes
open ActorTrainer.Core.ModelJson

/// The parts of a config.json, validated: what Sequential.Load needs to rebuild the model before reading any weights.
type internal ModelSpec =
    { /// Model name ("sequential" when absent).
      Name: string
      /// Seed for initialisation, shuffling and dropout (1 when absent).
      Seed: int
      /// Input shape without the batch axis (from build_input_shape, whose first entry is the batch axis).
      InputShape: int[]
      /// The layers, constructed but not built.
      Layers: Layer[]
      /// Optimizer, loss name and metric names from compile_config, when the model was saved compiled.
      Compile: (Optimizer * string * string[]) option }

/// Exception.Data keys of the refusal of an unknown layer class (ModelConfig.unknownLayerClass reads them).
module internal UnknownLayerKeys =
    [<Literal>]
    let Where = "model.unknown_layer.where"
    [<Literal>]
    let Class = "model.unknown_layer.class"
    [<Literal>]
    let Name = "model.unknown_layer.name"

/// The factories that rebuild layers/optimizers/initializers from Keras-style config JSON (ConfigJson writes it).
/// Parsing validates every field's type and range and throws ModelFileException naming the field and the value.
module internal ModelConfig =

    /// Layer class names parseLayer accepts (Keras spelling), the one list front ends show in their errors: the class
    /// names of LayerRegistry.all.
    let layerClasses = LayerRegistry.all |> Array.map (fun r -> r.ClassName)

    /// Optimizer class names parseOptimizer accepts (Keras spelling, matched case-insensitively).
    let optimizerClasses = [| "SGD"; "RMSprop"; "Adagrad"; "Adam" |]

    // The other name lists live next to their own parsers: Activation.Names, Initializer.Names, Loss.Names, Metrics.names.

    /// Initializer from a name or a {"class_name", "config"} object (ConfigFields.parseInitializer).
    let parseInitializer (where: string) (node: JsonNode) : Initializer = ConfigFields.parseInitializer where node

    /// The layer a caller's factory (Keras custom_objects) builds from its config object (a copy of the entry's
    /// "config", name included); a layer it leaves unnamed takes the config's name. A factory's failure is a
    /// ModelFileException naming the entry and the class.
    let private customLayer (where: string) (cls: string) (factory: Func<JsonObject, Layer>) (cfg: JsonObject) : Layer =
        let layer =
            try factory.Invoke(cfg.DeepClone().AsObject())
            with
            | :? ModelFileException -> reraise ()
            | e -> raise (ModelFileException(sprintf "%s: the factory registered for '%s' failed: %s" where cls e.Message, e))
        if isNull (box layer) then fail where (sprintf "the factory registered for '%s' returned null instead of a layer" cls)
        let name = str where cfg "name" (Some "")
        if layer.Name = "" then layer.Name <- name
        layer

    /// A layer class that a model file's loader found neither built in nor registered, from the error it raised
    /// (searched along InnerException): the layer's place ("layers[1] (Shift)"), its class name and its name. Lets a
    /// front end that cannot register classes (the CLI) say so in its own words.
    let rec unknownLayerClass (e: exn) : (string * string * string) option =
        match e with
        | null -> None
        | e when e.Data.Contains UnknownLayerKeys.Class ->
            Some(string e.Data.[UnknownLayerKeys.Where], string e.Data.[UnknownLayerKeys.Class], string e.Data.[UnknownLayerKeys.Name])
        | e -> unknownLayerClass e.InnerException

    /// The refusal of a class that is neither built in nor registered, for a model file: names the class, the layer
    /// and how to register it (Keras: "Unknown layer: 'X'. Please ensure you are using a custom_object_scope...").
    let private unknownCustom (where: string) (cls: string) (cfg: JsonNode) : 'a =
        let name = match cfg with :? JsonObject as c -> defaultArg (asString c.["name"]) "" | _ -> ""
        let allowed = String.Join(", ", layerClasses)
        try
          failKeyText where "class_name" (sprintf "must be one of %s or a registered custom class, got '%s'" allowed cls)
                    (sprintf "unknown layer class '%s' (layer '%s'; built-in classes: %s). A custom layer class must be registered \
                              when loading: pass custom objects, a class name -> factory from the layer's config, e.g. \
                              Sequential.Load(dir, new Dictionary<string, Func<JsonObject, Layer>> { [\"%s\"] = config => ... }) \
                              or ModelFiles.Load(dir, typeof(%s)) for a class with a static FromConfig(JsonObject)"
                         cls name allowed cls cls)
        with :? ModelFileException as e ->
            e.Data.[UnknownLayerKeys.Where] <- where
            e.Data.[UnknownLayerKeys.Class] <- cls
            e.Data.[UnknownLayerKeys.Name] <- name
            reraise ()

    /// A layer of a built-in class (LayerRegistry.all, whose Parse reads the config; see each layer's FromConfig).
    /// `hint`: an unknown class is refused with the custom-object registration hint (a model file's loader).
    let private builtinLayer (index: int) (cls: string) (o: JsonObject) (hint: bool) : Layer =
        let where = sprintf "layers[%d] (%s)" index cls
        match LayerRegistry.all |> Array.tryFind (fun r -> r.ClassName = cls) with
        | None when hint -> unknownCustom where cls o.["config"]
        | None ->
            failKeyText where "class_name" (sprintf "must be one of %s, got '%s'" (String.Join(", ", layerClasses)) cls)
                        (sprintf "unknown layer class '%s' (allowed: %s)" cls (String.Join(", ", layerClasses)))
        | Some registration ->
            let cfg = obj where o "config"
            let c = { Where = where; Config = cfg; Name = str where cfg "name" (Some "") }
            ConfigFields.checkFields c cls registration.Fields registration.NullFields
            registration.Parse c

    /// A layer from its {"class_name", "config"} entry: the class is looked up in `custom` (class name -> factory from
    /// the entry's config, Keras custom_objects; null when the caller can register none), then among the built-in classes.
    let parseLayerWith (custom: Collections.Generic.IReadOnlyDictionary<string, Func<JsonObject, Layer>>) (index: int) (node: JsonNode) : Layer =
        let o = match node with :? JsonObject as o -> o | n -> fail (sprintf "layers[%d]" index) (sprintf "must be an object, got %s" (show n))
        let cls = str (sprintf "layers[%d]" index) o "class_name" None
        let factory =
            if isNull custom then null
            else match custom.TryGetValue cls with | true, f -> f | _ -> null
        if isNull factory then builtinLayer index cls o (not (isNull custom))
        else
            let where = sprintf "layers[%d] (%s)" index cls
            customLayer where cls factory (obj where o "config")

    /// A layer from its {"class_name", "config"} entry, built-in classes only (parseLayerWith null).
    let parseLayer (index: int) (node: JsonNode) : Layer = parseLayerWith null index node

    /// Refuses two layers with one name (Keras: "All layers added to a Sequential model should have unique names"),
    /// naming the name and both entries.
    let private checkUniqueNames (layers: Layer[]) =
        let first = Collections.Generic.Dictionary<string, int>()
        layers |> Array.iteri (fun i l ->
            if l.Name <> "" then
                match first.TryGetValue l.Name with
                | true, j ->
                    failKey (sprintf "layers[%d] (%s)" i l.ClassName) "name"
                            (sprintf "'%s' is also the name of layers[%d]; layer names must be unique" l.Name j)
                | _ -> first.[l.Name] <- i)

    /// Keras 2 writes the input shape into the first layer as "batch_input_shape": it must equal build_input_shape.
    let private checkBatchInputShape (layers: JsonArray) (shape: int[]) =
        layers |> Seq.iteri (fun i n ->
            match n.["config"] with
            | :? JsonObject as c when c.ContainsKey "batch_input_shape" ->
                let where = sprintf "layers[%d] (%s)" i (defaultArg (asString n.["class_name"]) "?")
                let expected = JsonArray([| yield null; for d in shape -> JsonValue.Create d :> JsonNode |])
                if i > 0 then failKey where "batch_input_shape" "is only read on the first layer"
                if not (JsonNode.DeepEquals(c.["batch_input_shape"], expected)) then
                    failKey where "batch_input_shape" (sprintf "%s disagrees with build_input_shape %s" (show c.["batch_input_shape"]) (show expected))
            | _ -> ())

    /// {"class_name", "config"} of an optimizer (Keras get_config).
    let optimizer (o: Optimizer) : JsonNode =
        ConfigJson.objectOf [ "class_name", box o.Name; "config", box (o.GetConfig()) ]

    /// Keras' model config: {"class_name": "Sequential", "config": {name, seed, build_input_shape [null, …], layers}} and,
    /// when compiled (`compileConfig` = Some (optimizer, loss, metrics)), "compile_config".
    let sequential (name: string) (seed: int) (inputShape: int[]) (layers: seq<Layer>)
                   (compileConfig: (Optimizer * string * seq<string>) option) : JsonNode =
        let layersJson = JsonArray()
        for l in layers do
            layersJson.Add(ConfigJson.objectOf [ "class_name", box l.ClassName; "config", box (l.GetConfig()) ])
        let shape = JsonArray()
        shape.Add(null :> JsonNode)
        if not (isNull inputShape) then for d in inputShape do shape.Add(JsonValue.Create d)
        let root = JsonObject()
        root.["class_name"] <- JsonValue.Create "Sequential"
        root.["config"] <- ConfigJson.objectOf [ "name", box name; "seed", box seed; "build_input_shape", box shape; "layers", box layersJson ]
        match compileConfig with
        | Some (opt, loss, metricKeys) ->
            let metrics = JsonArray()
            for k in metricKeys do metrics.Add(JsonValue.Create k)
            root.["compile_config"] <- ConfigJson.objectOf [ "optimizer", box (optimizer opt); "loss", box loss; "metrics", box metrics ]
        | None -> ()
        root :> JsonNode

    let private unknownOptimizer (where: string) (name: string) : 'a =
        let allowed = String.Join(", ", optimizerClasses)
        failKeyText where "class_name" (sprintf "must be one of %s, got '%s'" allowed name)
                    (sprintf "unknown optimizer class '%s' (allowed: %s)" name allowed)

    /// The config fields optimizer class `cls` (any case) takes besides "name" and "learning_rate", Keras' names
    /// (empty for an unknown class). The daemon passes an optimizer section only these.
    let optimizerKeys (cls: string) : string list =
        match (if isNull cls then "" else cls.ToLowerInvariant()) with
        | "sgd" -> [ "momentum"; "nesterov" ]
        | "rmsprop" -> [ "rho"; "momentum"; "epsilon"; "centered" ]
        | "adagrad" -> [ "initial_accumulator_value"; "epsilon" ]
        | "adam" -> [ "beta_1"; "beta_2"; "epsilon"; "amsgrad" ]
        | _ -> []

    /// Refuses what an optimizer config asks for and the update rules do not do, as Keras' from_config raises
    /// TypeError on an unknown keyword: a field of no optimizer or of another class, and the base optimizer's options
    /// set to anything but their no-op value (weight_decay null or 0, clipnorm/clipvalue/global_clipnorm/
    /// loss_scale_factor/gradient_accumulation_steps null, use_ema false, Keras 2's decay 0). ema_momentum,
    /// ema_overwrite_frequency, jit_compile and is_legacy_optimizer change nothing here and are accepted.
    let private checkOptimizerFields (where: string) (cls: string) (c: JsonObject) =
        let own = optimizerKeys cls
        let isZero (n: JsonNode) = isNull n || asFloat n = Some 0.0
        for kv in c do
            let v = kv.Value
            match kv.Key with
            | "name" | "learning_rate" | "ema_momentum" | "ema_overwrite_frequency" | "jit_compile" | "is_legacy_optimizer" -> ()
            | k when List.contains k own -> ()
            | "weight_decay" | "decay" as k when not (isZero v) ->
                failKey where k (sprintf "is not supported (only null or 0), got %s" (show v))
            | "weight_decay" | "decay" -> ()
            | "clipnorm" | "clipvalue" | "global_clipnorm" | "loss_scale_factor" | "gradient_accumulation_steps" as k ->
                if not (isNull v) then failKey where k (sprintf "is not supported (only null), got %s" (show v))
            | "use_ema" -> if flag where c "use_ema" false then failKey where "use_ema" "= true is not supported (only false)"
            | k ->
                let known = String.Join(", ", "name" :: "learning_rate" :: own)
                failKeyText where k (sprintf "is not a field of %s (fields: %s)" cls known)
                            (sprintf "unknown field '%s' (%s takes: %s)" k cls known)

    /// The optimizer `cls` (any case) with its config `c`: every field range-checked here (learning_rate > 0, momentum
    /// and rho in [0, 1], epsilon > 0, beta_1/beta_2 in [0, 1), initial_accumulator_value >= 0), Keras defaults when absent.
    let private optimizerOf (where: string) (cls: string) (c: JsonObject) : Optimizer =
        let frac key d = numIn where c key (Some d) 0.0 1.0 false
        let beta key d = numIn where c key (Some d) 0.0 1.0 true
        let lr d = numAbove where c "learning_rate" (Some d) 0.0
        let eps () = numAbove where c "epsilon" (Some 1e-7) 0.0
        if not (List.isEmpty (optimizerKeys cls)) then checkOptimizerFields where cls c
        guard where (fun () ->
            match cls.ToLowerInvariant() with
            | "sgd" -> SGD(lr 0.01, frac "momentum" 0.0, flag where c "nesterov" false) :> Optimizer
            | "rmsprop" -> RMSprop(lr 0.001, frac "rho" 0.9, frac "momentum" 0.0, eps (), flag where c "centered" false) :> Optimizer
            | "adagrad" ->
                Adagrad(lr 0.001, numIn where c "initial_accumulator_value" (Some 0.1) 0.0 Double.MaxValue false, eps ()) :> Optimizer
            | "adam" -> Adam(lr 0.001, beta "beta_1" 0.9, beta "beta_2" 0.999, eps (), flag where c "amsgrad" false) :> Optimizer
            | _ -> unknownOptimizer where cls)

    /// Optimizer from its {"class_name", "config"} (or a bare name with Keras defaults).
    let parseOptimizer (node: JsonNode) : Optimizer =
        let where = "optimizer"
        match node with
        | :? JsonObject as o ->
            let c = objOpt where o "config" |> Option.defaultWith (fun () -> JsonObject())
            optimizerOf where (str where o "class_name" None) c
        | null -> fail where "missing (a name or a {\"class_name\", \"config\"} object)"
        | n ->
            match asString n with
            | Some name -> optimizerOf where name (JsonObject())
            | None -> fail where (sprintf "must be a name or an object, got %s" (show n))

    /// The optimizer called `name` (a class of optimizerClasses, any case: Keras' compile(optimizer="rmsprop")) with
    /// Keras defaults, built as a config's bare optimizer name is; an unknown name is refused naming it and the known ones.
    let optimizerNamed (name: string) : Optimizer =
        if isNull name then raise (ArgumentNullException("optimizer", "compile: optimizer is null (give a name such as \"rmsprop\" or an Optimizer)"))
        if not (optimizerClasses |> Array.exists (fun c -> String.Equals(c, name, StringComparison.OrdinalIgnoreCase))) then
            let known = String.Join(", ", optimizerClasses |> Array.map (fun c -> c.ToLowerInvariant()))
            raise (ArgumentException(sprintf "compile: unknown optimizer '%s' (known: %s; any case)" name known, "optimizer"))
        parseOptimizer (JsonValue.Create name)

    /// build_input_shape: [null, d1, d2, ...] with each d a positive 32-bit integer.
    let private inputShape (where: string) (c: JsonObject) : int[] =
        match c.["build_input_shape"] with
        | :? JsonArray as a when a.Count >= 2 ->
            if not (isNull a.[0]) then failKey where "build_input_shape" (sprintf "must start with null (the batch axis), got %s" (show a))
            a |> Seq.skip 1 |> Seq.mapi (fun i n -> int (intOf where (sprintf "build_input_shape[%d]" (i + 1)) n 1L (int64 Int32.MaxValue))) |> Array.ofSeq
        | null -> failKeyText where "build_input_shape" "is missing" "missing 'build_input_shape' (e.g. [null, 784])"
        | n -> failKey where "build_input_shape" (sprintf "must be an array like [null, 784], got %s" (show n))

    /// Refuses a field of `o` outside `known` (as Keras' from_config raises TypeError on an unknown keyword): a misspelt
    /// "compile_config" would otherwise load an uncompiled model without a word. `trainable`, where known, only true.
    let private checkKnownFields (where: string) (o: JsonObject) (known: string list) =
        for kv in o do
            if not (List.contains kv.Key known) then
                let names = String.Join(", ", known)
                failKeyText where kv.Key (sprintf "is not a field here (fields: %s)" names) (sprintf "unknown field '%s' (fields: %s)" kv.Key names)
        if List.contains "trainable" known && not (flag where o "trainable" true) then
            failKey where "trainable" "= false is not supported (every layer's weights are trained)"

    let private compileConfig (cc: JsonObject) : Optimizer * string * string[] =
        let where = "compile_config"
        // Keras 3's compile_config; the execution options change no number, weighting would
        checkKnownFields where cc [ "optimizer"; "loss"; "metrics"; "loss_weights"; "weighted_metrics"; "run_eagerly"
                                    "steps_per_execution"; "jit_compile"; "auto_scale_loss" ]
        for k in [ "loss_weights"; "weighted_metrics" ] do
            if not (isNull cc.[k]) then failKey where k (sprintf "is not supported (only null), got %s" (show cc.[k]))
        let loss = str where cc "loss" None
        let parsed = guardKey where "loss" (fun () -> Loss.Parse loss)
        let metrics =
            match arrOpt where cc "metrics" with
            | None -> [||]
            | Some a ->
                a |> Seq.mapi (fun i n ->
                    match asString n with
                    | Some m -> guardKey where "metrics" (fun () -> Metrics.resolve parsed m |> ignore); m
                    | None -> failKey where (sprintf "metrics[%d]" i) (sprintf "must be a metric name, got %s" (show n)))
                |> Array.ofSeq
        parseOptimizer cc.["optimizer"], loss, metrics

    /// Validates a whole config.json (`path` names it in errors) and constructs its layers and optimizer; layer classes
    /// are looked up in `custom` first (class name -> factory, Keras custom_objects; null: built-in classes only, and an
    /// unknown class is refused without the registration hint).
    let parseModelWith (path: string) (custom: Collections.Generic.IReadOnlyDictionary<string, Func<JsonObject, Layer>>) (cfg: JsonObject) : ModelSpec =
        try
            let top = "model"
            match cfg.["class_name"] |> asString with
            | Some "Sequential" -> ()
            | _ -> fail top (sprintf "class_name must be \"Sequential\", got %s" (show cfg.["class_name"]))
            // Keras 3 writes module/registered_name/build_config, Keras 2's to_json keras_version/backend
            checkKnownFields top cfg [ "class_name"; "config"; "compile_config"; "module"; "registered_name"; "build_config"; "keras_version"; "backend" ]
            let c = obj top cfg "config"
            checkKnownFields (top + " config") c [ "name"; "seed"; "build_input_shape"; "layers"; "trainable"; "dtype" ]
            let layers =
                match arrOpt top c "layers" with
                | Some a -> a
                | None -> failKeyText top "layers" "is missing (an array of layers is required)" "missing 'layers' array"
            if layers.Count = 0 then failKey top "layers" "is empty; a model needs at least one layer"
            let spec =
                { Name = str top c "name" (Some "sequential")
                  Seed = integer top c "seed" (Some 1) Int32.MinValue Int32.MaxValue
                  InputShape = inputShape top c
                  Layers = layers |> Seq.mapi (parseLayerWith custom) |> Array.ofSeq
                  Compile = objOpt top cfg "compile_config" |> Option.map compileConfig }
            checkUniqueNames spec.Layers
            checkBatchInputShape layers spec.InputShape
            spec
        with :? ModelFileException as e -> raise (ModelFileException(sprintf "%s: %s" path e.Message, e))

    /// Validates a whole config.json of built-in layer classes (parseModelWith path null cfg).
    let parseModel (path: string) (cfg: JsonObject) : ModelSpec = parseModelWith path null cfg

/// Keras' keras.optimizers.serialize / deserialize for the built-in optimizer classes: {"class_name", "config"}.
[<AbstractClass; Sealed>]
type OptimizerConfig =
    /// {"class_name": o.Name, "config": o.GetConfig()}.
    static member Serialize(o: Optimizer) : JsonObject =
        JsonObject(dict [ "class_name", JsonValue.Create(o.Name) :> JsonNode; "config", o.GetConfig() :> JsonNode ])

    /// A new optimizer (Iterations 0, no slots) from Serialize's JSON or a bare class name; ModelFileException names
    /// what is wrong (an unknown class, a hyper-parameter out of range or unknown).
    static member Deserialize(node: JsonNode) : Optimizer = ModelConfig.parseOptimizer node
