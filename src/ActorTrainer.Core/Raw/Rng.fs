namespace ActorTrainer.Core

open System

/// The one random number generator of the library: SplitMix64 (Steele, Lea & Flood, OOPSLA 2014), counter-based.
/// Value i of the stream with key k is mix64(k + i), so any element can be drawn on its own (dropout masks on any
/// worker) and sequential draws are a counter (initializers, shuffling, random tensors). Only integer arithmetic,
/// exact float scaling and CanonicalMath: the same seed gives the same values on every machine and ISA.
[<Sealed>]
type Rng(key: uint64) =
    let mutable counter = 0UL
    let mutable spare = nan

    /// SplitMix64 output function: mix64(z) = finalise(z + γ), γ = 0x9E3779B97F4A7C15.
    static member Mix64(z0: uint64) =
        let mutable z = z0 + 0x9E3779B97F4A7C15UL
        z <- (z ^^^ (z >>> 30)) * 0xBF58476D1CE4E5B9UL
        z <- (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
        z ^^^ (z >>> 31)

    /// A stream key from a list of integers (seed, epoch, purpose, ...): h ← mix64(h ⊕ part), h₀ = 0x5EED.
    static member Key(parts: int64[]) : uint64 =
        let mutable h = 0x5EEDUL
        for p in parts do h <- Rng.Mix64(h ^^^ uint64 p)
        h

    /// Uniform in [0, 1) with 53 random bits: value `index` of stream `key`, (mix64(key + index) ≫ 11)·2⁻⁵³.
    static member Unit(key: uint64, index: uint64) : float =
        float (Rng.Mix64(key + index) >>> 11) * (1.0 / 9007199254740992.0)

    /// A sequential generator on the stream keyed by `parts` (see Key).
    static member OfParts(parts: int64[]) = Rng(Rng.Key parts)

    /// The next 64 random bits.
    member _.NextUInt64() =
        let v = Rng.Mix64(key + counter)
        counter <- counter + 1UL
        v

    /// Uniform in [0, 1) (53 bits).
    member r.NextDouble() = float (r.NextUInt64() >>> 11) * (1.0 / 9007199254740992.0)

    /// Uniform integer in [0, n), n ≥ 1: the high 64 bits of a 64×64-bit product (Lemire), bias ≤ n/2⁶⁴.
    member r.NextInt(n: int) : int =
        if n < 1 then raise (ArgumentOutOfRangeException("n", n, "n must be >= 1"))
        let mutable low = 0UL
        int (Math.BigMul(r.NextUInt64(), uint64 n, &low))

    /// Standard normal N(0, 1): Marsaglia's polar method with CanonicalMath.Log (pairs; the second is kept).
    member r.NextNormal() : float =
        if not (Double.IsNaN spare) then
            let v = spare
            spare <- nan
            v
        else
            let mutable result = nan
            while Double.IsNaN result do
                let u = 2.0 * r.NextDouble() - 1.0
                let w = 2.0 * r.NextDouble() - 1.0
                let s = u * u + w * w
                if s > 0.0 && s < 1.0 then
                    let f = Math.Sqrt(-2.0 * ActorTrainer.Kernels.CanonicalMath.Log s / s)
                    spare <- w * f
                    result <- u * f
            result
