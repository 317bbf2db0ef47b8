namespace ActorTrainer.Core

open System

/// Gradual learning-rate warm-up (Goyal et al. 2017, "Accurate, Large Minibatch SGD", §2.2): before every batch the
/// optimizer's learning rate is set to a pure function of (epoch, batch in epoch, steps per epoch), so a run resumed
/// from a checkpoint gets exactly the learning rates of an uninterrupted one.
///   t = epoch·steps + batch,  W = warmupEpochs·steps,  lr(t) = base + (target − base)·(t / W) for t < W, else target.
/// The arithmetic is plain IEEE double (+ − × ÷ only); the optimizer applies float32(lr(t)).
type LearningRateWarmup(baseLearningRate: float, targetLearningRate: float, warmupEpochs: float) =
    inherit Callback()
    do
        if not (baseLearningRate > 0.0) || Double.IsInfinity baseLearningRate then
            raise (ArgumentOutOfRangeException("baseLearningRate", baseLearningRate, "the base learning rate must be a finite number > 0"))
        if not (targetLearningRate > 0.0) || Double.IsInfinity targetLearningRate then
            raise (ArgumentOutOfRangeException("targetLearningRate", targetLearningRate, "the target learning rate must be a finite number > 0"))
        if not (warmupEpochs >= 0.0) || Double.IsInfinity warmupEpochs then
            raise (ArgumentOutOfRangeException("warmupEpochs", warmupEpochs, "warm-up epochs must be a finite number >= 0"))
    let mutable epoch = 0
    let mutable steps = 1

    /// Learning rate at step 0 of the warm-up (the configured, unscaled learning rate).
    member _.BaseLearningRate = baseLearningRate
    /// Learning rate from the end of the warm-up on (base·k under linear scaling).
    member _.TargetLearningRate = targetLearningRate
    /// Length of the warm-up in epochs (may be fractional; 0 = the target from the first step).
    member _.WarmupEpochs = warmupEpochs

    /// lr(t) = base + (target − base)·(t / W) with t = epoch·stepsPerEpoch + batch, W = warmupEpochs·stepsPerEpoch,
    /// for t < W; target otherwise. Pure: depends on the arguments and the constructor's values only.
    member _.LearningRateAt(epoch: int, batch: int, stepsPerEpoch: int) : float =
        if epoch < 0 then raise (ArgumentOutOfRangeException("epoch", epoch, "epoch must be >= 0"))
        if batch < 0 then raise (ArgumentOutOfRangeException("batch", batch, "batch must be >= 0"))
        if stepsPerEpoch < 1 then raise (ArgumentOutOfRangeException("stepsPerEpoch", stepsPerEpoch, "steps per epoch must be >= 1"))
        let t = float epoch * float stepsPerEpoch + float batch
        let w = warmupEpochs * float stepsPerEpoch
        if t < w then baseLearningRate + (targetLearningRate - baseLearningRate) * (t / w) else targetLearningRate

    /// Remembers the epoch and its number of steps (fit calls this also when it resumes mid-epoch).
    override _.OnEpochBegin(e, n) =
        epoch <- e
        steps <- max 1 n

    /// Sets the optimizer's learning rate to LearningRateAt(epoch, batch, steps) before the step runs.
    override c.OnTrainBatchBegin batch =
        c.Model.Optimizer.LearningRate <- c.LearningRateAt(epoch, batch, steps)

    // after the warm-up the rate stops changing: the actor runtime may then open each batch ahead
    interface IBatchLearningRate with
        member c.LearningRateAt(e, b, n) = c.LearningRateAt(e, b, n)
