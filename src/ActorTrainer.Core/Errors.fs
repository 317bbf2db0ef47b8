namespace ActorTrainer.Core

open System

/// Base of every error caused by what the user handed us — a file, a config key, a value, a shape — rather than
/// by a bug. The message names the thing at fault; command-line front ends map it to exit code 2 and one line.
/// Loaders never let anything else escape for bad input.
type InputException(message: string, inner: exn) =
    inherit Exception(message, inner)
    new(message: string) = InputException(message, null)

/// A data file (IDX images/labels, PNG) that is malformed, truncated, too large, or whose values are out of range.
type DataFormatException(message: string, inner: exn) =
    inherit InputException(message, inner)
    new(message: string) = DataFormatException(message, null)

/// A saved model (config.json, model.safetensors, optimizer.safetensors) that is malformed or inconsistent.
type ModelFileException(message: string, inner: exn) =
    inherit InputException(message, inner)
    new(message: string) = ModelFileException(message, null)

/// A checkpoint that is corrupt, truncated, or does not match the run it is resumed into.
type CheckpointException(message: string, inner: exn) =
    inherit InputException(message, inner)
    new(message: string) = CheckpointException(message, null)

/// A request whose size exceeds what can be represented (int32 element counts, 2 GB arrays) or what memory holds;
/// the message names the size asked for in bytes.
type ResourceLimitException(message: string, inner: exn) =
    inherit InputException(message, inner)
    new(message: string) = ResourceLimitException(message, null)
