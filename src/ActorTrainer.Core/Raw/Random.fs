namespace ActorTrainer.Core

open System

/// Seeded random arrays drawn from Rng (same seed ⇒ same values on every machine: uniform samples use only exact
/// arithmetic, normal samples the Marsaglia polar method with CanonicalMath.Log — no libm).
module internal RawRandom =
    let private toDType (op: string) (dt: DType) (shape: int[]) (v: float[]) : NDArray =
        match dt with
        | Float64 -> NDArray.Raw(v, Array.copy shape)
        | Float32 -> NDArray.Raw(Array.map float32 v, Array.copy shape)
        | d -> invalidArg "dtype" (sprintf "%s: dtype must be float32 or float64, got %s" op (DType.name d))

    /// Uniform samples in [low, high) of the shape; low < high required.
    let uniform (shape: int[]) (low: float) (high: float) (seed: int) (dt: DType) : NDArray =
        Shape.validate "random_uniform" shape
        if not (low < high) then invalidArg "high" (sprintf "random_uniform: low (%g) must be < high (%g)" low high)
        let r = Rng.OfParts [| int64 seed; 0x7E45L |]
        let v = Array.init (Shape.size shape) (fun _ -> low + (high - low) * r.NextDouble())
        toDType "random_uniform" dt shape v

    /// Normal samples N(mean, std²) of the shape; std ≥ 0 required.
    let normal (shape: int[]) (mean: float) (std: float) (seed: int) (dt: DType) : NDArray =
        Shape.validate "random_normal" shape
        if not (std >= 0.0) then invalidArg "std" (sprintf "random_normal: std must be >= 0, got %g" std)
        let v = Array.zeroCreate<float> (Shape.size shape)
        if std = 0.0 then Array.fill v 0 v.Length mean
        else
            let r = Rng.OfParts [| int64 seed; 0x7E45L |]
            for i in 0 .. v.Length - 1 do v.[i] <- mean + std * r.NextNormal()
        toDType "random_normal" dt shape v
