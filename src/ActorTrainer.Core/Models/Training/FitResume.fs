namespace ActorTrainer.Core

open System

/// Where fit starts: fresh (epoch 0, the optimizer's iteration count as global step) or a validated checkpoint.
module FitResume =

    let private checkWeights (plan: ModelPlan) (weights: float32[][]) =
        let shapes = plan.WeightShapes
        if isNull weights || weights.Length <> shapes.Length then
            raise (CheckpointException(sprintf "checkpoint weights: the model expects %d weight arrays but got %d (the model layers differ from the checkpointed run's)"
                                           shapes.Length (if isNull weights then 0 else weights.Length)))
        for i in 0 .. shapes.Length - 1 do
            let want = Array.fold (*) 1 shapes.[i]
            if isNull weights.[i] || weights.[i].Length <> want then
                raise (CheckpointException(sprintf "checkpoint weights: weight %d has %d elements but shape (%s) needs %d (the model layers differ from the checkpointed run's)"
                                               i (if isNull weights.[i] then 0 else weights.[i].Length) (String.Join(", ", shapes.[i])) want))

    let private checkPosition (job: StepJob) (r: FitCheckpoint) =
        let steps = Batching.batchCount job.Train.Count job.BatchSize
        if r.Epoch < 0 || r.StepInEpoch < 0 || r.StepInEpoch >= steps || r.GlobalStep < 0L then
            raise (CheckpointException(sprintf "checkpoint position epoch %d, step %d (global %d) is invalid for %d steps per epoch" r.Epoch r.StepInEpoch r.GlobalStep steps))
        if isNull r.History || r.History.Length <> r.Epoch then
            raise (CheckpointException(sprintf "checkpoint history has %d epochs but its position is epoch %d" (if isNull r.History then 0 else r.History.Length) r.Epoch))

    /// The checkpoint records the samples of its epoch done so far: with every step a whole batch (sync, no stale
    /// gradient rejected) they are StepInEpoch × the batch size it ran with.
    let private checkBatchSize (job: StepJob) (r: FitCheckpoint) =
        if r.StepInEpoch > 0 && r.StaleGradientsRejected = 0L && r.EpochStats.Count % r.StepInEpoch = 0
           && r.EpochStats.Count <> r.StepInEpoch * job.BatchSize then
            raise (CheckpointException(sprintf "checkpoint was written with BatchSize %d (%d samples in its %d steps of epoch %d) but BatchSize is %d; resuming would not continue the same run"
                                           (r.EpochStats.Count / r.StepInEpoch) r.EpochStats.Count r.StepInEpoch (r.Epoch + 1) job.BatchSize))

    let private checkSlots (r: FitCheckpoint) =
        for i in 0 .. r.OptimizerSlots.Length - 1 do
            for slot in r.OptimizerSlots.[i] do
                if i >= r.Weights.Length || slot.Length <> r.Weights.[i].Length then
                    raise (CheckpointException(sprintf "checkpoint optimizer slot of weight %d has %d elements but the weight has %d"
                                                   i slot.Length (if i < r.Weights.Length then r.Weights.[i].Length else 0)))

    /// Throws CheckpointException (an input error) when `r` cannot continue `job`: other layers, seed, optimizer,
    /// an impossible position, or optimizer slots that do not fit the weights.
    let validate (job: StepJob) (r: FitCheckpoint) =
        checkWeights job.Plan r.Weights
        if r.Seed <> job.Seed then
            raise (CheckpointException(sprintf "checkpoint seed %d differs from the job seed %d; resuming would not continue the same run" r.Seed job.Seed))
        if r.OptimizerName <> job.Optimizer.Name then
            raise (CheckpointException(sprintf "checkpoint optimizer '%s' differs from the job optimizer '%s'" r.OptimizerName job.Optimizer.Name))
        checkPosition job r
        checkBatchSize job r
        checkSlots r

    /// The start position of fit: opts.Resume after validation (its weights are copied into job.Weights and the
    /// optimizer state is loaded), else a fresh start. The result's Weights are job.Weights, the weights' one home.
    let start (job: StepJob) (opts: FitOptions) : FitCheckpoint =
        let r = opts.Resume
        if isNull (box r) then
            { Seed = job.Seed; Epoch = 0; StepInEpoch = 0; GlobalStep = job.Optimizer.Iterations; EpochStats = ShardStats.Zero
              Weights = job.Weights; OptimizerName = job.Optimizer.Name; OptimizerIterations = job.Optimizer.Iterations
              OptimizerSlots = [||]; History = [||]; StaleGradientsRejected = 0L }
        else
            if r.Epoch > opts.Epochs || (r.Epoch = opts.Epochs && r.StepInEpoch > 0) then
                raise (ArgumentException(sprintf "resume: the checkpoint is in epoch %d (step %d of it) but Epochs is %d; set Epochs to at least %d to finish that epoch"
                                             (r.Epoch + 1) r.StepInEpoch opts.Epochs (r.Epoch + 1), "Epochs"))
            validate job r
            Weights.checkedCopyInto "resume" r.Weights job.Weights
            job.Optimizer.LoadState(r.OptimizerIterations, r.OptimizerSlots)
            { r with Weights = job.Weights }
