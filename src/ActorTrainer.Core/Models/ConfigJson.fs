namespace ActorTrainer.Core

open System
open System.Text.Json.Nodes

/// Keras get_config() entries as JSON: the one writer behind Layer.GetConfig, Optimizer.GetConfig and
/// Sequential.GetConfig (config.json), so that a layer's config object is the same JSON everywhere.
module internal ConfigJson =

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
        | :? JsonNode as n -> if isNull n.Parent then n else n.DeepClone()
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

    /// The get_config() object of `owner` ("layer 'dense' (Dense)"): the `written` entries it writes itself (name,
    /// learning_rate), then its declared entries in order. ArgumentException names the owner and the entry for a
    /// null key, a key of a fixed entry, or a value JSON cannot hold.
    let entriesObject (owner: string) (written: (string * obj) list) (entries: Collections.Generic.IReadOnlyDictionary<string, obj>) : JsonObject =
        let o = (objectOf written).AsObject()
        for kv in entries do
            if isNull kv.Key then raise (ArgumentException(sprintf "%s: a config entry has a null key" owner))
            if written |> List.exists (fun (k, _) -> k = kv.Key) then
                raise (ArgumentException(sprintf "%s: config entry '%s' is written by GetConfig itself; ConfigEntries holds the entries besides %s"
                                             owner kv.Key (String.Join(" and ", written |> List.map fst))))
            let node =
                try toNode kv.Value
                with :? ArgumentException as e -> raise (ArgumentException(sprintf "%s: config entry '%s': %s" owner kv.Key e.Message, e))
            o.[kv.Key] <- node
        o
