namespace ActorTrainer.Core

open System
open System.Collections.Generic
open System.Runtime.CompilerServices
open System.Runtime.InteropServices

/// `optimizer.ApplyGradients(zip(grads, vars))` for the low-level GradientTape path (Keras `apply_gradients`).
/// Variables get slot positions 0, 1, ... in the order first seen, so passing a model's TrainableVariables shares the
/// optimizer state with `fit` (which uses the same weight order).
[<Extension>]
type OptimizerExtensions =
    /// One optimizer step: each variable is updated in float32 with Keras' rule and reassigned.
    [<Extension>]
    static member ApplyGradients(o: Optimizer, gradsAndVars: seq<Tensor * Variable>) =
        o.Iterations <- o.Iterations + 1L
        let lr = float32 o.LearningRate
        for (g, v) in gradsAndVars do
            if g.Shape <> v.Shape then
                raise (ShapeException(sprintf "%s.apply_gradients: gradient shape %A does not match variable '%s' shape %A" o.Name g.Shape v.Name v.Shape))
            let w = v.Value.ToFloat32Array()
            let slot = o.SlotsFor(OptimizerExtensions.IndexOf(o, v), w.Length)
            o.UpdateWeight(Span w, ReadOnlySpan(g.ToFloat32Array()), slot, lr, o.Iterations)
            v.Assign(Tensor.FromArray(w, v.Shape))

    static member val private Indices = ConditionalWeakTable<Optimizer, Dictionary<Variable, int>>()

    static member private IndexOf(o: Optimizer, v: Variable) =
        let d = OptimizerExtensions.Indices.GetValue(o, fun _ -> Dictionary<Variable, int>(HashIdentity.Reference))
        match d.TryGetValue v with
        | true, i -> i
        | _ -> let i = d.Count in d.[v] <- i; i

/// Size checks done before weights are allocated: a weight must fit one .NET array and all of a layer's weights
/// must fit the memory available, else ResourceLimitException naming the bytes.
module WeightBudget =

    /// Bytes of float32 weights with the given shapes (exact, in 64 bits; shapes hold int32 dims so no overflow).
    let bytes (shapes: int[][]) : int64 =
        shapes |> Array.sumBy (fun s -> 4L * Array.fold (fun (acc: int64) d -> acc * int64 d) 1L s)

    /// Checks the weights (name, shape) a layer is about to create; `owner` names the layer in the message.
    let check (owner: string) (specs: (string * int[])[]) : unit =
        for (name, shape) in specs do
            let n = shape |> Array.fold (fun (acc: int64) d -> acc * int64 d) 1L
            if n > int64 Array.MaxLength then
                raise (ResourceLimitException(
                    sprintf "%s: weight '%s' of shape %s needs %d bytes (%d float32 values), more than one array can hold (%d values)"
                        owner name (Shape.str shape) (4L * n) n Array.MaxLength))
        let total = bytes (specs |> Array.map snd)
        let available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes
        if total > available then
            raise (ResourceLimitException(
                sprintf "%s: weights need %d bytes but only %d bytes of memory are available" owner total available))

/// Base class of Keras layers. A layer builds its weights on first input (input shape without the batch axis),
/// runs differentiably on Tensors (`Call`), and describes itself to the fast training engine (`PlanLayer`).
[<AbstractClass>]
type Layer(className: string, name: string) =
    let mutable name = name
    let mutable built = false
    let mutable inputShape : int[] = null

    /// Keras class name ("Dense", "Flatten", ...).
    member _.ClassName = className
    /// Layer name (auto-assigned by Sequential when empty: dense, dense_1, ...).
    member _.Name with get () = name and set v = name <- v
    /// True once weights exist.
    member _.Built = built
    /// Input shape (without batch) the layer was built for.
    member _.InputShape = inputShape

    /// Creates the weights for an input shape (without batch); `seed` makes initialisation reproducible.
    abstract BuildWeights: inputShape: int[] * seed: int -> unit
    /// Output shape (without batch) for an input shape (without batch).
    abstract ComputeOutputShape: inputShape: int[] -> int[]
    /// Differentiable forward pass on a batch (first axis = batch).
    abstract Call: x: Tensor * training: bool -> Tensor
    /// The layer's variables in Keras order (kernel, bias).
    abstract Variables: Variable[]
    /// How the fast engine runs this layer (None: a no-op on flat rows, e.g. Flatten).
    abstract Plan: inputShape: int[] -> PlanLayer option
    /// Keras get_config() entries besides name.
    abstract Config: (string * obj) list
    /// Final activation of the layer (for fusing losses); Linear when none.
    abstract OutputActivation: Activation
    default _.OutputActivation = Activation.Linear
    /// Forward pass stopping before the final activation (logits); only differs for layers with an activation.
    abstract CallLogits: x: Tensor * training: bool -> Tensor
    default l.CallLogits(x, training) = l.Call(x, training)

    /// Names and shapes of the weights BuildWeights creates for an input shape (without batch), computed without
    /// allocating anything; lets loaders compare against a weights file and check sizes first.
    abstract WeightSpecs: inputShape: int[] -> (string * int[])[]
    default _.WeightSpecs _ = [||]

    /// Builds once (later calls with the same shape are no-ops; another shape is an error naming the layer). Weight sizes
    /// are checked before anything is allocated (ResourceLimitException naming the bytes).
    member l.Build(shape: int[], seed: int) =
        if not built then
            WeightBudget.check (sprintf "layer '%s'" name) (l.WeightSpecs shape)
            l.BuildWeights(shape, seed)
            inputShape <- Array.copy shape
            built <- true
        elif shape <> inputShape then
            raise (ShapeException(sprintf "layer '%s' was built for input shape %s but received %s" name (Shape.str inputShape) (Shape.str shape)))

    /// Number of scalar weights.
    member l.CountParams() = l.Variables |> Array.sumBy (fun v -> Array.fold (*) 1 v.Shape)

    /// Keras get_config(): name plus the layer's own entries.
    member l.GetConfig() : (string * obj) list = ("name", box name) :: l.Config

/// Densely-connected layer: y = act(x·W + b), W (in × units), b (units); applies to the last axis.
type Dense(units: int, activation: string, kernelInitializer: Initializer, biasInitializer: Initializer, useBias: bool, name: string) =
    inherit Layer("Dense", (if isNull name then "" else name))
    do if units < 1 then raise (ArgumentOutOfRangeException("units", units, "Dense units must be >= 1"))
    let act = Activation.Parse activation
    let kInit = kernelInitializer
    let bInit = biasInitializer
    let mutable kernel : Variable = Unchecked.defaultof<_>
    let mutable bias : Variable = Unchecked.defaultof<_>

    /// Keras-style construction by names: Dense(512, "relu"), Dense(10, "softmax", kernelInitializer = "he_uniform").
    new(units: int, [<Optional; DefaultParameterValue("linear")>] activation: string,
        [<Optional; DefaultParameterValue("glorot_uniform")>] kernelInitializer: string,
        [<Optional; DefaultParameterValue("zeros")>] biasInitializer: string,
        [<Optional; DefaultParameterValue(true)>] useBias: bool,
        [<Optional; DefaultParameterValue("")>] name: string) =
        Dense(units, activation, Initializer.Parse kernelInitializer, Initializer.Parse biasInitializer, useBias, name)

    /// Number of output units.
    member _.Units = units
    /// Activation applied to x·W + b.
    member _.Activation = act
    /// Whether a bias is added.
    member _.UseBias = useBias
    /// The kernel W (in × units); available after build.
    member _.Kernel = kernel
    /// The bias b (units); available after build (null without bias).
    member _.Bias = bias

    override l.BuildWeights(shape, seed) =
        if shape.Length < 1 then raise (ShapeException(sprintf "Dense '%s' needs an input with at least 1 axis, got %s" l.Name (Shape.str shape)))
        let inDim = shape.[shape.Length - 1]
        kernel <- Variable(Tensor.FromArray(kInit.Create([| inDim; units |], seed), [| inDim; units |]), l.Name + "/kernel")
        if useBias then
            bias <- Variable(Tensor.FromArray(bInit.Create([| units |], seed + 1), [| units |]), l.Name + "/bias")
    override l.WeightSpecs shape =
        if shape.Length < 1 then raise (ShapeException(sprintf "Dense '%s' needs an input with at least 1 axis, got %s" l.Name (Shape.str shape)))
        let inDim = shape.[shape.Length - 1]
        if useBias then [| l.Name + "/kernel", [| inDim; units |]; l.Name + "/bias", [| units |] |]
        else [| l.Name + "/kernel", [| inDim; units |] |]
    override _.ComputeOutputShape shape = Array.append shape.[.. shape.Length - 2] [| units |]
    override l.CallLogits(x, _) = TapeOps.dense x kernel.Value (if useBias then bias.Value else null)
    override l.Call(x, training) = TapeOps.activation act (l.CallLogits(x, training))
    override _.Variables = if useBias then [| kernel; bias |] else [| kernel |]
    override _.OutputActivation = act
    override l.Plan shape =
        if shape.Length <> 1 then
            raise (ShapeException(sprintf "Dense '%s' receives input of shape %s; the training engine needs flat samples: add Flatten before it" l.Name (Shape.str shape)))
        Some(PlanLayer.Dense(shape.[0], units, useBias, act))
    override _.Config =
        [ "units", box units; "activation", box act.Name; "use_bias", box useBias
          "kernel_initializer", box kInit; "bias_initializer", box bInit ]

/// Flattens each sample: (batch, d1, d2, ...) → (batch, d1·d2·...).
type Flatten([<Optional; DefaultParameterValue("")>] name: string) =
    inherit Layer("Flatten", (if isNull name then "" else name))
    override _.BuildWeights(_, _) = ()
    override l.ComputeOutputShape shape =
        let n = shape |> Array.fold (fun (acc: int64) d -> acc * int64 d) 1L
        if n > int64 Int32.MaxValue then
            raise (ResourceLimitException(sprintf "Flatten '%s': input shape %s has %d values per sample, more than 2147483647" l.Name (Shape.str shape) n))
        [| int n |]
    override _.Call(x, _) = Tensor.Reshape(x, [| x.Shape.[0]; -1 |])
    override _.Variables = [||]
    override _.Plan _ = None
    override _.Config = []

/// Inverted dropout: while training, zeroes each input with probability `rate` and scales the rest by 1/(1−rate).
/// `seed` keys the masks; when not given (null, Keras `seed=None`) the masks use seed 0 and the config writes `"seed": null`.
type Dropout(rate: float, seed: Nullable<int>, name: string) =
    inherit Layer("Dropout", (if isNull name then "" else name))
    do if not (rate >= 0.0 && rate < 1.0) then raise (ArgumentOutOfRangeException("rate", rate, "Dropout rate must be in [0, 1)"))
    let maskSeed = seed.GetValueOrDefault 0
    let mutable calls = 0
    let mutable planIndex = 0
    /// Dropout without a seed (Keras `seed=None`): Dropout(0.2), Dropout(0.2, name = "drop").
    new(rate: float, [<Optional; DefaultParameterValue("")>] name: string) = Dropout(rate, Nullable(), name)
    /// Dropout with a seed for its masks: Dropout(0.2, 7).
    new(rate: float, seed: int, [<Optional; DefaultParameterValue("")>] name: string) = Dropout(rate, Nullable seed, name)
    /// Fraction of inputs dropped while training.
    member _.Rate = rate
    /// Seed of the layer's masks (0 when none was given).
    member _.Seed = maskSeed
    /// The seed as given (null when none was, as Keras `seed=None`); what the config writes.
    member _.ConfigSeed = seed
    /// Layer index that keys the mask (DropoutKernels.mask); set it to the layer's position in the engine's plan to
    /// draw the engine's mask. Default 0.
    member _.PlanIndex with get () = planIndex and set v = planIndex <- v
    override _.BuildWeights(_, _) = ()
    override _.ComputeOutputShape shape = shape
    /// Training: y = x ⊙ mask, the mask keyed by (Seeds.derive [seed; call number], PlanIndex, element); else y = x.
    override _.Call(x, training) =
        if not training || rate = 0.0 then x
        else
            calls <- calls + 1
            TapeOps.dropout rate (Seeds.derive [| int64 maskSeed; int64 calls |]) planIndex x
    override _.Variables = [||]
    override _.Plan _ = Some(PlanLayer.Dropout rate)
    override _.Config = [ "rate", box rate; "seed", (if seed.HasValue then box seed.Value else null) ]

/// Applies an activation function: y = act(x).
type ActivationLayer(activation: string, [<Optional; DefaultParameterValue("")>] name: string) =
    inherit Layer("Activation", (if isNull name then "" else name))
    let act = Activation.Parse activation
    override _.BuildWeights(_, _) = ()
    override _.ComputeOutputShape shape = shape
    override _.Call(x, _) = TapeOps.activation act x
    override _.CallLogits(x, _) = x
    override _.OutputActivation = act
    override _.Variables = [||]
    override l.Plan shape =
        if shape.Length <> 1 then raise (ShapeException(sprintf "Activation '%s' receives input of shape %s; the training engine needs flat samples: add Flatten" l.Name (Shape.str shape)))
        Some(PlanLayer.Activation act)
    override _.Config = [ "activation", box act.Name ]
