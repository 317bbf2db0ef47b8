namespace ActorTrainer.Core

open System
open System.Collections.Generic

/// Metrics of one finished epoch (Epoch is 0-based): mean training loss and accuracy over the epoch's samples,
/// validation loss/accuracy when validation data was given, wall-clock seconds, and every key of the epoch's logs
/// as the callbacks saw them (Logs). Equality is by value: the numeric fields as a record compares them (NaN equals
/// NaN), Logs key by key in order with bitwise-equal values (null equals only null).
[<CustomEquality; NoComparison>]
type EpochLogs =
    { /// 0-based index of the epoch.
      Epoch: int
      /// Mean training loss over the epoch's samples (Keras `loss`); NaN when a step diverged.
      Loss: float
      /// Training accuracy: the fraction of the epoch's samples predicted right (Keras `accuracy`).
      Accuracy: float
      /// Mean loss on FitOptions.Validation at the epoch's end (Keras `val_loss`); null without validation data.
      ValLoss: Nullable<float>
      /// Accuracy on FitOptions.Validation at the epoch's end (Keras `val_accuracy`); null without validation data.
      ValAccuracy: Nullable<float>
      /// Wall-clock seconds of the epoch in this run, validation included.
      Seconds: float
      /// Every key of the logs fit gave OnEpochEnd, in order: loss, metrics, val_*, then the keys callbacks added
      /// (IEpochLogs: LearningRateScheduler's learning_rate). Null when not known (an epoch of an older checkpoint):
      /// then the keys are loss, the metrics and val_* from the fields above.
      Logs: IReadOnlyDictionary<string, float> }

    static member private SameLogs(a: IReadOnlyDictionary<string, float>, b: IReadOnlyDictionary<string, float>) =
        if isNull a || isNull b then isNull a && isNull b
        else
            a.Count = b.Count
            && Seq.forall2 (fun (x: KeyValuePair<string, float>) (y: KeyValuePair<string, float>) ->
                                x.Key = y.Key && BitConverter.DoubleToInt64Bits x.Value = BitConverter.DoubleToInt64Bits y.Value) a b

    /// Value equality (see the type).
    member e.Equals(f: EpochLogs) =
        e.Epoch = f.Epoch && e.Loss.Equals f.Loss && e.Accuracy.Equals f.Accuracy && e.ValLoss.Equals f.ValLoss
        && e.ValAccuracy.Equals f.ValAccuracy && e.Seconds.Equals f.Seconds && EpochLogs.SameLogs(e.Logs, f.Logs)

    override e.Equals(o: obj) = match o with :? EpochLogs as f -> e.Equals f | _ -> false

    override e.GetHashCode() =
        let mutable h = HashCode.Combine(e.Epoch, e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy, e.Seconds)
        if not (isNull e.Logs) then
            for kv in e.Logs do h <- HashCode.Combine(h, kv.Key, BitConverter.DoubleToInt64Bits kv.Value)
        h

    interface IEquatable<EpochLogs> with
        member e.Equals(f: EpochLogs) = e.Equals f

/// A batch produced a non-finite loss or gradient; training stopped before applying it (the last checkpoint
/// written is the last good state). Epoch, Step (global) and StepInEpoch are 0-based; the message counts epochs and
/// batches from 1, as the progress bar does.
type TrainingDivergedException(epoch: int, step: int64, stepInEpoch: int, what: string) =
    inherit Exception(sprintf "training diverged in epoch %d, batch %d of that epoch (counted from 1; %d %s had been applied): %s"
                              (epoch + 1) (stepInEpoch + 1) step (if step = 1L then "step" else "steps") what)
    /// 0-based epoch of the bad batch.
    member _.Epoch = epoch
    /// Global step of the bad batch.
    member _.Step = step
    /// 0-based step within the epoch of the bad batch.
    member _.StepInEpoch = stepInEpoch

/// The executor gave up the step in flight because fit was cancelled and the step cannot finish (e.g. every remote
/// gradient worker is lost): nothing of that step was applied, so the fit loop ends as cancelled after the last
/// completed step (its checkpoint, Interrupted = true) instead of waiting for workers that may never come.
type StepInterruptedException(what: string) =
    inherit Exception(what)

/// Everything the fit loop needs to continue a run exactly: the position of the next step (Epoch, StepInEpoch,
/// GlobalStep), the partial sums of that epoch, weights, optimizer iterations and slots, finished epochs' logs,
/// async gradients rejected so far, and the seed and optimizer it was trained with (checked on resume).
type FitCheckpoint =
    { /// Seed of the run (FitOptions.Seed); a resume with another seed is refused.
      Seed: int
      /// 0-based epoch of the next step.
      Epoch: int
      /// 0-based batch of the next step within Epoch (the batches of Epoch already applied).
      StepInEpoch: int
      /// Optimizer steps applied in total (the next step's global index).
      GlobalStep: int64
      /// Loss sum, hits and sample count of Epoch's steps applied so far.
      EpochStats: ShardStats
      /// The weights in ModelPlan.WeightShapes order (per Dense: kernel, bias), each flat float32 row-major.
      Weights: float32[][]
      /// Optimizer.Name of the run ("Adam", ...); a resume with another optimizer is refused.
      OptimizerName: string
      /// Optimizer.Iterations: update steps applied (Keras `optimizer.iterations`).
      OptimizerIterations: int64
      /// Optimizer slots as Optimizer.GetState gives them: [weight][slot (SlotNames order)][element]; [||] for a weight without.
      OptimizerSlots: float32[][][]
      /// Logs of the finished epochs (length Epoch).
      History: EpochLogs[]
      /// Asynchronous gradients rejected as too stale so far (0 in sync mode).
      StaleGradientsRejected: int64 }

/// Receives the fit loop's checkpoints (at epoch ends, every `CheckpointEverySteps` sync steps, and when training
/// stops early); the writer owns the file format and must write atomically.
[<AllowNullLiteral>]
type ICheckpointSink =
    /// Persists a checkpoint. Its weights are the live weights and its optimizer slots may be refilled for the next
    /// checkpoint (no copies): both valid during the call only; copy to keep.
    abstract Save: FitCheckpoint -> unit

/// A checkpoint sink that may still be writing when Save returns (in the background, from its own copy): fit calls
/// Flush before it returns or throws, so every checkpoint it saved is on disk, or its write failure raised, once fit
/// is over.
[<AllowNullLiteral>]
type IFlushingCheckpointSink =
    inherit ICheckpointSink
    /// Waits until every checkpoint saved so far is written; rethrows (once) the failure of a write.
    abstract Flush: unit -> unit
