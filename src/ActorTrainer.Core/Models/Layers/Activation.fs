namespace ActorTrainer.Core

open System.Runtime.InteropServices

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
        PlanLayer.Activation act
    override _.ConfigEntries = ConfigEntryForms.ofList [ "activation", box act.Name ]

    /// Reads an Activation entry: "activation" (required).
    static member internal FromConfig(c: LayerConfig) : Layer = ActivationLayer(ConfigFields.activation c None, c.Name) :> Layer

    /// Class name and config reader for config.json.
    static member internal Registration =
        { ClassName = "Activation"
          Fields = [ "activation" ]
          NullFields = []
          Parse = ActivationLayer.FromConfig }
