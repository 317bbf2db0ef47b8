namespace ActorTrainer.Core

open System
open System.IO
open System.Threading

/// How fit runs, beyond the model and its data (Keras `fit` arguments plus resume and checkpoints).
[<Sealed; AllowNullLiteral>]
type FitOptions() =
    /// Epochs to train in total (a resumed run continues up to this count).
    member val Epochs = 1 with get, set
    /// Samples per optimizer step.
    member val BatchSize = 32 with get, set
    /// Reshuffle the samples every epoch (seeded by seed and epoch).
    member val Shuffle = true with get, set
    /// Seed of shuffling and dropout.
    member val Seed = 1 with get, set
    /// Fixed split of each batch for the gradient sum (part of the determinism contract).
    member val ShardsPerBatch = Batching.DefaultShardsPerBatch with get, set
    /// Validation data (evaluated at every epoch end) or null.
    member val Validation : ArrayData = null with get, set
    /// 0 = print nothing, 1 = progress bar, 2 = one line per epoch.
    member val Verbose = 1 with get, set
    /// Where the progress bar goes (Console.Out when null).
    member val Output : TextWriter = null with get, set
    /// Checkpoints go here (null: none).
    member val Checkpoints : ICheckpointSink = null with get, set
    /// Also checkpoint every this many global steps (sync executors; 0: only at epoch ends and when stopping).
    member val CheckpointEverySteps = 0 with get, set
    /// Continue from this checkpoint (null: start fresh).
    member val Resume : FitCheckpoint = Unchecked.defaultof<FitCheckpoint> with get, set
    /// Cancellation: finish the current step, checkpoint, return with Interrupted = true.
    member val Cancellation = CancellationToken.None with get, set
    /// Where steps run (null: in-process).
    member val Runtime : IStepRuntime = null with get, set

/// Outcome of fit: per-epoch logs (including epochs restored from a checkpoint), global steps done, whether it was
/// cancelled, steps/s of this run, async gradients rejected, workers used.
type FitResult =
    { /// Logs of every finished epoch, in order, those restored from FitOptions.Resume included.
      Epochs: EpochLogs[]
      /// The run's History callback (Keras `History`: its History dictionary holds each key's per-epoch values).
      History: History
      /// Optimizer steps applied in total when fit returned (global steps, a resumed run's earlier ones included).
      Steps: int64
      /// True when FitOptions.Cancellation stopped fit before its last epoch finished.
      Interrupted: bool
      /// Steps of this run per wall-clock second of this run.
      StepsPerSecond: float
      /// Asynchronous gradients rejected as too stale (0 in sync mode).
      StaleGradientsRejected: int64
      /// Gradient workers the step executor started.
      Workers: int }
