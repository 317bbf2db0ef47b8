namespace ActorTrainer.Core

open System
open System.IO
open System.Threading
open System.Security.Cryptography

/// Weights helpers shared by fit, checkpoints and the runtimes: weights are float32 arrays in plan order.
module Weights =
    /// SHA-256 (lower-case hex) of the float32 weights in order, little-endian — `weights_sha256` in summary.json.
    let sha256 (weights: float32[][]) =
        use h = IncrementalHash.CreateHash HashAlgorithmName.SHA256
        for w in weights do
            let bytes = Runtime.InteropServices.MemoryMarshal.AsBytes(ReadOnlySpan w)
            if BitConverter.IsLittleEndian then h.AppendData bytes
            else
                let copy = bytes.ToArray()
                for i in 0 .. 4 .. copy.Length - 4 do Array.Reverse(copy, i, 4)
                h.AppendData copy
        Convert.ToHexString(h.GetHashAndReset()).ToLowerInvariant()

    /// Deep copy.
    let copy (weights: float32[][]) = weights |> Array.map Array.copy

    /// dest[i] ← src[i] for every array; throws ShapeException naming `what` when the counts or sizes differ.
    let checkedCopyInto (what: string) (src: float32[][]) (dest: float32[][]) =
        if isNull src || src.Length <> dest.Length then
            raise (ShapeException(sprintf "%s: the model has %d weight arrays but %d were given" what dest.Length (if isNull src then 0 else src.Length)))
        for i in 0 .. dest.Length - 1 do
            if isNull src.[i] || src.[i].Length <> dest.[i].Length then
                raise (ShapeException(sprintf "%s: weight %d has %d values but %d were given" what i dest.[i].Length (if isNull src.[i] then 0 else src.[i].Length)))
        for i in 0 .. dest.Length - 1 do Array.Copy(src.[i], dest.[i], dest.[i].Length)

/// Samples as flat float32 rows plus integer labels (sparse losses) or float targets (rows × outputs).
[<Sealed; AllowNullLiteral>]
type ArrayData(x: float32[], features: int, labels: int[], targets: float32[], count: int) =
    /// Samples, row-major (Count × Features).
    member _.X = x
    /// Values per sample.
    member _.Features = features
    /// Integer labels (sparse losses) or null.
    member _.Labels = labels
    /// Float targets (Count × outputs) or null.
    member _.Targets = targets
    /// Number of samples.
    member _.Count = count

    /// Rows [start, start+count) as a new ArrayData (copies).
    member d.Slice(start: int, n: int) =
        ArrayData(Array.sub x (start * features) (n * features), features,
                  (if isNull labels then null else Array.sub labels start n),
                  (if isNull targets then null else let w = targets.Length / max 1 count in Array.sub targets (start * w) (n * w)), n)

    /// Samples with integer labels (e.g. MNIST images and digits).
    static member OfLabels(x: float32[], features: int, labels: int[]) = ArrayData(x, features, labels, null, labels.Length)

/// Metrics of one finished epoch (Epoch is 0-based): mean training loss and accuracy over the epoch's samples,
/// validation loss/accuracy when validation data was given, wall-clock seconds.
type EpochLogs =
    { Epoch: int
      Loss: float
      Accuracy: float
      ValLoss: Nullable<float>
      ValAccuracy: Nullable<float>
      Seconds: float }

/// A batch produced a non-finite loss or gradient; training stopped before applying it (the last checkpoint
/// written is the last good state). Epoch, Step (global) and StepInEpoch are 0-based.
type TrainingDivergedException(epoch: int, step: int64, stepInEpoch: int, what: string) =
    inherit Exception(sprintf "training diverged at epoch %d, step %d of the epoch (global step %d; 0-based): %s" epoch stepInEpoch step what)
    /// 0-based epoch of the bad batch.
    member _.Epoch = epoch
    /// Global step of the bad batch.
    member _.Step = step
    /// 0-based step within the epoch of the bad batch.
    member _.StepInEpoch = stepInEpoch

/// Everything the fit loop needs to continue a run exactly: the position of the next step (Epoch, StepInEpoch,
/// GlobalStep), the partial sums of that epoch, weights, optimizer iterations and slots, finished epochs' logs,
/// async gradients rejected so far, and the seed and optimizer it was trained with (checked on resume).
type FitCheckpoint =
    { Seed: int
      Epoch: int
      StepInEpoch: int
      GlobalStep: int64
      EpochStats: ShardStats
      Weights: float32[][]
      OptimizerName: string
      OptimizerIterations: int64
      OptimizerSlots: float32[][][]
      History: EpochLogs[]
      StaleGradientsRejected: int64 }

/// Receives the fit loop's checkpoints (at epoch ends, every `CheckpointEverySteps` sync steps, and when training
/// stops early); the writer owns the file format and must write atomically.
[<AllowNullLiteral>]
type ICheckpointSink =
    /// Persists a checkpoint. Its weights are the live weights (no copy): valid during the call only; copy to keep.
    abstract Save: FitCheckpoint -> unit

/// Position and statistics of one resolved optimizer step.
[<Struct>]
type StepOutcome =
    { /// 0-based index of the batch within its epoch.
      StepInEpoch: int
      /// Loss sum, hits and sample count of the batch.
      Stats: ShardStats }

/// What a step executor trains: the compiled plan, the weights' one home (plan.WeightShapes order: the model's
/// variable buffers, updated in place by the executor — or, when it must keep its own copies, written back when fit
/// ends), the optimizer (its state is advanced), the data and the fixed schedule (batch size, shards per batch,
/// seed, shuffle) that makes every executor produce the same weights in sync mode.
type StepJob =
    { Plan: ModelPlan
      Weights: float32[][]
      Optimizer: Optimizer
      Train: ArrayData
      BatchSize: int
      ShardsPerBatch: int
      Seed: int
      Shuffle: bool }

/// Runs fit's optimizer steps; the fit loop owns everything else (epochs, callbacks, validation, history,
/// cancellation, checkpoints). Not thread-safe: one loop drives it.
[<AllowNullLiteral>]
type IStepExecutor =
    inherit IDisposable
    /// Gradient workers started.
    abstract Workers: int
    /// Workers alive now (supervision's view).
    abstract WorkersAlive: int
    /// True when steps are applied as they arrive (async): batches are in flight concurrently and resolve in any order.
    abstract Asynchronous: bool
    /// Prepares epoch `epoch` from batch `startStep` (0, or later when resuming); `firstGlobalStep` is that batch's global step.
    abstract BeginEpoch: epoch: int * startStep: int * firstGlobalStep: int64 -> unit
    /// Runs the next step (sync: batches in order) or waits for the next one to resolve (async) and returns it.
    /// Throws TrainingDivergedException for a non-finite loss or gradient (nothing applied).
    abstract NextStep: unit -> StepOutcome
    /// Stops handing out batches of the epoch and returns the steps still in flight once they resolved (async);
    /// sync executors return none.
    abstract Drain: unit -> StepOutcome[]
    /// The current weights in plan order: a view, valid until the next step; do not modify.
    abstract Weights: float32[][]
    /// Replaces the weights (values copied; shapes as the plan's).
    abstract SetWeights: float32[][] -> unit
    /// Optimizer iterations and a copy of its slots.
    abstract OptimizerState: unit -> struct (int64 * float32[][][])
    /// Number of updates applied to the weights (the parameter server's version).
    abstract Version: int64
    /// Async gradients rejected as too stale so far (including those of a resumed run).
    abstract StaleRejected: int64

/// A callback that also reads the runtime (weight version, live workers, stale gradients): fit hands it the
/// executor before OnTrainBegin; read it only from the hooks (the loop's thread).
type IRuntimeCallback =
    inherit ICallback
    /// The executor of the run that is starting.
    abstract SetExecutor: IStepExecutor -> unit

/// Starts step executors: in-process (this thread) or on the actor runtime.
[<AllowNullLiteral>]
type IStepRuntime =
    /// Short name for logs and summaries ("in-process", "actors").
    abstract Name: string
    /// Starts an executor for a job at a start position (weights, global step, stale count: fresh or resumed).
    abstract Start: job: StepJob * start: FitCheckpoint -> IStepExecutor

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
    { Epochs: EpochLogs[]
      History: History
      Steps: int64
      Interrupted: bool
      StepsPerSecond: float
      StaleGradientsRejected: int64
      Workers: int }
