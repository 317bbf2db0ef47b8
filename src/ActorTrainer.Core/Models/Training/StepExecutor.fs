namespace ActorTrainer.Core

open System

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
    { /// The compiled model.
      Plan: ModelPlan
      /// The weights' home, in Plan.WeightShapes order, each flat float32 row-major.
      Weights: float32[][]
      /// The optimizer; its iterations and slots advance with every step.
      Optimizer: Optimizer
      /// The training data.
      Train: ArrayData
      /// Samples per optimizer step.
      BatchSize: int
      /// Fixed split of each batch for the gradient sum.
      ShardsPerBatch: int
      /// Seed of shuffling and dropout.
      Seed: int
      /// Reshuffle the samples every epoch (seeded by Seed and epoch).
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
    /// The current weights in plan order: a view, valid until the next step; do not modify. Once the run has failed
    /// an executor may give the last weights it holds (not the run's last step: weights kept elsewhere, e.g. on ps nodes).
    abstract Weights: float32[][]
    /// Replaces the weights (values copied; shapes as the plan's).
    abstract SetWeights: float32[][] -> unit
    /// Optimizer iterations and a copy of its slots, valid until the next OptimizerState call (an executor may refill
    /// the same arrays then: copy what you keep longer). Where Weights may not be the last step's once the run has
    /// failed, throws the run's failure then, so that Weights read before it and this state are of one step (a
    /// checkpoint reads them in that order).
    abstract OptimizerState: unit -> struct (int64 * float32[][][])
    /// Number of updates applied to the weights (the parameter server's version).
    abstract Version: int64
    /// Async gradients rejected as too stale so far (including those of a resumed run).
    abstract StaleRejected: int64

/// A sync executor that can open the next batch of the epoch as soon as the current one is applied, before the loop
/// asks for it (the actor runtime: its parameter server opens it, so the hand-over through the loop's thread is off
/// the critical path). The weights are the same as with NextStep alone.
type IStepLookahead =
    /// NextStep; and the loop's next step will be NextStep or NextStepOpeningNext for the following batch of this
    /// epoch, with nothing before it that reads the weights' values or writes the weights or the optimizer (no
    /// BeginEpoch, Drain, SetWeights or OptimizerState). The fit loop promises this only when every callback's batch
    /// hooks are read-only and no checkpoint or epoch end follows; a stop requested meanwhile waits for that step.
    /// A step that throws TrainingDivergedException opens nothing: the loop may stop right after it. When a callback
    /// throws while a batch is open ahead, the loop takes that step (NextStep) before it reads the weights, so a
    /// failed fit leaves them whole — one step past the failing batch.
    abstract NextStepOpeningNext: unit -> StepOutcome

/// An executor that evaluates data where its weights live (a GPU executor: validation without copying the weights back).
type IStepEvaluator =
    /// Σ loss, Σ hits and count over all samples of d at the executor's current weights (inference mode).
    abstract Evaluate: data: ArrayData -> ShardStats

/// Inference passes on a device other than the CPU engine (the GPU backend): the same math as GradientEngine's
/// Predict / Evaluate, on weights in plan order.
[<AllowNullLiteral>]
type IInferenceBackend =
    /// Short name for logs ("cuda").
    abstract Name: string
    /// y = model(x): x (rows × plan.InputDim) row-major → (rows × plan.OutputDim), in chunks of batchSize rows.
    abstract Predict: plan: ModelPlan * weights: float32[][] * x: float32[] * rows: int * batchSize: int -> float32[]
    /// Σ loss, Σ hits and count over all samples of data, in chunks of batchSize rows (inference mode).
    abstract Evaluate: plan: ModelPlan * weights: float32[][] * data: ArrayData * batchSize: int -> ShardStats

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
