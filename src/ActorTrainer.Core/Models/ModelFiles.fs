namespace ActorTrainer.Core

open System
open System.IO
open System.Collections.Generic
open System.Text.Json
open System.Text.Json.Nodes
open ActorTrainer.Interop

/// Keras-style configs as JSON, and the factories that rebuild layers/optimizers/initializers from them.
module ModelConfig =

    /// Keras-3 style {"class_name", "config"} for an initializer.
    let rec initializer (i: Initializer) : JsonNode =
        let cfg : (string * obj) list =
            match i with
            | Initializer.Constant v -> [ "value", box v ]
            | Initializer.RandomUniform(a, b) -> [ "minval", box a; "maxval", box b ]
            | Initializer.RandomNormal(m, s) -> [ "mean", box m; "stddev", box s ]
            | _ -> []
        objectOf [ "class_name", box i.Name; "config", box cfg ]

    /// JSON value of a config entry (numbers, strings, booleans, initializers, nested entry lists/nodes).
    and toNode (o: obj) : JsonNode =
        match o with
        | null -> null
        | :? Initializer as i -> initializer i
        | :? JsonNode as n -> n
        | :? string as s -> JsonValue.Create s
        | :? bool as b -> JsonValue.Create b
        | :? int as i -> JsonValue.Create i
        | :? int64 as i -> JsonValue.Create i
        | :? float as f -> JsonValue.Create f
        | :? float32 as f -> JsonValue.Create(float f)
        | :? ((string * obj) list) as kvs -> objectOf kvs
        | other -> raise (ArgumentException(sprintf "config value of type %s cannot be written as JSON" (other.GetType().Name)))

    /// JSON object from (key, value) entries.
    and objectOf (kvs: (string * obj) list) : JsonNode =
        let o = JsonObject()
        for (k, v) in kvs do o.[k] <- toNode v
        o :> JsonNode

    let private err (where: string) (msg: string) = raise (InvalidDataException(sprintf "%s: %s" where msg))

    let private num (where: string) (cfg: JsonObject) (key: string) (dflt: float option) =
        match cfg.[key] with
        | null -> (match dflt with Some d -> d | None -> err where (sprintf "missing number '%s'" key))
        | n -> try n.GetValue<float>() with _ -> err where (sprintf "'%s' must be a number, got %s" key (n.ToJsonString()))

    let private str (where: string) (cfg: JsonObject) (key: string) (dflt: string option) =
        match cfg.[key] with
        | null -> (match dflt with Some d -> d | None -> err where (sprintf "missing string '%s'" key))
        | n -> try n.GetValue<string>() with _ -> err where (sprintf "'%s' must be a string, got %s" key (n.ToJsonString()))

    let private flag (where: string) (cfg: JsonObject) (key: string) (dflt: bool) =
        match cfg.[key] with
        | null -> dflt
        | n -> try n.GetValue<bool>() with _ -> err where (sprintf "'%s' must be true or false, got %s" key (n.ToJsonString()))

    /// Initializer from a name or a {"class_name", "config"} object.
    let parseInitializer (where: string) (node: JsonNode) : Initializer =
        match node with
        | null -> err where "missing initializer"
        | :? JsonValue as v -> Initializer.Parse(v.GetValue<string>())
        | :? JsonObject as o ->
            let cfg = match o.["config"] with :? JsonObject as c -> c | _ -> JsonObject()
            match str where o "class_name" None with
            | "constant" -> Initializer.Constant(num where cfg "value" None)
            | "random_uniform" -> Initializer.RandomUniform(num where cfg "minval" (Some -0.05), num where cfg "maxval" (Some 0.05))
            | "random_normal" -> Initializer.RandomNormal(num where cfg "mean" (Some 0.0), num where cfg "stddev" (Some 0.05))
            | name -> Initializer.Parse name
        | _ -> err where "initializer must be a name or an object"

    /// A layer from its {"class_name", "config"} entry.
    let parseLayer (index: int) (node: JsonNode) : Layer =
        let o = match node with :? JsonObject as o -> o | _ -> err (sprintf "layers[%d]" index) "must be an object"
        let cls = str (sprintf "layers[%d]" index) o "class_name" None
        let where = sprintf "layers[%d] (%s)" index cls
        let cfg = match o.["config"] with :? JsonObject as c -> c | _ -> err where "missing 'config' object"
        let name = str where cfg "name" (Some "")
        match cls with
        | "Dense" ->
            let units = int (num where cfg "units" None)
            Dense(units, str where cfg "activation" (Some "linear"),
                  parseInitializer where (match cfg.["kernel_initializer"] with null -> JsonValue.Create "glorot_uniform" :> JsonNode | n -> n),
                  parseInitializer where (match cfg.["bias_initializer"] with null -> JsonValue.Create "zeros" :> JsonNode | n -> n),
                  flag where cfg "use_bias" true, name) :> Layer
        | "Flatten" -> Flatten(name) :> Layer
        | "Dropout" -> Dropout(num where cfg "rate" None, name = name) :> Layer
        | "Activation" -> ActivationLayer(str where cfg "activation" None, name) :> Layer
        | other -> err where (sprintf "unknown layer class '%s' (allowed: Dense, Flatten, Dropout, Activation)" other)

    /// {"class_name", "config"} of an optimizer (Keras get_config).
    let optimizer (o: Optimizer) : JsonNode =
        objectOf [ "class_name", box o.Name; "config", box (o.GetConfig()) ]

    /// Optimizer from its {"class_name", "config"} (or a bare name with Keras defaults).
    let parseOptimizer (node: JsonNode) : Optimizer =
        let where = "optimizer"
        match node with
        | :? JsonValue as v -> 
            match v.GetValue<string>().ToLowerInvariant() with
            | "sgd" -> SGD() :> Optimizer
            | "rmsprop" -> RMSprop() :> Optimizer
            | "adagrad" -> Adagrad() :> Optimizer
            | "adam" -> Adam() :> Optimizer
            | other -> err where (sprintf "unknown optimizer '%s' (allowed: sgd, rmsprop, adagrad, adam)" other)
        | :? JsonObject as o ->
            let c = match o.["config"] with :? JsonObject as c -> c | _ -> JsonObject()
            let lr d = num where c "learning_rate" (Some d)
            match (str where o "class_name" None).ToLowerInvariant() with
            | "sgd" -> SGD(lr 0.01, num where c "momentum" (Some 0.0), flag where c "nesterov" false) :> Optimizer
            | "rmsprop" -> RMSprop(lr 0.001, num where c "rho" (Some 0.9), num where c "momentum" (Some 0.0), num where c "epsilon" (Some 1e-7), flag where c "centered" false) :> Optimizer
            | "adagrad" -> Adagrad(lr 0.001, num where c "initial_accumulator_value" (Some 0.1), num where c "epsilon" (Some 1e-7)) :> Optimizer
            | "adam" -> Adam(lr 0.001, num where c "beta_1" (Some 0.9), num where c "beta_2" (Some 0.999), num where c "epsilon" (Some 1e-7), flag where c "amsgrad" false) :> Optimizer
            | other -> err where (sprintf "unknown optimizer class '%s' (allowed: SGD, RMSprop, Adagrad, Adam)" other)
        | _ -> err where "must be a name or an object"

/// A model directory: config.json (architecture + compile config), model.safetensors (weights, named
/// "<layer>/kernel", "<layer>/bias"), optimizer.safetensors (slots "slot/<weight>/<k>", iterations in metadata).
/// Written atomically: files go to a temporary sibling directory which then replaces the target.
module ModelFiles =

    /// File names inside a model directory.
    let [<Literal>] ConfigFile = "config.json"
    let [<Literal>] WeightsFile = "model.safetensors"
    let [<Literal>] OptimizerFile = "optimizer.safetensors"

    /// Writes the directory atomically.
    let write (dir: string) (config: JsonNode) (weights: IReadOnlyList<NamedTensor>) (optimizer: Optimizer option) =
        let full = Path.GetFullPath dir
        let parent = Path.GetDirectoryName full
        Directory.CreateDirectory parent |> ignore
        let tmp = Path.Combine(parent, sprintf ".%s.%s.tmp" (Path.GetFileName full) (Guid.NewGuid().ToString("N")))
        Directory.CreateDirectory tmp |> ignore
        try
            File.WriteAllText(Path.Combine(tmp, ConfigFile), config.ToJsonString(JsonSerializerOptions(WriteIndented = true)))
            Safetensors.Write(Path.Combine(tmp, WeightsFile), weights, readOnlyDict [ "format", "actortrainer" ])
            optimizer |> Option.iter (fun o ->
                let iters, slots = o.GetState()
                let tensors =
                    [| for i in 0 .. slots.Length - 1 do
                         for k in 0 .. slots.[i].Length - 1 do
                             yield NamedTensor(sprintf "slot/%d/%d" i k, [| slots.[i].[k].Length |], slots.[i].[k]) |]
                Safetensors.Write(Path.Combine(tmp, OptimizerFile), tensors,
                                  readOnlyDict [ "optimizer", o.Name; "iterations", string iters; "weights", string slots.Length ]))
            let old = full + ".old-" + Guid.NewGuid().ToString("N")
            if Directory.Exists full then Directory.Move(full, old)
            Directory.Move(tmp, full)
            if Directory.Exists old then Directory.Delete(old, true)
        with _ ->
            (try Directory.Delete(tmp, true) with _ -> ())
            reraise ()

    /// Reads config.json, the weights and (when present) the optimizer state (iterations, slots per weight).
    let read (dir: string) : JsonObject * IReadOnlyList<NamedTensor> * (int64 * float32[][][]) option =
        if not (Directory.Exists dir) then
            raise (DirectoryNotFoundException(sprintf "model directory '%s' does not exist" dir))
        let cfgPath = Path.Combine(dir, ConfigFile)
        if not (File.Exists cfgPath) then raise (FileNotFoundException(sprintf "model directory '%s' has no %s" dir ConfigFile, cfgPath))
        let cfg =
            try
                match JsonNode.Parse(File.ReadAllText cfgPath) with
                | :? JsonObject as o -> o
                | _ -> raise (InvalidDataException(sprintf "%s: the top level must be a JSON object" cfgPath))
            with :? JsonException as e -> raise (InvalidDataException(sprintf "%s: invalid JSON: %s" cfgPath e.Message))
        let wPath = Path.Combine(dir, WeightsFile)
        if not (File.Exists wPath) then raise (FileNotFoundException(sprintf "model directory '%s' has no %s" dir WeightsFile, wPath))
        let struct (weights, _) = Safetensors.Read wPath
        let oPath = Path.Combine(dir, OptimizerFile)
        let opt =
            if not (File.Exists oPath) then None
            else
                let struct (tensors, meta) = Safetensors.Read oPath
                let n = match meta.TryGetValue "weights" with | true, v -> int v | _ -> raise (InvalidDataException(sprintf "%s: metadata lacks 'weights'" oPath))
                let iters = match meta.TryGetValue "iterations" with | true, v -> int64 v | _ -> raise (InvalidDataException(sprintf "%s: metadata lacks 'iterations'" oPath))
                let byName = tensors |> Seq.map (fun t -> t.Name, t.Data) |> dict
                let slots =
                    Array.init n (fun i ->
                        Seq.initInfinite id
                        |> Seq.takeWhile (fun k -> byName.ContainsKey(sprintf "slot/%d/%d" i k))
                        |> Seq.map (fun k -> byName.[sprintf "slot/%d/%d" i k])
                        |> Array.ofSeq)
                Some(iters, slots)
        cfg, weights, opt
