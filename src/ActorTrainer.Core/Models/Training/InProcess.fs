namespace ActorTrainer.Core

open System

/// In-process synchronous data-parallel step: computes the S shard gradients of a batch one after another on
/// one engine and sums them in shard order — exactly what the actor runtime's parameter server does with
/// shard gradients arriving from any number of workers.
type SyncStepper(plan: ModelPlan, batchSize: int, shards: int) =
    do if shards < 1 then raise (ArgumentOutOfRangeException("shards", shards, "trainer.shards-per-batch must be >= 1"))
    let maxShardRows = (batchSize + shards - 1) / shards + 1
    let engine = GradientEngine(plan, max 1 maxShardRows)
    let inW = plan.InputDim
    let xBatch = Array.zeroCreate<float32> (batchSize * inW)
    let yBatch = Array.zeroCreate<int> batchSize
    let tBatch = Array.zeroCreate<float32> (batchSize * plan.OutputDim)
    let mutable shardGrads : float32[][] = null
    let mutable sum : float32[][] = null

    /// The engine (for inference passes).
    member _.Engine = engine

    /// Σ_s ∂(Σ_shard loss / rows)/∂w, summed in shard order, for samples idx[start..start+rows) of (x, labels | targets);
    /// returns the batch's statistics and the summed gradient (an internal buffer valid until the next call).
    /// `step` is the global step number (dropout seeds).
    member _.Gradients(weights: float32[][], x: float32[], labels: int[], targets: float32[],
                       idx: int[], start: int, rows: int, seed: int, step: int64) : struct (ShardStats * float32[][]) =
        if isNull sum then
            shardGrads <- Batching.zerosLike weights
            sum <- Batching.zerosLike weights
        Batching.gather x inW idx start rows (Span xBatch)
        if not (isNull labels) then Batching.gatherLabels labels idx start rows (Span yBatch)
        if not (isNull targets) then Batching.gather targets plan.OutputDim idx start rows (Span tBatch)
        let mutable stats = ShardStats.Zero
        let mutable first = true
        for s in 0 .. shards - 1 do
            let struct (a, c) = Batching.shardRange rows shards s
            if c > 0 then
                let st =
                    engine.ComputeGradients(weights, ReadOnlySpan(xBatch, a * inW, c * inW),
                                            (if isNull labels then ReadOnlySpan.Empty else ReadOnlySpan(yBatch, a, c)),
                                            (if isNull targets then ReadOnlySpan.Empty else ReadOnlySpan(tBatch, a * plan.OutputDim, c * plan.OutputDim)),
                                            c, rows, Batching.dropoutSeed seed step s, (if first then sum else shardGrads))
                if not first then Batching.addInto sum shardGrads
                first <- false
                stats <- stats + st
        struct (stats, sum)

/// Runs fit's steps on the calling thread with a SyncStepper, updating the weights' home (start.Weights) in place.
/// A non-finite loss or gradient throws TrainingDivergedException before anything is applied.
type InProcessExecutor(job: StepJob, start: FitCheckpoint) =
    let stepper = SyncStepper(job.Plan, job.BatchSize, job.ShardsPerBatch)
    let weights = start.Weights
    let train = job.Train
    let mutable order : int[] = [||]
    let mutable epoch = 0
    let mutable next = 0
    let mutable globalStep = 0L
    let mutable version = 0L

    interface IStepExecutor with
        member _.Workers = 1
        member _.WorkersAlive = 1
        member _.Asynchronous = false
        member _.BeginEpoch(e, startStep, firstGlobalStep) =
            order <- Batching.permutation job.Seed e train.Count job.Shuffle
            epoch <- e
            next <- startStep
            globalStep <- firstGlobalStep
        member _.NextStep() =
            let b = next
            let start = b * job.BatchSize
            let rows = min job.BatchSize (train.Count - start)
            let struct (stats, g) = stepper.Gradients(weights, train.X, train.Labels, train.Targets, order, start, rows, job.Seed, globalStep)
            if not (Double.IsFinite stats.LossSum) then
                raise (TrainingDivergedException(epoch, globalStep, b, sprintf "loss sum is %g" stats.LossSum))
            if not (Batching.allFinite g) then
                raise (TrainingDivergedException(epoch, globalStep, b, "gradients contain NaN or Inf"))
            job.Optimizer.Apply(weights, g)
            next <- b + 1
            globalStep <- globalStep + 1L
            version <- version + 1L
            { StepInEpoch = b; Stats = stats }
        member _.Drain() = [||]
        member _.Weights = weights
        member _.SetWeights w = Weights.checkedCopyInto "set_weights" w weights
        member _.OptimizerState() = let (it, slots) = job.Optimizer.GetState() in struct (it, slots)
        member _.Version = version
        member _.StaleRejected = 0L
        member _.Dispose() = ()

/// The in-process runtime: one executor on the calling thread.
[<Sealed>]
type InProcessRuntime() =
    /// The shared instance.
    static member val Instance = InProcessRuntime()
    interface IStepRuntime with
        member _.Name = "in-process"
        member _.Start(job, start) = new InProcessExecutor(job, start) :> IStepExecutor
