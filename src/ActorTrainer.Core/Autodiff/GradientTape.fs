namespace ActorTrainer.Core

open System
open System.Collections.Generic
open System.Runtime.InteropServices

/// Records differentiable ops on watched tensors (TF tf.GradientTape semantics): pushed on a thread-local stack on
/// construction, stops recording on Dispose; a non-persistent tape computes gradients once.
[<Sealed>]
type GradientTape([<Optional; DefaultParameterValue(false)>] persistent: bool) as this =
    let tracked = HashSet<int64>()
    let nodes = List<TapeNode>()
    // results of gradients computed while this tape recorded → the tracked ids they depend on (MarkOpaque)
    let opaque = Dictionary<int64, HashSet<int64>>()
    let mutable active = true
    let mutable used = false
    do TapeStack.push (this :> ITapeRecorder)

    /// Tells every recording tape that tracks the target or a source (this one too, while it records) that the
    /// gradients `results` are opaque to it: they depend on what it tracks, through a backward pass it did not record.
    let markOpaque (target: Tensor) (sources: Tensor[]) (results: Tensor[]) =
        for r in TapeStack.active () |> Seq.toArray do
            if r.Tracks target.Id || sources |> Array.exists (fun s -> r.Tracks s.Id) then
                let deps = HashSet<int64>(tracked |> Seq.filter r.Tracks)
                for g in results do r.MarkOpaque(g.Id, deps)

    /// Refuses a gradient that would flow through an opaque result into a requested source (a higher-order gradient).
    let refuseHigherOrder (grads: Dictionary<int64, NDArray>) (sources: Tensor[]) =
        for KeyValue(id, deps) in opaque do
            if grads.ContainsKey id && sources |> Array.exists (fun s -> not (isNull s) && deps.Contains s.Id) then
                raise (NotSupportedException(
                    sprintf "gradient: higher-order gradients are not supported: the target depends on tensor #%d, a gradient computed by GradientTape.Gradient while this tape recorded, and its backward pass is not recorded (the result would wrongly be 0); differentiate the first derivative's formula explicitly instead" id))

    interface ITapeRecorder with
        member _.Tracks id = tracked.Contains id
        member _.Watch id = if active then tracked.Add id |> ignore
        member _.Record n =
            if active then
                nodes.Add n
                tracked.Add n.OutputId |> ignore
        member _.MarkOpaque(id, deps) =
            if active then
                opaque.[id] <- deps
                tracked.Add id |> ignore

    interface IDisposable with
        member _.Dispose() =
            if active then
                active <- false
                TapeStack.remove (this :> ITapeRecorder)

    /// Stops recording (what `using` / `use` does; callable directly from C#).
    member this.Dispose() = (this :> IDisposable).Dispose()

    /// Whether the tape may compute gradients more than once.
    member _.Persistent = persistent
    /// Starts tracking a tensor.
    member _.Watch(t: Tensor) =
        if isNull t then raise (ArgumentNullException("t"))
        if active then tracked.Add t.Id |> ignore
    /// Starts tracking a variable's current value.
    member _.Watch(v: Variable) =
        if isNull v then raise (ArgumentNullException("v"))
        if active then tracked.Add v.Current.Id |> ignore

    /// d(Σ target)/d source for each source (source shape and dtype; zeros when unconnected).
    member this.Gradient(target: Tensor, sources: Tensor[]) : Tensor[] = this.Gradient(target, sources, null)

    /// d(Σ outputGradient ⊙ target)/d source for each source — TF's output_gradients: the backward pass starts from
    /// outputGradient (target's shape; null = ones) instead of ones, as if target had been multiplied by it.
    member _.Gradient(target: Tensor, sources: Tensor[], outputGradient: Tensor) : Tensor[] =
        if isNull target then raise (ArgumentNullException("target"))
        if isNull sources then raise (ArgumentNullException("sources"))
        if used && not persistent then
            raise (InvalidOperationException("GradientTape.Gradient can only be called once on a non-persistent tape (create it with persistent = true to compute several gradients)"))
        if not (DType.isFloat target.DType) then
            invalidArg "target" (sprintf "gradient: target must be float32 or float64, got %s" (DType.name target.DType))
        if not (isNull outputGradient) && outputGradient.Shape <> target.Shape then
            raise (ShapeException(sprintf "gradient: outputGradient has shape %s but the target has shape %s" (Shape.str outputGradient.Shape) (Shape.str target.Shape)))
        used <- true
        let grads = Dictionary<int64, NDArray>()
        grads.[target.Id] <- if isNull outputGradient then Elementwise.full target.DType target.Value.Dims 1.0
                             else Elementwise.cast target.DType outputGradient.Value
        for k in nodes.Count - 1 .. -1 .. 0 do
            let n = nodes.[k]
            match grads.TryGetValue n.OutputId with
            | true, g ->
                let needed = Array.init n.InputIds.Length (fun j -> tracked.Contains n.InputIds.[j] && DType.isFloat n.Inputs.[j].DType)
                let gin = n.Op.Backward.Invoke(n.Inputs, n.Output, g, needed)
                if gin.Length <> n.Inputs.Length then
                    invalidOp (sprintf "gradient: op '%s' returned %d gradients for %d inputs" n.Op.Name gin.Length n.Inputs.Length)
                for j in 0 .. n.InputIds.Length - 1 do
                    let id = n.InputIds.[j]
                    if needed.[j] then
                        let gj = gin.[j]
                        if isNull (box gj) then
                            invalidOp (sprintf "gradient: op '%s' returned no gradient for input %d, which needs one" n.Op.Name j)
                        if gj.Dims <> n.Inputs.[j].Dims then
                            raise (ShapeException(sprintf "gradient: op '%s' returned gradient of shape %s for input %d of shape %s" n.Op.Name (Shape.str gj.Dims) j (Shape.str n.Inputs.[j].Dims)))
                        match grads.TryGetValue id with
                        | true, acc -> grads.[id] <- Elementwise.binary Add acc (Elementwise.cast acc.DType gj)
                        | _ -> grads.[id] <- gj
            | _ -> ()
        refuseHigherOrder grads sources
        let results =
            sources |> Array.mapi (fun i s ->
                if isNull s then raise (ArgumentNullException("sources", sprintf "gradient: source %d is null" i))
                match grads.TryGetValue s.Id with
                | true, g -> Tensor.OfNDArray(Elementwise.cast s.DType g)
                | _ -> Tensor.OfNDArray(NDArray.Zeros(s.Value.Dims, (if DType.isFloat s.DType then s.DType else target.DType))))
        markOpaque target sources results
        results
    /// d(Σ target)/d source.
    member this.Gradient(target: Tensor, source: Tensor) : Tensor = this.Gradient(target, [| source |]).[0]
    /// d(Σ target)/d v for the variable's current value.
    member this.Gradient(target: Tensor, v: Variable) : Tensor =
        if isNull v then raise (ArgumentNullException("v"))
        this.Gradient(target, [| v.Current |]).[0]
    /// d(Σ target)/d v for each variable.
    member this.Gradient(target: Tensor, vs: Variable[]) : Tensor[] =
        if isNull vs then raise (ArgumentNullException("vs"))
        this.Gradient(target, vs |> Array.map (fun v -> if isNull v then raise (ArgumentNullException("vs")) else v.Current))
    /// d(Σ outputGradient ⊙ target)/d v for each variable (TF's output_gradients; null = ones).
    member this.Gradient(target: Tensor, vs: Variable[], outputGradient: Tensor) : Tensor[] =
        if isNull vs then raise (ArgumentNullException("vs"))
        this.Gradient(target, vs |> Array.map (fun v -> if isNull v then raise (ArgumentNullException("vs")) else v.Current), outputGradient)
    /// d(Σ target)/d v for each variable of a collection (`List<Variable>`, `IReadOnlyList<Variable>`…), in its order.
    member this.Gradient(target: Tensor, vs: IEnumerable<Variable>) : Tensor[] =
        if isNull vs then raise (ArgumentNullException("vs"))
        this.Gradient(target, Array.ofSeq vs)
    /// d(Σ outputGradient ⊙ target)/d v for each variable of a collection, in its order (null outputGradient = ones).
    member this.Gradient(target: Tensor, vs: IEnumerable<Variable>, outputGradient: Tensor) : Tensor[] =
        if isNull vs then raise (ArgumentNullException("vs"))
        this.Gradient(target, Array.ofSeq vs, outputGradient)
