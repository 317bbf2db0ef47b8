namespace ActorTrainer.Core

open System
open System.Collections.Generic
open System.Diagnostics

/// The model being trained, as the fit loop sees it: callbacks get it as their IModelHandle; while fit runs its
/// weights live in the executor (Attach exec), and Attach null hands them back.
type ITrainee =
    inherit IModelHandle
    /// Routes weight reads and writes to `executor` while fit runs (null: fit is over).
    abstract Attach: executor: IStepExecutor -> unit

/// A trainee without a model object (the runtime's plan-and-weights API): weights live in the executor and are
/// returned by fit (ModelCheckpoint, which saves a Sequential, refuses it).
[<Sealed>]
type WeightsTrainee(optimizer: Optimizer) =
    let mutable exec : IStepExecutor = null
    let mutable stop = false
    let mutable final : float32[][] = null
    /// The weights when fit ended (null before).
    member _.FinalWeights = final
    interface ITrainee with
        member _.Attach e =
            if isNull e && not (isNull exec) then final <- Weights.copy exec.Weights
            exec <- e
        member _.StopTraining with get () = stop and set v = stop <- v
        member _.Optimizer = optimizer
        member _.GetWeights() = if isNull exec then Weights.copy final else Weights.copy exec.Weights
        member _.SetWeights w = if isNull exec then final <- Weights.copy w else exec.SetWeights w

/// The one training loop (Keras `fit`): epochs, callbacks, history, validation, cancellation, checkpoints and
/// resume; the optimizer steps run in an IStepExecutor (in-process or actors), so every runtime behaves the same.
type FitLoop private (job: StepJob, opts: FitOptions, metricNames: string[], trainee: ITrainee,
                      callbacks: ICallback list, exec: IStepExecutor, start: FitCheckpoint) =
    let steps = Batching.batchCount job.Train.Count job.BatchSize
    let history = ResizeArray<EpochLogs>(start.History)
    let logs = Dictionary<string, float>()
    let epochWatch = Stopwatch()
    let runWatch = Stopwatch.StartNew()
    let mutable epoch = start.Epoch
    let mutable stepInEpoch = start.StepInEpoch
    let mutable globalStep = start.GlobalStep
    let mutable stats = start.EpochStats
    let mutable stepsThisRun = 0L
    let mutable cancelled = false
    let mutable diverged = false
    let mutable evaluator : Evaluator option = None
    let mutable opened = false      // the executor opened the next batch ahead: it runs even if a stop was requested
    // sync executors that open the next batch themselves, when no callback's batch hook can touch the model other
    // than by setting a learning rate known in advance (checked per batch: sameRateNext)
    let schedules = callbacks |> List.choose (function :? IBatchLearningRate as s -> Some s | _ -> None)
    let lookahead =
        match exec with
        | :? IStepLookahead as l when not exec.Asynchronous
                                   && callbacks |> List.forall (fun c -> c :? IBatchLearningRate || CallbackHooks.batchHooksReadOnly c) -> ValueSome l
        | _ -> ValueNone

    let stopRequested () =
        if opts.Cancellation.IsCancellationRequested then cancelled <- true
        cancelled || trainee.StopTraining

    /// Every learning-rate schedule gives batch b + 1 of this epoch the rate of batch b (its hook writes nothing new).
    member private _.SameRateNext(b: int) =
        schedules |> List.forall (fun s -> s.LearningRateAt(epoch, b + 1, steps) = s.LearningRateAt(epoch, b, steps))

    member private _.Checkpoint() =
        if not (isNull opts.Checkpoints) then
            // the weights first: where the run failed while they were read they may be the last ones the executor
            // pulled (ps nodes), and OptimizerState then throws the failure, so no checkpoint pairs them with newer slots
            let weights = exec.Weights
            let struct (iterations, slots) = exec.OptimizerState()
            opts.Checkpoints.Save
                { Seed = job.Seed; Epoch = epoch; StepInEpoch = stepInEpoch; GlobalStep = globalStep; EpochStats = stats
                  Weights = weights; OptimizerName = job.Optimizer.Name; OptimizerIterations = iterations
                  OptimizerSlots = slots; History = history.ToArray(); StaleGradientsRejected = exec.StaleRejected }

    member private _.Record(o: StepOutcome) =
        stats <- stats + o.Stats
        stepInEpoch <- stepInEpoch + 1
        globalStep <- globalStep + 1L
        stepsThisRun <- stepsThisRun + 1L
        Evaluation.logs "" metricNames stats logs
        for c in callbacks do c.OnTrainBatchEnd(o.StepInEpoch, logs)

    member private _.Validate() : ShardStats voption =
        match opts.Validation with
        | null -> ValueNone
        | v when v.Count = 0 -> ValueNone
        | v when (exec :? IStepEvaluator) -> ValueSome((exec :?> IStepEvaluator).Evaluate v)
        | v ->
            let e =
                match evaluator with
                | Some e -> e
                | None ->
                    let e = Evaluator(job.Plan, Evaluation.passRows job.BatchSize v.Count)
                    evaluator <- Some e
                    e
            ValueSome(e.Run(exec.Weights, v))

    /// A step diverged (nothing applied): callbacks see loss NaN at its batch end; unless one of them stops training
    /// (TerminateOnNaN), the exception propagates.
    member private _.OnDiverged(e: TrainingDivergedException) =
        logs.["loss"] <- nan
        for c in callbacks do c.OnTrainBatchEnd(e.StepInEpoch, logs)
        if not trainee.StopTraining then Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw()
        diverged <- true

    member private r.EndEpoch() =
        let n = float (max 1 stats.Count)
        let v = r.Validate()
        let finished = epoch
        let seconds = epochWatch.Elapsed.TotalSeconds
        logs.Clear()
        Evaluation.logs "" metricNames stats logs
        if diverged then logs.["loss"] <- nan
        match v with ValueSome s -> Evaluation.logs "val_" metricNames s logs | _ -> ()
        for c in callbacks do match c with :? IEpochLogs as l -> l.AddEpochLogs(finished, logs) | _ -> ()
        history.Add
            { Epoch = finished; Loss = (if diverged then nan else stats.LossSum / n); Accuracy = stats.Correct / n
              ValLoss = (match v with ValueSome s -> Nullable(s.LossSum / float (max 1 s.Count)) | _ -> Nullable())
              ValAccuracy = (match v with ValueSome s -> Nullable(s.Correct / float (max 1 s.Count)) | _ -> Nullable())
              Seconds = seconds; Logs = Dictionary<string, float>(logs) }
        epoch <- epoch + 1
        stepInEpoch <- 0
        stats <- ShardStats.Zero
        for c in callbacks do c.OnEpochEnd(finished, logs)
        if not diverged then r.Checkpoint()     // after a divergence the executor may be gone; the last checkpoint is good

    member private r.RunEpoch() =
        logs.Clear()        // Keras: batch logs hold the loss and metrics only, not the last epoch's val_*
        for c in callbacks do c.OnEpochBegin(epoch, steps)
        epochWatch.Restart()
        exec.BeginEpoch(epoch, stepInEpoch, globalStep)
        let every = int64 opts.CheckpointEverySteps
        while stepInEpoch < steps && (opened || not (stopRequested ())) do
            for c in callbacks do c.OnTrainBatchBegin stepInEpoch
            // open the next batch ahead only where nothing between the two reads or writes the weights or optimizer
            let ahead =
                lookahead.IsSome && stepInEpoch + 1 < steps && not (stopRequested ())
                && not (every > 0L && (globalStep + 1L) % every = 0L) && r.SameRateNext stepInEpoch
            opened <- false
            match (try ValueSome(if ahead then lookahead.Value.NextStepOpeningNext() else exec.NextStep())
                   with
                   | :? TrainingDivergedException as e -> r.OnDiverged e; ValueNone
                   | :? StepInterruptedException -> cancelled <- true; ValueNone) with
            | ValueSome o -> opened <- ahead; r.Record o
            | ValueNone -> ()
            if every > 0L && not exec.Asynchronous && globalStep % every = 0L && stepInEpoch < steps then r.Checkpoint()
        if stepInEpoch < steps && not diverged then
            for o in exec.Drain() do r.Record o
        // Keras: a callback's stop request still ends the epoch (with the batches done); a cancellation does not
        if stepInEpoch = steps || not cancelled then r.EndEpoch()

    /// Waits for the checkpoints a background sink is still writing (IFlushingCheckpointSink).
    member private _.FlushCheckpoints() =
        match opts.Checkpoints with
        | :? IFlushingCheckpointSink as s -> s.Flush()
        | _ -> ()

    member private r.Run() : FitResult =
        trainee.Attach exec
        let mutable flushed = false
        try
            for c in callbacks do
                c.SetModel trainee
                match c with :? IRuntimeCallback as rc -> rc.SetExecutor exec | _ -> ()
                match c with :? IFitParams as p -> p.SetParams opts.Epochs | _ -> ()
            for c in callbacks do c.OnTrainBegin()
            // a resumed fit: History starts with the checkpoint's epochs, the scheduler at the rate it had logged
            for e in start.History do
                let logs = FitLoop.LogsOf(e, metricNames)
                for c in callbacks do match c with :? IRestoreEpochLogs as r -> r.RestoreEpochLogs(e.Epoch, logs) | _ -> ()
            while epoch < opts.Epochs && not (stopRequested ()) do
                r.RunEpoch()
            if stepInEpoch > 0 && not diverged then r.Checkpoint()     // cancelled mid-epoch: resume continues here
            flushed <- true
            r.FlushCheckpoints()
            for c in callbacks do c.OnTrainEnd logs
        finally
            // an exception is on its way (it wins). A callback threw with the next batch opened ahead: that step is
            // taken (its update is applied or not, never half), so the weights below are whole
            if opened then
                opened <- false
                try exec.NextStep() |> ignore with _ -> ()
            // the checkpoints saved before it still land
            if not flushed then (try r.FlushCheckpoints() with _ -> ())
            // the weights of the last applied step, also when a step failed (a diverged step applies nothing), are in
            // their home already unless the executor kept its own arrays (async parameter server: copy-on-write)
            // (reading them may throw too: weights on ps nodes lost after the last step)
            try
                if not (Object.ReferenceEquals(exec.Weights, job.Weights)) then Weights.checkedCopyInto "fit" exec.Weights job.Weights
            finally
                trainee.Attach null
        let secs = runWatch.Elapsed.TotalSeconds
        { Epochs = history.ToArray(); History = (callbacks |> List.pick (function :? History as h -> Some h | _ -> None))
          Steps = globalStep; Interrupted = cancelled && epoch < opts.Epochs
          StepsPerSecond = (if secs > 0.0 then float stepsThisRun / secs else 0.0)
          StaleGradientsRejected = exec.StaleRejected; Workers = exec.Workers }

    /// The logs fit gave OnEpochEnd for a finished epoch: its Logs, or for an epoch without them (an older checkpoint)
    /// loss, each metric (the accuracy), then val_loss and val_ each metric when the epoch was validated.
    static member LogsOf(e: EpochLogs, metricNames: IReadOnlyList<string>) : IReadOnlyDictionary<string, float> =
        if not (isNull e.Logs) then e.Logs
        else
            let logs = Dictionary<string, float>()
            logs.["loss"] <- e.Loss
            for m in metricNames do logs.[m] <- e.Accuracy
            if e.ValLoss.HasValue then
                logs.["val_loss"] <- e.ValLoss.Value
                for m in metricNames do logs.["val_" + m] <- (if e.ValAccuracy.HasValue then e.ValAccuracy.Value else nan)
            logs :> IReadOnlyDictionary<string, float>

    /// Runs fit: starts an executor from opts.Runtime (in-process when null) at the start or resume position,
    /// trains up to opts.Epochs and returns the result; the trainee ends with the final weights. Callbacks get
    /// History first and a progress bar when opts.Verbose > 0.
    static member Run(job: StepJob, opts: FitOptions, metricNames: string[], trainee: ITrainee, callbacks: seq<ICallback>) : FitResult =
        let start = FitResume.start job opts
        let history = History()
        let out = if isNull opts.Output then Console.Out else opts.Output
        let cbs =
            [ yield history :> ICallback
              if opts.Verbose > 0 then
                  yield ProgbarLogger(opts.Epochs, out, opts.Verbose = 1 && not Console.IsOutputRedirected && Object.ReferenceEquals(out, Console.Out)) :> ICallback
              if not (isNull callbacks) then yield! callbacks ]
        let runtime = if isNull opts.Runtime then InProcessRuntime.Instance :> IStepRuntime else opts.Runtime
        use exec = runtime.Start(job, start)
        FitLoop(job, opts, metricNames, trainee, cbs, exec, start).Run()
