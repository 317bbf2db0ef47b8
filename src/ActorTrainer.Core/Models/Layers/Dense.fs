namespace ActorTrainer.Core

open System
open System.Runtime.InteropServices
open ActorTrainer.Core.ModelJson

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
    /// The kernel W (in × units): null until Build(inputShape, seed) (or the Sequential holding the layer) builds it.
    member _.Kernel = kernel
    /// The bias b (units): null until Build(inputShape, seed) (or the Sequential holding the layer) builds it, and
    /// always null without bias.
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
        if useBias then [| struct (l.Name + "/kernel", [| inDim; units |]); struct (l.Name + "/bias", [| units |]) |]
        else [| struct (l.Name + "/kernel", [| inDim; units |]) |]
    override _.ComputeOutputShape shape = Array.append shape.[.. shape.Length - 2] [| units |]
    /// x·W + b on the last axis: x (..., in) → (..., units); InvalidOperationException naming the layer before Build.
    override l.CallLogits(x, _) =
        l.RequireBuilt "CallLogits"
        TapeOps.dense x kernel.Value (if useBias then bias.Value else null)
    /// act(x·W + b) on the last axis: x (..., in) → (..., units); InvalidOperationException naming the layer before Build.
    override l.Call(x, training) =
        l.RequireBuilt "Call"
        TapeOps.activation act (l.CallLogits(x, training))
    /// [kernel; bias] (kernel alone without bias); empty before Build, as Keras' `layer.weights`.
    override l.Variables = if not l.Built then [||] elif useBias then [| kernel; bias |] else [| kernel |]
    override _.OutputActivation = act
    override l.Plan shape =
        if shape.Length <> 1 then
            raise (ShapeException(sprintf "Dense '%s' receives input of shape %s; the training engine needs flat samples: add Flatten before it" l.Name (Shape.str shape)))
        PlanLayer.Dense(shape.[0], units, useBias, act)
    override _.ConfigEntries =
        ConfigEntryForms.ofList
            [ "units", box units; "activation", box act.Name; "use_bias", box useBias
              "kernel_initializer", box kInit; "bias_initializer", box bInit ]

    /// Reads a Dense entry: "units" (required, >= 1), "activation" (linear), "use_bias" (true), "kernel_initializer"
    /// (glorot_uniform), "bias_initializer" (zeros).
    static member internal FromConfig(c: LayerConfig) : Layer =
        let units = integer c.Where c.Config "units" None 1 Int32.MaxValue
        let act = ConfigFields.activation c (Some "linear")
        let k = ConfigFields.initializer c "kernel_initializer" "glorot_uniform"
        let b = ConfigFields.initializer c "bias_initializer" "zeros"
        guard c.Where (fun () -> Dense(units, act, k, b, flag c.Where c.Config "use_bias" true, c.Name) :> Layer)

    /// Class name and config reader for config.json.
    static member internal Registration =
        { ClassName = "Dense"
          Fields = [ "units"; "activation"; "use_bias"; "kernel_initializer"; "bias_initializer" ]
          NullFields = [ "kernel_regularizer"; "bias_regularizer"; "activity_regularizer"; "kernel_constraint"; "bias_constraint"; "lora_rank"; "quantization_config" ]
          Parse = Dense.FromConfig }
