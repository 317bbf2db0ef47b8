namespace ActorTrainer.Core

/// A layer the flat engine runs through the layer's own code (a user-defined layer, e.g. a C# subclass of Layer):
/// flat rows in (rows × InputDim), flat rows out (rows × OutputDim), and the vector-Jacobian product backwards.
/// Weights come in the order of WeightShapes; implementations must be safe to call from several threads at once.
[<AbstractClass>]
type CustomPlanLayer() =
    /// Values per sample the layer receives.
    abstract InputDim: int
    /// Values per sample the layer produces.
    abstract OutputDim: int
    /// Shapes of the layer's weights, in the order the engine passes them.
    abstract WeightShapes: int[][]
    /// Forward pass: y (rows × OutputDim) for x (rows × InputDim); `training` as in Layer.Call.
    abstract Forward: weights: float32[][] * x: float32[] * rows: int * training: bool -> float32[]
    /// Backward pass at x: given dy = ∂L/∂y (rows × OutputDim), writes ∂L/∂weights[k] into grads[k] (overwriting) and
    /// returns ∂L/∂x (rows × InputDim).
    abstract Backward: weights: float32[][] * x: float32[] * dy: float32[] * rows: int * training: bool * grads: float32[][] -> float32[]

/// One layer of a model as the flat training engine sees it (inputs are (rows × features) row-major).
/// Flatten is a no-op here and does not appear.
[<RequireQualifiedAccess>]
type PlanLayer =
    /// z = x·W + b, y = act(z); W is (inDim × units), b is (units) when useBias.
    | Dense of inDim: int * units: int * useBias: bool * activation: Activation
    /// Inverted dropout: in training keep with probability 1−rate and scale by 1/(1−rate); identity at inference.
    | Dropout of rate: float
    /// y = act(x).
    | Activation of Activation
    /// A user-defined layer run through its own code (not sent to other processes or the GPU backend).
    | Custom of CustomPlanLayer

/// A compiled model: input width, layers, loss. Weights are passed separately, in layer order (kernel, bias).
type ModelPlan =
    { /// Values per input sample (features); inputs are (rows × InputDim) float32 row-major.
      InputDim: int
      /// The layers in order (no Flatten).
      Layers: PlanLayer[]
      /// The loss the model is trained with.
      Loss: Loss }

    /// Width of the model output.
    member p.OutputDim =
        p.Layers |> Array.fold (fun w l -> match l with
                                           | PlanLayer.Dense(_, u, _, _) -> u
                                           | PlanLayer.Custom c -> c.OutputDim
                                           | _ -> w) p.InputDim

    /// Shapes of the weights the plan expects, in order.
    member p.WeightShapes =
        [| for l in p.Layers do
             match l with
             | PlanLayer.Dense(i, u, b, _) ->
                 yield [| i; u |]
                 if b then yield [| u |]
             | PlanLayer.Custom c -> yield! c.WeightShapes
             | _ -> () |]

    /// Number of values of each weight tensor (the product of its shape), in order.
    member p.WeightSizes = p.WeightShapes |> Array.map (Array.fold (*) 1)

/// Loss sum, metric hits and sample count of one shard (sums, so shards and batches add up exactly).
[<Struct>]
type ShardStats =
    { /// Sum of the per-sample losses.
      LossSum: float
      /// Samples the metric counts as right (accuracy hits).
      Correct: float
      /// Samples.
      Count: int }

    /// Component-wise sum.
    static member (+)(a: ShardStats, b: ShardStats) =
        { LossSum = a.LossSum + b.LossSum; Correct = a.Correct + b.Correct; Count = a.Count + b.Count }

    /// The empty statistics.
    static member Zero = { LossSum = 0.0; Correct = 0.0; Count = 0 }
