namespace ActorTrainer.Core

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.Reflection

/// The two forms of Keras get_config() entries that Layer and Optimizer declare: the F# list slot `Config` (the
/// built-in classes override it) and the dictionary slot `ConfigEntries` (what a C# class overrides). Each slot's
/// default is the other slot when that one is overridden, so both read the same entries whichever one a class
/// overrides; the one conversion each way and the one override rule live here.
module internal ConfigEntryForms =

    /// The entries of an F# list as a dictionary, in order (a later duplicate key replaces the earlier value).
    let ofList (entries: (string * obj) list) : IReadOnlyDictionary<string, obj> =
        let d = Dictionary<string, obj>()
        for (k, v) in entries do d.[k] <- v
        d :> IReadOnlyDictionary<string, obj>

    /// The entries of a dictionary as an F# list, in its order (a null dictionary: none).
    let toList (entries: IReadOnlyDictionary<string, obj>) : (string * obj) list =
        if isNull entries then [] else [ for kv in entries -> kv.Key, kv.Value ]

    let private overrides = ConcurrentDictionary<struct (Type * Type * string), bool>()

    /// Whether `t` or a class between it and `baseType` overrides baseType's virtual property `name` (cached per type).
    let overridden (baseType: Type) (name: string) (t: Type) : bool =
        overrides.GetOrAdd(struct (t, baseType, name), fun _ ->
            let getter = "get_" + name
            let flags = BindingFlags.Instance ||| BindingFlags.Public ||| BindingFlags.NonPublic ||| BindingFlags.DeclaredOnly
            let rec walk (c: Type) =
                if isNull c || c = baseType then false
                else
                    c.GetMethods flags
                    |> Array.exists (fun m ->
                        let b = m.GetBaseDefinition()
                        m.DeclaringType <> baseType && b.DeclaringType = baseType && b.Name = getter)
                    || walk c.BaseType
            walk t)

    /// Default of the `Config` slot of `self` (a `baseType`): the entries of its overridden ConfigEntries, else none.
    let configDefault (baseType: Type) (self: obj) (entries: unit -> IReadOnlyDictionary<string, obj>) : (string * obj) list =
        if overridden baseType "ConfigEntries" (self.GetType()) then toList (entries ()) else []

    /// Default of the `ConfigEntries` slot of `self` (a `baseType`): the entries of its overridden Config, else none.
    let entriesDefault (baseType: Type) (self: obj) (config: unit -> (string * obj) list) : IReadOnlyDictionary<string, obj> =
        ofList (if overridden baseType "Config" (self.GetType()) then config () else [])
