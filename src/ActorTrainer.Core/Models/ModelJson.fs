namespace ActorTrainer.Core

open System
open System.Text.Json
open System.Text.Json.Nodes

/// Where a config.json field error sits, kept apart so that a front end can name the field in its own terms (the
/// daemon maps it back to a HOCON key). Section: "model", "layers[2] (Dense)", "layers[0] (Dense) 'kernel_initializer'",
/// "optimizer" or "compile_config"; Key: the JSON key ("" when the section itself is at fault; "build_input_shape[1]"
/// for an element of an array); Problem: the rest of the sentence ("must be > 0, got -1").
type internal FieldError =
    { /// Where the field sits ("layers[2] (Dense)", "optimizer", ...).
      Section: string
      /// The JSON key at fault ("" = the section itself).
      Key: string
      /// What is wrong, as a predicate ("must be > 0, got -1") or a sentence ("unknown activation 'swish' (...)").
      Problem: string }

/// Typed, validated reads of config.json fields. Every failure is a ModelFileException (with its FieldError) whose
/// message names where the field sits ("layers[2] (Dense)"), the key and the value found, never an exception from
/// System.Text.Json.
module internal ModelJson =

    /// A key quoted for messages: 'units', or 'build_input_shape'[1] for an element.
    let quote (key: string) =
        match key.IndexOf '[' with
        | -1 -> sprintf "'%s'" key
        | i -> sprintf "'%s'%s" (key.Substring(0, i)) (key.Substring i)

    /// Raises a ModelFileException "<where>: <text>" for the field `key` ("" = the section), its FieldError in Data
    /// ("section", "key", "problem"); `problem` is what a front end shows after its own name of the key.
    let failKeyText (where: string) (key: string) (problem: string) (text: string) : 'a =
        let e = ModelFileException(sprintf "%s: %s" where text)
        e.Data.["config.section"] <- where
        e.Data.["config.key"] <- key
        e.Data.["config.problem"] <- problem
        raise e

    /// Raises "<where>: <msg>" for the section as a whole (Key = "").
    let fail (where: string) (msg: string) : 'a = failKeyText where "" msg msg

    /// The FieldError of a config.json error raised by these readers (searched along InnerException), if any.
    let rec fieldError (e: exn) : FieldError option =
        match e with
        | null -> None
        | e when e.Data.Contains "config.section" ->
            Some { Section = string e.Data.["config.section"]; Key = string e.Data.["config.key"]; Problem = string e.Data.["config.problem"] }
        | e -> fieldError e.InnerException

    /// Raises "<where>: '<key>' <problem>".
    let failKey (where: string) (key: string) (problem: string) : 'a =
        failKeyText where key problem (sprintf "%s %s" (quote key) problem)

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

    /// As guard, naming `key` as the field at fault.
    let guardKey (where: string) (key: string) (f: unit -> 'a) : 'a =
        try f () with :? ArgumentException as e -> let m = argMessage e in failKeyText where key m m

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
            | None -> failKeyText where key "is missing (a number is required)" (sprintf "missing number '%s'" key)
        | n ->
            match asFloat n with
            | Some f when Double.IsFinite f -> f
            | _ -> failKey where key (sprintf "must be a finite number, got %s" (show n))

    /// A number in [lo, hi] (hiOpen: [lo, hi)).
    let numIn (where: string) (cfg: JsonObject) (key: string) (dflt: float option) (lo: float) (hi: float) (hiOpen: bool) : float =
        let v = num where cfg key dflt
        if v < lo || v > hi || (hiOpen && v = hi) then
            failKey where key (sprintf "must be in [%g, %g%s, got %s" lo hi (if hiOpen then ")" else "]") (show cfg.[key]))
        v

    /// A number > lo (e.g. a learning rate > 0).
    let numAbove (where: string) (cfg: JsonObject) (key: string) (dflt: float option) (lo: float) : float =
        let v = num where cfg key dflt
        if not (v > lo) then failKey where key (sprintf "must be > %g, got %s" lo (show cfg.[key]))
        v

    /// An integral number of a node in [lo, hi]; `key` names it in the message ("seed", "build_input_shape[1]").
    let intOf (where: string) (key: string) (n: JsonNode) (lo: int64) (hi: int64) : int64 =
        match asFloat n with
        | Some f when Double.IsFinite f && Math.Floor f = f && f >= float lo && f <= float hi -> int64 f
        | _ -> failKey where key (sprintf "must be an integer in [%d, %d], got %s" lo hi (show n))

    /// An integer field in [lo, hi]; `dflt` when absent (None: required).
    let integer (where: string) (cfg: JsonObject) (key: string) (dflt: int option) (lo: int) (hi: int) : int =
        match cfg.[key], dflt with
        | null, Some d -> d
        | null, None -> failKeyText where key "is missing (a number is required)" (sprintf "missing number '%s'" key)
        | n, _ -> int (intOf where key n (int64 lo) (int64 hi))

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
            | None -> failKeyText where key "is missing (a string is required)" (sprintf "missing string '%s'" key)
        | n ->
            match asString n with
            | Some s -> s
            | None -> failKey where key (sprintf "must be a string, got %s" (show n))

    /// A boolean field; `dflt` when absent.
    let flag (where: string) (cfg: JsonObject) (key: string) (dflt: bool) : bool =
        match cfg.[key] with
        | null -> dflt
        | :? JsonValue as v when v.GetValueKind() = JsonValueKind.True -> true
        | :? JsonValue as v when v.GetValueKind() = JsonValueKind.False -> false
        | n -> failKey where key (sprintf "must be true or false, got %s" (show n))

    /// An object field; None when absent, an error when present but not an object.
    let objOpt (where: string) (cfg: JsonObject) (key: string) : JsonObject option =
        match cfg.[key] with
        | null -> None
        | :? JsonObject as o -> Some o
        | n -> failKey where key (sprintf "must be an object, got %s" (show n))

    /// A required object field.
    let obj (where: string) (cfg: JsonObject) (key: string) : JsonObject =
        match objOpt where cfg key with
        | Some o -> o
        | None -> failKeyText where key "is missing (an object is required)" (sprintf "missing '%s' object" key)

    /// An array field; None when absent, an error when present but not an array.
    let arrOpt (where: string) (cfg: JsonObject) (key: string) : JsonArray option =
        match cfg.[key] with
        | null -> None
        | :? JsonArray as a -> Some a
        | n -> failKey where key (sprintf "must be an array, got %s" (show n))
