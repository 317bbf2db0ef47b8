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
