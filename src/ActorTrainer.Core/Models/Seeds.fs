namespace ActorTrainer.Core

/// Fixed, platform-independent seed mixing (SplitMix64). Unlike System.HashCode, which .NET randomises per
/// process, seeds derived here from (seed, epoch, step, shard, layer) are the same in every process and machine.
module Seeds =
    /// SplitMix64 output function (Rng.Mix64).
    let mix64 (z0: uint64) = Rng.Mix64 z0

    /// A 64-bit seed from a list of integers (Rng.Key).
    let derive (parts: int64[]) : int64 = int64 (Rng.Key parts)
