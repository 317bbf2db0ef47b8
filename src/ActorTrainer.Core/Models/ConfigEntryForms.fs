namespace ActorTrainer.Core

open System.Collections.Generic

/// Keras get_config() entries as Layer and Optimizer declare them (their ConfigEntries): an ordered dictionary, built
/// here from the F# list the built-in classes write.
module internal ConfigEntryForms =

    /// The entries of an F# list as a dictionary, in order (a later duplicate key replaces the earlier value).
    let ofList (entries: (string * obj) list) : IReadOnlyDictionary<string, obj> =
        let d = Dictionary<string, obj>()
        for (k, v) in entries do d.[k] <- v
        d :> IReadOnlyDictionary<string, obj>

    /// No entries (Layer's and Optimizer's default).
    let none () : IReadOnlyDictionary<string, obj> = ofList []

namespace ActorTrainer.Core.FSharp

open System.Collections.Generic

/// Keras get_config() entries for an F# layer or optimizer:
/// `override _.ConfigEntries = ConfigEntries.ofList [ "rate", box 0.5 ]`.
module ConfigEntries =

    /// The entries of an F# list as the ordered dictionary ConfigEntries returns (a later duplicate key replaces
    /// the earlier value).
    let ofList (entries: (string * obj) list) : IReadOnlyDictionary<string, obj> =
        ActorTrainer.Core.ConfigEntryForms.ofList entries

    /// The entries of a ConfigEntries dictionary (`base.ConfigEntries`) as an F# list, in order (null: none).
    let toList (entries: IReadOnlyDictionary<string, obj>) : (string * obj) list =
        if isNull entries then [] else [ for kv in entries -> kv.Key, kv.Value ]
