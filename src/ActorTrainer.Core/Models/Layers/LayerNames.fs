namespace ActorTrainer.Core

open System
open System.Collections.Generic

/// How Sequential admits and names its layers: each layer instance once, each name once (Keras: "All layers added
/// to a Sequential model should have unique names"), unnamed layers named Keras-style (dense, dense_1, ...).
module internal LayerNames =

    /// A layer as messages name it: its name, or its class before build names it ("Dense (unnamed)").
    let label (l: Layer) = if String.IsNullOrEmpty l.Name then l.ClassName + " (unnamed)" else "'" + l.Name + "'"

    /// Refuses a null layer, a layer instance already in the model (a second use would share its weights, which the
    /// flat training engine does not support) and a name another layer of the model already has.
    let checkNew (model: string) (existing: seq<Layer>) (l: Layer) =
        if isNull (box l) then raise (ArgumentNullException("layer", sprintf "model '%s': a layer is null" model))
        if existing |> Seq.exists (fun e -> Object.ReferenceEquals(e, l)) then
            raise (ArgumentException(sprintf "model '%s': layer %s is already in the model; a layer instance can appear once (create a second layer instead; shared weights are not supported)" model (label l), "layer"))
        if not (String.IsNullOrEmpty l.Name) && existing |> Seq.exists (fun e -> e.Name = l.Name) then
            raise (ArgumentException(sprintf "model '%s': a layer named '%s' is already in the model; all layers added to a Sequential model should have unique names" model l.Name, "layer"))

    /// Names the unnamed layers Keras-style: the class in lower case, then _1, _2, ... skipping names already taken.
    let assign (layers: IReadOnlyList<Layer>) =
        let taken = HashSet<string>(layers |> Seq.map (fun l -> l.Name) |> Seq.filter (String.IsNullOrEmpty >> not))
        let counts = Dictionary<string, int>()
        for l in layers do
            if String.IsNullOrEmpty l.Name then
                let baseName = l.ClassName.ToLowerInvariant()
                let mutable k = match counts.TryGetValue baseName with | true, k -> k | _ -> 0
                while taken.Contains(if k = 0 then baseName else sprintf "%s_%d" baseName k) do k <- k + 1
                l.Name <- (if k = 0 then baseName else sprintf "%s_%d" baseName k)
                taken.Add l.Name |> ignore
                counts.[baseName] <- k + 1
