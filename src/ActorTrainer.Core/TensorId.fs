namespace ActorTrainer.Core

open System

/// Process-wide unique tensor ids.
module internal TensorId =
    let private counter = ref 0L
    /// The next id (thread-safe, strictly increasing).
    let next () = Threading.Interlocked.Increment(&counter.contents)
