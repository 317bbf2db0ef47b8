namespace ActorTrainer.Core

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.Reflection
open System.Threading

/// The two forms of Keras get_config() entries that Layer and Optimizer declare: the F# list slot `Config` (the
/// built-in classes override it) and the dictionary slot `ConfigEntries` (what a C# class overrides). The most derived
/// class overriding either slot decides the entries (the slot's source); the other slot reads them, a built-in
/// class's Config override included, so a C# `class MyDense : Dense` overriding ConfigEntries reads the same through
/// Config. The one conversion each way, the override rule and the one reader (`resolved`) live here.
module internal ConfigEntryForms =

    /// The entries of an F# list as a dictionary, in order (a later duplicate key replaces the earlier value).
    let ofList (entries: (string * obj) list) : IReadOnlyDictionary<string, obj> =
        let d = Dictionary<string, obj>()
        for (k, v) in entries do d.[k] <- v
        d :> IReadOnlyDictionary<string, obj>

    /// The entries of a dictionary as an F# list, in its order (a null dictionary: none).
    let toList (entries: IReadOnlyDictionary<string, obj>) : (string * obj) list =
        if isNull entries then [] else [ for kv in entries -> kv.Key, kv.Value ]

    /// Which slot holds a class's entries: the one its most derived override of either declares.
    [<RequireQualifiedAccess>]
    type Source =
        /// Neither slot is overridden below the base class: no entries.
        | NoEntries
        /// The F# list slot `Config`.
        | ConfigList
        /// The dictionary slot `ConfigEntries` (also when one class overrides both).
        | Entries

    let private sources = ConcurrentDictionary<struct (Type * Type), Source>()

    /// Whether class `c` itself declares an override of baseType's virtual property `name`.
    let private declares (baseType: Type) (name: string) (c: Type) : bool =
        let getter = "get_" + name
        let flags = BindingFlags.Instance ||| BindingFlags.Public ||| BindingFlags.NonPublic ||| BindingFlags.DeclaredOnly
        c.GetMethods flags
        |> Array.exists (fun m ->
            let b = m.GetBaseDefinition()
            m.DeclaringType <> baseType && b.DeclaringType = baseType && b.Name = getter)

    /// The slot that holds the entries of a `t` (a `baseType`): walking from t towards baseType, the first class that
    /// overrides Config or ConfigEntries decides (cached per type).
    let source (baseType: Type) (t: Type) : Source =
        sources.GetOrAdd(struct (t, baseType), fun _ ->
            let rec walk (c: Type) =
                if isNull c || c = baseType then Source.NoEntries
                elif declares baseType "ConfigEntries" c then Source.Entries
                elif declares baseType "Config" c then Source.ConfigList
                else walk c.BaseType
            walk t)

    /// Where a read of one slot for the other stands, per object on this thread: reading ConfigEntries for Config,
    /// then Config for a base call of ConfigEntries. Each redirect moves one step on, and a slot reached again in a
    /// later step answers its own entries (a built-in class) or none (Layer's and Optimizer's defaults), so base calls
    /// from an override reach the class above it and never come back round.
    [<RequireQualifiedAccess>]
    type private Crossing =
        | ToEntries
        | ToConfig

    let private crossing =
        new ThreadLocal<Dictionary<obj, Crossing>>(fun () -> Dictionary<obj, Crossing>(ReferenceEqualityComparer.Instance))

    let private stateOf (self: obj) : Crossing option =
        match crossing.Value.TryGetValue self with
        | true, c -> Some c
        | _ -> None

    /// Reads the other slot of `self` (via `read`) in state `step`, restoring the state before after.
    let private across (self: obj) (step: Crossing) (read: unit -> 'a) : 'a =
        let states = crossing.Value
        let before = stateOf self
        states.[self] <- step
        try read ()
        finally
            match before with
            | Some b -> states.[self] <- b
            | None -> states.Remove self |> ignore

    /// Default of the `Config` slot of `self` (a `baseType`): the entries of ConfigEntries when either slot is
    /// overridden (a base call from a Config override reads the inherited ConfigEntries), else none.
    let configDefault (baseType: Type) (self: obj) (entries: unit -> IReadOnlyDictionary<string, obj>) : (string * obj) list =
        if (stateOf self).IsSome || source baseType (self.GetType()) = Source.NoEntries then []
        else toList (across self Crossing.ToEntries entries)

    /// Default of the `ConfigEntries` slot of `self` (a `baseType`): the entries of Config when either slot is
    /// overridden (a base call from a ConfigEntries override below a built-in class reads that class's entries), else none.
    let entriesDefault (baseType: Type) (self: obj) (config: unit -> (string * obj) list) : IReadOnlyDictionary<string, obj> =
        match stateOf self with
        | Some Crossing.ToConfig -> ofList []
        | Some Crossing.ToEntries -> ofList (across self Crossing.ToConfig config)
        | None when source baseType (self.GetType()) = Source.NoEntries -> ofList []
        | None -> ofList (across self Crossing.ToConfig config)

    /// A built-in class's `Config` override: its own entries, unless a class below it overrides ConfigEntries last
    /// (then that slot's entries; its base calls reach back here and get the own entries).
    let builtinConfig (baseType: Type) (self: obj) (own: unit -> (string * obj) list)
                      (entries: unit -> IReadOnlyDictionary<string, obj>) : (string * obj) list =
        if (stateOf self).IsNone && source baseType (self.GetType()) = Source.Entries then
            toList (across self Crossing.ToEntries entries)
        else own ()

    /// The entries of `self` (a `baseType`) as GetConfig writes them: read from the slot its most derived override
    /// declares, so an override above it in the other slot cannot hide it.
    let resolved (baseType: Type) (self: obj) (config: unit -> (string * obj) list)
                 (entries: unit -> IReadOnlyDictionary<string, obj>) : IReadOnlyDictionary<string, obj> =
        match source baseType (self.GetType()) with
        | Source.ConfigList -> ofList (config ())
        | Source.Entries -> match entries () with null -> ofList [] | d -> d
        | _ -> ofList []
