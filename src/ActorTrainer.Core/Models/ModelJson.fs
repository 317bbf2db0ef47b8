namespace ActorTrainer.Core

open System
open System.Text.Json
open System.Text.Json.Nodes

/// Typed, validated reads of config.json fields. Every failure is a ModelFileException whose message names where the
/// field sits ("layers[2] (Dense)"), the key and the value found, never an exception from System.Text.Json.
module ModelJson =

    /// Raises a ModelFileException "<where>: <msg>".
    let fail (where: string) (msg: string) : 'a = raise (ModelFileException(sprintf "%s: %s" where msg))

    /// Compact JSON text of a node for messages (null → "null"), cut to 80 characters.
    let show (n: JsonNode) =
        let s = if isNull n then "null" else n.ToJsonString()
        if s.Length > 80 then s.Substring(0, 77) + "..." else s

    /// Message of an ArgumentException without its " (Parameter 'x')" suffix.
    let argMessage (e: ArgumentException) =
        let m = e.Message
        match m.IndexOf(" (Parameter '", StringComparison.Ordinal) with
        | -1 -> m
        | i -> m.Substring(0, i)

    /// Runs a constructor/parser that validates with ArgumentException and re-raises its message as a ModelFileException.
    let guard (where: string) (f: unit -> 'a) : 'a =
        try f () with :? ArgumentException as e -> fail where (argMessage e)

    /// A JSON number as float, whether parsed from text or built in memory from int/int64/float32/float.
    let asFloat (n: JsonNode) : float option =
        match n with
        | :? JsonValue as v ->
            match v.GetValueKind() with
            | JsonValueKind.Number ->
                match v.TryGetValue<float>() with
                | true, f -> Some f
                | _ ->
                    match v.TryGetValue<int>() with
                    | true, i -> Some(float i)
                    | _ ->
                        match v.TryGetValue<int64>() with
                        | true, i -> Some(float i)
                        | _ ->
                            match v.TryGetValue<float32>() with
                            | true, f -> Some(float f)
                            | _ ->
                                match v.TryGetValue<JsonElement>() with
                                | true, e -> (match e.TryGetDouble() with | true, d -> Some d | _ -> None)
                                | _ -> None
            | _ -> None
        | _ -> None

    /// A finite number; `dflt` when the key is absent (None: required).
    let num (where: string) (cfg: JsonObject) (key: string) (dflt: float option) : float =
        match cfg.[key] with
        | null ->
            match dflt with
            | Some d -> d
            | None -> fail where (sprintf "missing number '%s'" key)
        | n ->
            match asFloat n with
            | Some f when Double.IsFinite f -> f
            | _ -> fail where (sprintf "'%s' must be a finite number, got %s" key (show n))

    /// A number in [lo, hi] (hiOpen: [lo, hi)).
    let numIn (where: string) (cfg: JsonObject) (key: string) (dflt: float option) (lo: float) (hi: float) (hiOpen: bool) : float =
        let v = num where cfg key dflt
        if v < lo || v > hi || (hiOpen && v = hi) then
            fail where (sprintf "'%s' must be in [%g, %g%s, got %s" key lo hi (if hiOpen then ")" else "]") (show cfg.[key]))
        v

    /// An integral number of a node in [lo, hi]; `what` names it in the message.
    let intOf (where: string) (what: string) (n: JsonNode) (lo: int64) (hi: int64) : int64 =
        match asFloat n with
        | Some f when Double.IsFinite f && Math.Floor f = f && f >= float lo && f <= float hi -> int64 f
        | _ -> fail where (sprintf "%s must be an integer in [%d, %d], got %s" what lo hi (show n))

    /// An integer field in [lo, hi]; `dflt` when absent (None: required).
    let integer (where: string) (cfg: JsonObject) (key: string) (dflt: int option) (lo: int) (hi: int) : int =
        match cfg.[key], dflt with
        | null, Some d -> d
        | null, None -> fail where (sprintf "missing number '%s'" key)
        | n, _ -> int (intOf where (sprintf "'%s'" key) n (int64 lo) (int64 hi))

    /// A string value of a node, or None when it is not a JSON string.
    let asString (n: JsonNode) : string option =
        match n with
        | :? JsonValue as v when v.GetValueKind() = JsonValueKind.String -> Some(v.GetValue<string>())
        | _ -> None

    /// A string field; `dflt` when absent (None: required).
    let str (where: string) (cfg: JsonObject) (key: string) (dflt: string option) : string =
        match cfg.[key] with
        | null ->
            match dflt with
            | Some d -> d
            | None -> fail where (sprintf "missing string '%s'" key)
        | n ->
            match asString n with
            | Some s -> s
            | None -> fail where (sprintf "'%s' must be a string, got %s" key (show n))

    /// A boolean field; `dflt` when absent.
    let flag (where: string) (cfg: JsonObject) (key: string) (dflt: bool) : bool =
        match cfg.[key] with
        | null -> dflt
        | :? JsonValue as v when v.GetValueKind() = JsonValueKind.True -> true
        | :? JsonValue as v when v.GetValueKind() = JsonValueKind.False -> false
        | n -> fail where (sprintf "'%s' must be true or false, got %s" key (show n))

    /// An object field; None when absent, an error when present but not an object.
    let objOpt (where: string) (cfg: JsonObject) (key: string) : JsonObject option =
        match cfg.[key] with
        | null -> None
        | :? JsonObject as o -> Some o
        | n -> fail where (sprintf "'%s' must be an object, got %s" key (show n))

    /// A required object field.
    let obj (where: string) (cfg: JsonObject) (key: string) : JsonObject =
        match objOpt where cfg key with
        | Some o -> o
        | None -> fail where (sprintf "missing '%s' object" key)

    /// An array field; None when absent, an error when present but not an array.
    let arrOpt (where: string) (cfg: JsonObject) (key: string) : JsonArray option =
        match cfg.[key] with
        | null -> None
        | :? JsonArray as a -> Some a
        | n -> fail where (sprintf "'%s' must be an array, got %s" key (show n))
