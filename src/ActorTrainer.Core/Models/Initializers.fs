namespace ActorTrainer.Core

open System
open System.Text.RegularExpressions

/// Keras weight initializers. Each produces a fresh float32 array for a shape, deterministically from a seed
/// (MathNet Mersenne Twister), so the same seed gives the same weights on every run and machine.
[<RequireQualifiedAccess>]
type Initializer =
    /// All zeros.
    | Zeros
    /// All ones.
    | Ones
    /// Constant value.
    | Constant of value: float
    /// U(minval, maxval).
    | RandomUniform of minval: float * maxval: float
    /// N(mean, stddev²).
    | RandomNormal of mean: float * stddev: float
    /// U(−l, l) with l = √(6 / (fan_in + fan_out)) (Keras default for Dense kernels).
    | GlorotUniform
    /// N(0, 2 / (fan_in + fan_out)) truncated at 2σ (Keras glorot_normal).
    | GlorotNormal
    /// U(−l, l) with l = √(6 / fan_in).
    | HeUniform
    /// N(0, 2 / fan_in) truncated at 2σ.
    | HeNormal

    /// Keras name, as used in configs.
    member i.Name =
        match i with
        | Zeros -> "zeros" | Ones -> "ones" | Constant _ -> "constant"
        | RandomUniform _ -> "random_uniform" | RandomNormal _ -> "random_normal"
        | GlorotUniform -> "glorot_uniform" | GlorotNormal -> "glorot_normal"
        | HeUniform -> "he_uniform" | HeNormal -> "he_normal"

    /// Allowed names, for error messages.
    static member Names =
        [| "zeros"; "ones"; "constant"; "random_uniform"; "random_normal"; "glorot_uniform"; "glorot_normal"; "he_uniform"; "he_normal" |]

    /// A Keras initializer name or class name in the spelling Names lists, as Keras' to_snake_case turns a class name
    /// into its alias: "GlorotUniform" → "glorot_uniform", "HeNormal" → "he_normal"; "he_normal" stays as it is.
    static member Canonical(name: string) =
        let s = Regex.Replace((if isNull name then "" else name.Trim()), "([^_])([A-Z][a-z0-9]+)", "$1_$2")
        Regex.Replace(s, "([a-z0-9])([A-Z])", "$1_$2").ToLowerInvariant()

    /// Parses a Keras initializer name ("glorot_uniform") or class name ("GlorotUniform") with default parameters
    /// (constant = 0, random_uniform = U(−0.05, 0.05), random_normal = N(0, 0.05²)); an unknown one is an
    /// ArgumentException quoting the name as given.
    static member Parse(name: string) =
        match Initializer.Canonical name with
        | "zeros" -> Zeros
        | "ones" -> Ones
        | "constant" -> Constant 0.0
        | "random_uniform" -> RandomUniform(-0.05, 0.05)
        | "random_normal" -> RandomNormal(0.0, 0.05)
        | "glorot_uniform" -> GlorotUniform
        | "glorot_normal" -> GlorotNormal
        | "he_uniform" -> HeUniform
        | "he_normal" -> HeNormal
        | _ -> raise (ArgumentException(sprintf "unknown initializer '%s' (allowed: %s, or their Keras class names such as GlorotUniform)" name (String.Join(", ", Initializer.Names)), "initializer"))

    /// Fresh values for a weight of the given shape; fans as Keras' compute_fans: (in, out) for a matrix, and for a
    /// kernel of rank r > 2 (receptive field × in × out) both multiplied by the receptive field's size.
    member i.Create(shape: int[], seed: int) : float32[] =
        let n = Array.fold (*) 1 shape
        let fanIn, fanOut =
            match shape.Length with
            | 0 -> 1, 1
            | 1 -> shape.[0], shape.[0]
            | r ->
                let receptive = Array.fold (*) 1 shape.[.. r - 3]
                shape.[r - 2] * receptive, shape.[r - 1] * receptive
        let rng () = Rng.OfParts [| int64 seed; 0x1A17L |]
        let uniform lo hi =
            let r = rng ()
            Array.init n (fun _ -> float32 (lo + (hi - lo) * r.NextDouble()))
        let truncNormal std =
            let r = rng ()
            Array.init n (fun _ ->
                let mutable v = r.NextNormal()
                while abs v > 2.0 do v <- r.NextNormal()
                float32 (v * std))
        match i with
        | Zeros -> Array.zeroCreate n
        | Ones -> Array.create n 1.0f
        | Constant v -> Array.create n (float32 v)
        | RandomUniform(lo, hi) -> uniform lo hi
        | RandomNormal(m, s) ->
            let r = rng ()
            Array.init n (fun _ -> float32 (m + s * r.NextNormal()))
        | GlorotUniform -> let l = sqrt (6.0 / float (fanIn + fanOut)) in uniform (-l) l
        | GlorotNormal -> truncNormal (sqrt (2.0 / float (fanIn + fanOut)) / 0.87962566103423978)
        | HeUniform -> let l = sqrt (6.0 / float fanIn) in uniform (-l) l
        | HeNormal -> truncNormal (sqrt (2.0 / float fanIn) / 0.87962566103423978)
