namespace ActorTrainer.Core

/// Fixed, platform-independent seed mixing (SplitMix64). Unlike System.HashCode, which .NET randomises per
/// process, seeds derived here from (seed, epoch, step, shard, layer) are the same in every process and machine.
module Seeds =
    /// SplitMix64 finaliser.
    let mix64 (z0: uint64) =
        let mutable z = z0 + 0x9E3779B97F4A7C15UL
        z <- (z ^^^ (z >>> 30)) * 0xBF58476D1CE4E5B9UL
        z <- (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
        z ^^^ (z >>> 31)

    /// A 64-bit seed from a list of integers.
    let derive (parts: int64[]) : int64 =
        let mutable h = 0x5EEDUL
        for p in parts do h <- mix64 (h ^^^ uint64 p)
        int64 h
