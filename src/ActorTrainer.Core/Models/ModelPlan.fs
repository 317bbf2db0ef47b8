namespace ActorTrainer.Core

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

/// A compiled model: input width, layers, loss. Weights are passed separately, in layer order (kernel, bias).
type ModelPlan =
    { InputDim: int
      Layers: PlanLayer[]
      Loss: Loss }

    /// Width of the model output.
    member p.OutputDim =
        p.Layers |> Array.fold (fun w l -> match l with PlanLayer.Dense(_, u, _, _) -> u | _ -> w) p.InputDim

    /// Shapes of the weights the plan expects, in order.
    member p.WeightShapes =
        [| for l in p.Layers do
             match l with
             | PlanLayer.Dense(i, u, b, _) ->
                 yield [| i; u |]
                 if b then yield [| u |]
             | _ -> () |]

    /// Number of values of each weight tensor (the product of its shape), in order.
    member p.WeightSizes = p.WeightShapes |> Array.map (Array.fold (*) 1)

/// Loss sum, metric hits and sample count of one shard (sums, so shards and batches add up exactly).
[<Struct>]
type ShardStats =
    { LossSum: float
      Correct: float
      Count: int }

    /// Component-wise sum.
    static member (+)(a: ShardStats, b: ShardStats) =
        { LossSum = a.LossSum + b.LossSum; Correct = a.Correct + b.Correct; Count = a.Count + b.Count }

    /// The empty statistics.
    static member Zero = { LossSum = 0.0; Correct = 0.0; Count = 0 }
