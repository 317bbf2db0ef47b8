namespace ActorTrainer.Core

open System
open System.Runtime.InteropServices
open ActorTrainer.Core.ModelJson

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
    /// Layer index that keys the mask (DropoutKernels.mask): the layer's position in the engine's plan, so the tape
    /// draws the engine's mask. Sequential.Plan sets it; default 0.
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
    override _.Plan _ = PlanLayer.Dropout rate
    override _.ConfigEntries = ConfigEntryForms.ofList [ "rate", box rate; "seed", (if seed.HasValue then box seed.Value else null) ]

    /// Reads a Dropout entry: "rate" (required, in [0, 1)) and an optional integer "seed" (null or absent: none).
    static member internal FromConfig(c: LayerConfig) : Layer =
        let seed = if isNull c.Config.["seed"] then Nullable() else Nullable(integer c.Where c.Config "seed" None Int32.MinValue Int32.MaxValue)
        Dropout(numIn c.Where c.Config "rate" None 0.0 1.0 true, seed, c.Name) :> Layer

    /// Class name and config reader for config.json.
    static member internal Registration =
        { ClassName = "Dropout"
          Fields = [ "rate"; "seed" ]
          NullFields = [ "noise_shape" ]
          Parse = Dropout.FromConfig }
