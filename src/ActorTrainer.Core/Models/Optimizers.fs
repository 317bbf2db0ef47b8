namespace ActorTrainer.Core

open System
open System.Numerics
open System.Collections.Generic
open System.Runtime.InteropServices
open ActorTrainer.Kernels

/// Elements [Offset, Offset + Count) of weight position Tensor: a range an optimizer step updates (a parameter-server
/// slice is a list of them).
[<Struct>]
type WeightRange(tensor: int, offset: int, count: int) =
    /// Weight position (plan order).
    member _.Tensor = tensor
    /// First element of the range.
    member _.Offset = offset
    /// Elements in the range (≥ 0).
    member _.Count = count
    /// Part `part` of `parts` (0 ≤ part < parts): the part-th of `parts` contiguous, as even as possible shares.
    member _.Part(part: int, parts: int) =
        let a = int (int64 count * int64 part / int64 parts)
        let b = int (int64 count * int64 (part + 1) / int64 parts)
        WeightRange(tensor, offset + a, b - a)

/// Base class of Keras optimizers. Updates run in place on flat float32 weights, in float32, in exactly Keras'
/// operation order (so results can be diffed against Keras). Slot state (velocities, moments) is kept per
/// weight position and is part of checkpoints via State / LoadState.
[<AbstractClass>]
type Optimizer(learningRate: float) =
    let slots = ResizeArray<float32[][]>()
    let mutable lr = learningRate
    let mutable applyWork : OptimizerRangeWork = null
    do if not (learningRate > 0.0) || Double.IsInfinity learningRate then
           raise (ArgumentOutOfRangeException("learningRate", learningRate, "learning_rate must be a finite number > 0"))

    /// Current learning rate (a LearningRateScheduler may change it between epochs).
    member _.LearningRate
        with get () = lr
        and set (v: float) =
            if not (v > 0.0) || Double.IsInfinity v then
                raise (ArgumentOutOfRangeException("LearningRate", v, "learning_rate must be a finite number > 0"))
            lr <- v

    /// Number of update steps applied so far (Keras `optimizer.iterations`).
    member val Iterations = 0L with get, set

    /// Keras class name ("SGD", "RMSprop", "Adagrad", "Adam").
    abstract Name: string
    /// Names of the per-weight slots (e.g. [| "velocity" |]).
    abstract SlotNames: string[]
    /// Initial value of the slots (0 for most; Adagrad's initial_accumulator_value).
    abstract InitialSlotValue: float32
    default _.InitialSlotValue = 0.0f
    /// Keras get_config() entries besides name and learning_rate, in Keras' order and names ("rho", "momentum", ...;
    /// values: numbers, strings, bools). Default: none; a subclass of a built-in optimizer extends base.ConfigEntries.
    abstract ConfigEntries: IReadOnlyDictionary<string, obj>
    default _.ConfigEntries = ConfigEntryForms.none ()
    /// One update of weight range w with gradient range g, element-wise: w[i], slots[k][i] ← rule(w[i], g[i], slots[k][i]);
    /// `slots` are the same range of each slot array; `step` is the 1-based iteration number. Pure in the optimizer's
    /// fields, so disjoint ranges may be updated concurrently (the sliced parameter server does).
    abstract UpdateWeight: w: Span<float32> * g: ReadOnlySpan<float32> * slots: ArraySegment<float32>[] * lr: float32 * step: int64 -> unit

    /// Keras get_config() as JSON: {"name", "learning_rate", the optimizer's hyper-parameters} (the "config" object of
    /// compile_config's optimizer in config.json), the entries being ConfigEntries; ArgumentException names the
    /// optimizer and the entry for "name", "learning_rate" or a value JSON cannot hold.
    member o.GetConfig() : System.Text.Json.Nodes.JsonObject =
        let entries = match o.ConfigEntries with null -> ConfigEntryForms.none () | d -> d
        ConfigJson.entriesObject (sprintf "optimizer '%s'" o.Name) [ "name", box o.Name; "learning_rate", box lr ] entries


    /// Slot arrays of weight position i (created on first use with `size` elements).
    member o.SlotsFor(i: int, size: int) =
        while slots.Count <= i do slots.Add null
        match slots.[i] with
        | null ->
            let s = o.SlotNames |> Array.map (fun _ -> Array.create size o.InitialSlotValue)
            slots.[i] <- s
            s
        | s when s.Length > 0 && s.[0].Length <> size ->
            raise (ArgumentException(sprintf "%s: weight %d has %d elements but its optimizer state was built for %d" o.Name i size s.[0].Length))
        | s -> s

    /// Creates the slot arrays of every weight position now (sizes in weight order), so that later updates of
    /// disjoint ranges from several threads only read this optimizer.
    member o.EnsureSlots(sizes: int[]) =
        for i in 0 .. sizes.Length - 1 do o.SlotsFor(i, sizes.[i]) |> ignore

    /// w[offset..offset+count) of weight position i updated in place from g (same range), as step `step` (1-based)
    /// at learning rate lr; does not advance Iterations. Disjoint ranges may run concurrently after EnsureSlots.
    member o.UpdateRange(i: int, w: float32[], g: float32[], offset: int, count: int, lr: float32, step: int64) =
        let slots = o.SlotsFor(i, w.Length) |> Array.map (fun a -> ArraySegment<float32>(a, offset, count))
        o.UpdateWeight(Span(w, offset, count), ReadOnlySpan(g, offset, count), slots, lr, step)

    /// Parts for an element-wise update of `elements` parameters on up to `threads` threads: min(threads, 8) from 65 536
    /// elements on (parts of at least 8 192), else 1 (smaller updates cost less than waking a thread).
    static member UpdateParts(elements: int64, threads: int) = if elements >= 65536L then max 1 (min threads 8) else 1

    /// One optimizer step over all weights (engine and parameter-server path): w[i] updated in place from g[i]. Models
    /// of at least 65 536 parameters are updated in KernelSettings.MaxDegreeOfParallelism contiguous parts at once on
    /// the kernels' threads (UpdateParts; the rule is element-wise: the same bits for any split).
    member o.Apply(weights: float32[][], grads: float32[][]) =
        if weights.Length <> grads.Length then
            raise (ArgumentException(sprintf "%s.apply: %d weights but %d gradients" o.Name weights.Length grads.Length))
        let mutable total = 0L
        for i in 0 .. weights.Length - 1 do
            if weights.[i].Length <> grads.[i].Length then
                raise (ArgumentException(sprintf "%s.apply: weight %d has %d elements but its gradient has %d" o.Name i weights.[i].Length grads.[i].Length))
            total <- total + int64 weights.[i].Length
        o.Iterations <- o.Iterations + 1L
        let work = match applyWork with null -> (applyWork <- OptimizerRangeWork(o); applyWork) | w -> w
        work.UpdateWhole(weights, grads, float32 lr, o.Iterations, Optimizer.UpdateParts(total, KernelSettings.MaxDegreeOfParallelism))

    /// (Iterations, slot copies [weight][slot (SlotNames order)][element]), for checkpoints: `var (it, slots) = o.GetState()`.
    member o.GetState() : struct (int64 * float32[][][]) = o.GetStateReusing null

    /// Iterations and slot copies as GetState, in the arrays of `into` (an earlier result, kept for reuse: no fresh
    /// memory, whose first touch costs a page fault per 4 KiB) where their counts and sizes match; returns them.
    member o.GetStateReusing(into: float32[][][]) : struct (int64 * float32[][][]) =
        let into = if isNull into || into.Length <> slots.Count then Array.zeroCreate slots.Count else into
        for i in 0 .. slots.Count - 1 do
            let s = slots.[i]
            if isNull s then into.[i] <- [||]
            else
                let c = if isNull into.[i] || into.[i].Length <> s.Length then Array.zeroCreate s.Length else into.[i]
                for k in 0 .. s.Length - 1 do
                    if isNull c.[k] || c.[k].Length <> s.[k].Length then c.[k] <- Array.zeroCreate s.[k].Length
                    Array.Copy(s.[k], c.[k], s.[k].Length)
                into.[i] <- c
        struct (o.Iterations, into)

    /// Restores a state saved by GetState (slot counts must match this optimizer).
    member o.LoadState(iterations: int64, state: float32[][][]) =
        slots.Clear()
        for s in state do
            if s.Length <> 0 && s.Length <> o.SlotNames.Length then
                raise (ArgumentException(sprintf "%s.load_state: expected %d slots per weight, got %d" o.Name o.SlotNames.Length s.Length))
            slots.Add(if s.Length = 0 then null else s |> Array.map Array.copy)
        o.Iterations <- iterations

/// An optimizer step over ranges of the weights, in parts at once on the kernels' threads: part p of n updates the p-th
/// contiguous share of every range through UpdateRange (the rule is element-wise: the same bits for any split). It holds
/// the step's arguments while it runs, so each caller that may run beside another (Apply, each parameter-server slice)
/// has its own; reused across steps, so a step allocates nothing.
and [<Sealed; AllowNullLiteral>] OptimizerRangeWork(o: Optimizer) =
    let mutable ranges : WeightRange[] = [||]
    let mutable weights : float32[][] = null
    let mutable grads : float32[][] = null
    let mutable lr = 0.0f
    let mutable step = 0L
    let mutable whole : WeightRange[] = [||]      // UpdateWhole's ranges, rebuilt when the weights' sizes change

    /// w ← rule(w, g) over each range of `w`/`g` (per-tensor arrays) as step `s` (1-based) at rate `rate`, in `parts`
    /// parts on the kernels' threads (at most KernelSettings.MaxDegreeOfParallelism at once; parts ≤ 1: on this
    /// thread). Does not advance Iterations. Slices of disjoint ranges may run concurrently after EnsureSlots.
    /// ArgumentException (naming the optimizer, the weight and the range) for a range outside its weight or a gradient
    /// of another length, before anything is updated.
    member x.Update(rs: WeightRange[], w: float32[][], g: float32[][], rate: float32, s: int64, parts: int) =
        for r in rs do x.CheckRange(r, w, g)
        if parts <= 1 then
            for r in rs do o.UpdateRange(r.Tensor, w.[r.Tensor], g.[r.Tensor], r.Offset, r.Count, rate, s)
        else
            for r in rs do o.SlotsFor(r.Tensor, w.[r.Tensor].Length) |> ignore
            ranges <- rs; weights <- w; grads <- g; lr <- rate; step <- s
            try KernelThreads.Run(x, parts)
            finally ranges <- [||]; weights <- null; grads <- null

    member private _.CheckRange(r: WeightRange, w: float32[][], g: float32[][]) =
        if r.Tensor < 0 || r.Tensor >= w.Length || r.Tensor >= g.Length then
            raise (ArgumentException(sprintf "%s update: a range names weight %d, but there are %d weights and %d gradients" o.Name r.Tensor w.Length g.Length))
        let n = w.[r.Tensor].Length
        if g.[r.Tensor].Length <> n then
            raise (ArgumentException(sprintf "%s update: weight %d has %d elements but its gradient has %d" o.Name r.Tensor n g.[r.Tensor].Length))
        if r.Offset < 0 || r.Count < 0 || int64 r.Offset + int64 r.Count > int64 n then
            raise (ArgumentException(sprintf "%s update: range [%d, %d) of weight %d, which has %d elements" o.Name r.Offset (int64 r.Offset + int64 r.Count) r.Tensor n))

    /// Update over every weight whole (Apply).
    member x.UpdateWhole(w: float32[][], g: float32[][], rate: float32, s: int64, parts: int) =
        let mutable same = whole.Length = w.Length
        for i in 0 .. (if same then w.Length - 1 else -1) do same <- same && whole.[i].Count = w.[i].Length
        if not same then whole <- w |> Array.mapi (fun i a -> WeightRange(i, 0, a.Length))
        x.Update(whole, w, g, rate, s, parts)

    interface IPartitionedWork with
        member _.Run(part, parts) =
            for r in ranges do
                let q = r.Part(part, parts)
                if q.Count > 0 then o.UpdateRange(q.Tensor, weights.[q.Tensor], grads.[q.Tensor], q.Offset, q.Count, lr, step)

/// SGD (Keras): m = μ·m − lr·g; w += m (nesterov: w += μ·m − lr·g); without momentum w −= g·lr.
type SGD([<Optional; DefaultParameterValue(0.01)>] learningRate: float,
         [<Optional; DefaultParameterValue(0.0)>] momentum: float,
         [<Optional; DefaultParameterValue(false)>] nesterov: bool) =
    inherit Optimizer(learningRate)
    do if momentum < 0.0 || momentum > 1.0 then raise (ArgumentOutOfRangeException("momentum", momentum, "SGD momentum must be in [0, 1]"))
    /// μ, the factor of the velocity m = μ·m − lr·g; 0 = plain SGD, no slot (Keras `momentum`, default 0.0; in [0, 1]).
    member _.Momentum = momentum
    /// Nesterov momentum: w += μ·m − lr·g after the velocity update instead of w += m (Keras `nesterov`, default false).
    member _.Nesterov = nesterov
    override _.Name = "SGD"
    override _.SlotNames = if momentum <> 0.0 then [| "momentum" |] else [||]
    override _.ConfigEntries = ConfigEntryForms.ofList [ "momentum", box momentum; "nesterov", box nesterov ]
    override _.UpdateWeight(w, g, slots, lr, _) =
        if momentum = 0.0 then OptimizerRules.sgdSpan w g lr
        else
            let mu = float32 momentum
            let m = slots.[0].AsSpan()
            for i in 0 .. w.Length - 1 do
                m.[i] <- m.[i] * mu - g.[i] * lr
                if nesterov then w.[i] <- w.[i] + (m.[i] * mu - g.[i] * lr)
                else w.[i] <- w.[i] + m.[i]

/// RMSprop (Keras): v = ρv + (1−ρ)g²; w −= lr·g/√(v+ε) (centered: √(v − ḡ² + ε); momentum: m = μm + Δ; w −= m).
type RMSprop([<Optional; DefaultParameterValue(0.001)>] learningRate: float,
             [<Optional; DefaultParameterValue(0.9)>] rho: float,
             [<Optional; DefaultParameterValue(0.0)>] momentum: float,
             [<Optional; DefaultParameterValue(1e-7)>] epsilon: float,
             [<Optional; DefaultParameterValue(false)>] centered: bool) =
    inherit Optimizer(learningRate)
    do
        if rho < 0.0 || rho > 1.0 then raise (ArgumentOutOfRangeException("rho", rho, "RMSprop rho must be in [0, 1]"))
        if momentum < 0.0 || momentum > 1.0 then raise (ArgumentOutOfRangeException("momentum", momentum, "RMSprop momentum must be in [0, 1]"))
        if not (epsilon > 0.0) then raise (ArgumentOutOfRangeException("epsilon", epsilon, "RMSprop epsilon must be > 0"))
    /// ρ, the decay of the moving average of g²: v = ρv + (1−ρ)g² (Keras `rho`, default 0.9; in [0, 1]).
    member _.Rho = rho
    /// μ, the factor of the momentum slot m = μm + lr·g/√(v+ε), w −= m; 0 = none (Keras `momentum`, default 0.0).
    member _.Momentum = momentum
    /// ε, added under the square root: √(v + ε) (Keras `epsilon`, default 1e-7; > 0).
    member _.Epsilon = epsilon
    /// Centered RMSprop: also averages ḡ = ρḡ + (1−ρ)g and divides by √(v − ḡ² + ε) (Keras `centered`, default false).
    member _.Centered = centered
    override _.Name = "RMSprop"
    override _.SlotNames =
        [| yield "velocity"
           if momentum > 0.0 then yield "momentum"
           if centered then yield "average_gradient" |]
    override _.ConfigEntries = ConfigEntryForms.ofList [ "rho", box rho; "momentum", box momentum; "epsilon", box epsilon; "centered", box centered ]
    override _.UpdateWeight(w, g, slots, lr, _) =
        let r = float32 rho
        let c = float32 (1.0 - rho)
        let eps = float32 epsilon
        let v = slots.[0].AsSpan()
        if momentum = 0.0 && not centered then OptimizerRules.rmspropSpan w g v r c eps lr
        else
            let mu = float32 momentum
            let mom = if momentum > 0.0 then slots.[1].AsSpan() else Span<float32>.Empty
            let avg = if centered then slots.[slots.Length - 1].AsSpan() else Span<float32>.Empty
            for i in 0 .. w.Length - 1 do
                let gi = g.[i]
                v.[i] <- r * v.[i] + c * (gi * gi)
                let denom =
                    if centered then
                        avg.[i] <- r * avg.[i] + c * gi
                        v.[i] - avg.[i] * avg.[i] + eps
                    else v.[i] + eps
                let inc = (lr * gi) / MathF.Sqrt denom
                if momentum > 0.0 then
                    mom.[i] <- mu * mom.[i] + inc
                    w.[i] <- w.[i] - mom.[i]
                else w.[i] <- w.[i] - inc

/// Adagrad (Keras): a += g²; w −= lr·g/√(a + ε), a starting at initial_accumulator_value.
type Adagrad([<Optional; DefaultParameterValue(0.001)>] learningRate: float,
             [<Optional; DefaultParameterValue(0.1)>] initialAccumulatorValue: float,
             [<Optional; DefaultParameterValue(1e-7)>] epsilon: float) =
    inherit Optimizer(learningRate)
    let init = initialAccumulatorValue
    do if init < 0.0 then raise (ArgumentOutOfRangeException("initialAccumulatorValue", init, "Adagrad initial_accumulator_value must be >= 0"))
    /// Starting value of the accumulator a of Σg² (Keras `initial_accumulator_value`, default 0.1; ≥ 0).
    member _.InitialAccumulatorValue = init
    /// ε, added under the square root: w −= lr·g/√(a + ε) (Keras `epsilon`, default 1e-7).
    member _.Epsilon = epsilon
    override _.Name = "Adagrad"
    override _.SlotNames = [| "accumulator" |]
    override _.InitialSlotValue = float32 init
    override _.ConfigEntries = ConfigEntryForms.ofList [ "initial_accumulator_value", box init; "epsilon", box epsilon ]
    override _.UpdateWeight(w, g, slots, lr, _) =
        let a = slots.[0].AsSpan()
        let eps = float32 epsilon
        for i in 0 .. w.Length - 1 do
            a.[i] <- a.[i] + g.[i] * g.[i]
            w.[i] <- w.[i] - (lr * g.[i]) / MathF.Sqrt(a.[i] + eps)

/// Adam (Keras): m += (g − m)(1−β₁); v += (g² − v)(1−β₂); α = lr·√(1−β₂ᵗ)/(1−β₁ᵗ); w −= m·α/(√v + ε).
type Adam([<Optional; DefaultParameterValue(0.001)>] learningRate: float,
          [<Optional; DefaultParameterValue(0.9)>] beta1: float,
          [<Optional; DefaultParameterValue(0.999)>] beta2: float,
          [<Optional; DefaultParameterValue(1e-7)>] epsilon: float,
          [<Optional; DefaultParameterValue(false)>] amsgrad: bool) =
    inherit Optimizer(learningRate)
    do
        if beta1 < 0.0 || beta1 >= 1.0 then raise (ArgumentOutOfRangeException("beta1", beta1, "Adam beta_1 must be in [0, 1)"))
        if beta2 < 0.0 || beta2 >= 1.0 then raise (ArgumentOutOfRangeException("beta2", beta2, "Adam beta_2 must be in [0, 1)"))
    /// β₁, the decay of the first-moment average m += (g − m)(1−β₁) (Keras `beta_1`, default 0.9; in [0, 1)).
    member _.Beta1 = beta1
    /// β₂, the decay of the second-moment average v += (g² − v)(1−β₂) (Keras `beta_2`, default 0.999; in [0, 1)).
    member _.Beta2 = beta2
    /// ε, added to the root: w −= m·α/(√v + ε) (Keras `epsilon`, default 1e-7).
    member _.Epsilon = epsilon
    /// AMSGrad: divides by √v̂ with v̂ = max(v̂, v), the running maximum of v (Keras `amsgrad`, default false).
    member _.Amsgrad = amsgrad
    override _.Name = "Adam"
    override _.SlotNames = if amsgrad then [| "momentum"; "velocity"; "velocity_hat" |] else [| "momentum"; "velocity" |]
    override _.ConfigEntries = ConfigEntryForms.ofList [ "beta_1", box beta1; "beta_2", box beta2; "epsilon", box epsilon; "amsgrad", box amsgrad ]
    override _.UpdateWeight(w, g, slots, lr, step) =
        let b1, b2 = float32 beta1, float32 beta2
        let t = float32 step
        let b1p = CanonicalMath.Pow(b1, t)
        let b2p = CanonicalMath.Pow(b2, t)
        let alpha = lr * MathF.Sqrt(1.0f - b2p) / (1.0f - b1p)
        let c1, c2 = float32 (1.0 - beta1), float32 (1.0 - beta2)
        let eps = float32 epsilon
        let m = slots.[0].AsSpan()
        let v = slots.[1].AsSpan()
        if not amsgrad then OptimizerRules.adamSpan w g m v c1 c2 alpha eps
        else
            // AMSGrad stays scalar: MathF.Max's NaN and ±0 rules are not the vector max's
            let vh = slots.[2].AsSpan()
            for i in 0 .. w.Length - 1 do
                let gi = g.[i]
                m.[i] <- m.[i] + (gi - m.[i]) * c1
                v.[i] <- v.[i] + (gi * gi - v.[i]) * c2
                vh.[i] <- MathF.Max(vh.[i], v.[i])
                w.[i] <- w.[i] - (m.[i] * alpha) / (MathF.Sqrt vh.[i] + eps)
