namespace ActorTrainer.Core

open System

/// Part p of n of folding a wave of shard gradients into the sum: over the p-th contiguous share of every tensor,
/// sum += g_j for the wave's gradients in shard order, and on the step's last wave a finiteness check of the sum fused
/// into the last add. Element-wise, so the bits do not depend on n or on which thread runs which part.
[<Sealed>]
type internal ShardFold() =
    let mutable sum : float32[][] = null
    let adds = ResizeArray<float32[][]>()
    let mutable check = false
    let mutable finite : bool[] = [||]

    /// Prepares a fold of `grads` (in shard order) into `into` over `parts` parts; `last`: check the sum too.
    member _.Set(into: float32[][], grads: ResizeArray<float32[][]>, last: bool, parts: int) =
        sum <- into
        adds.Clear()
        adds.AddRange grads
        check <- last
        if finite.Length < parts then finite <- Array.zeroCreate parts
        Array.Fill(finite, true)

    /// After a checked fold: true when every value of the sum is finite.
    member _.SumFinite = Array.forall id finite

    /// Drops the references to the step's buffers.
    member _.Clear() = sum <- null; adds.Clear()

    interface ActorTrainer.Kernels.IPartitionedWork with
        member _.Run(part, parts) =
            let mutable ok = true
            for i in 0 .. sum.Length - 1 do
                let n = sum.[i].Length
                let a = int (int64 n * int64 part / int64 parts)
                let b = int (int64 n * int64 (part + 1) / int64 parts)
                if b > a then
                    let acc = Span(sum.[i], a, b - a)
                    for l in 0 .. adds.Count - 1 do
                        let g = ReadOnlySpan(adds.[l].[i], a, b - a)
                        if check && l = adds.Count - 1 then ok <- ActorTrainer.Kernels.GradientFold.AddChecked(acc, g) && ok
                        else ActorTrainer.Kernels.GradientFold.Add(acc, g)
                    if check && adds.Count = 0 then ok <- ActorTrainer.Kernels.GradientFold.AllFinite(acc) && ok
            finite.[part] <- ok

/// In-process synchronous data-parallel step: computes the S shard gradients of a batch and sums them in shard
/// order — exactly what the actor runtime's parameter server does with shard gradients arriving from any number of
/// workers. With S ≥ 2 shards and T ≥ 2 kernel threads (KernelSettings.MaxDegreeOfParallelism on the calling
/// thread) the shards are computed min(S, T) at a time, one per thread with single-threaded kernels, each on its own
/// engine (so the element-wise and reduction work between the GEMMs runs in parallel too); otherwise one after
/// another with multi-threaded GEMMs. Each shard's gradient is the same either way (k-only blocking), and the sum
/// keeps shard order, so the result does not depend on T. With T ≥ 2 the sum is folded and checked for NaN/Inf on
/// T threads too (SumFinite).
type SyncStepper(plan: ModelPlan, batchSize: int, shards: int) as self =
    do if shards < 1 then raise (ArgumentOutOfRangeException("shards", shards, "trainer.shards-per-batch must be >= 1"))
    let maxShardRows = (batchSize + shards - 1) / shards + 1
    let engine = GradientEngine(plan, max 1 maxShardRows)
    let inW = plan.InputDim
    let xBatch = Array.zeroCreate<float32> (batchSize * inW)
    let yBatch = Array.zeroCreate<int> batchSize
    let tBatch = Array.zeroCreate<float32> (batchSize * plan.OutputDim)
    let mutable shardGrads : float32[][] = null
    let mutable sum : float32[][] = null
    // shards computed in parallel: lane j's engine and gradient buffer (lane 0's buffer is shardGrads), one wave's
    // per-lane statistics, and what a wave's parts read
    let lanes = ResizeArray<GradientEngine>()
    let laneGrads = ResizeArray<float32[][]>()
    let mutable laneStats : ShardStats[] = [||]
    // weights, first shard, rows, seed, step, labels?, targets?, first non-empty shard
    let mutable wave = struct ((null: float32[][]), 0, 0, 0, 0L, false, false, 0)
    // the batch's source (x, labels, targets, sample order, first position) while a step gathers its rows
    let mutable source = struct ((null: float32[]), (null: int[]), (null: float32[]), (null: int[]), 0)
    let fold = ShardFold()
    let folded = ResizeArray<float32[][]>()
    let mutable sumFinite = true
    let work = { new ActorTrainer.Kernels.IPartitionedWork with member _.Run(part, _) = self.RunLane part }

    /// The shard's gradient on `eng` into `into` (x, labels, targets: the gathered batch).
    member private _.Shard(eng: GradientEngine, weights: float32[][], rows: int, s: int, seed: int, step: int64,
                           hasLabels: bool, hasTargets: bool, into: float32[][]) : ShardStats =
        let struct (a, c) = Batching.shardRange rows shards s
        eng.ComputeGradients(weights, ReadOnlySpan(xBatch, a * inW, c * inW),
                             (if hasLabels then ReadOnlySpan(yBatch, a, c) else ReadOnlySpan.Empty),
                             (if hasTargets then ReadOnlySpan(tBatch, a * plan.OutputDim, c * plan.OutputDim) else ReadOnlySpan.Empty),
                             c, rows, Batching.dropoutSeed seed step s, into)

    /// Gathers rows [a, a + c) of the batch into the step's buffers.
    member private _.Gather(a: int, c: int) =
        let struct (x, labels, targets, idx, start) = source
        Batching.gather x inW idx (start + a) c (Span(xBatch, a * inW, c * inW))
        if not (isNull labels) then Batching.gatherLabels labels idx (start + a) c (Span(yBatch, a, c))
        if not (isNull targets) then Batching.gather targets plan.OutputDim idx (start + a) c (Span(tBatch, a * plan.OutputDim, c * plan.OutputDim))

    /// Part `j` of a wave: gathers shard first + j's rows and computes it on lane j (the batch's first non-empty shard
    /// straight into the sum).
    member private this.RunLane(j: int) =
        let struct (weights, first, rows, seed, step, hasLabels, hasTargets, firstNonEmpty) = wave
        let s = first + j
        let struct (a, c) = Batching.shardRange rows shards s
        if c > 0 then
            this.Gather(a, c)
            laneStats.[j] <- this.Shard(lanes.[j], weights, rows, s, seed, step, hasLabels, hasTargets,
                                        (if s = firstNonEmpty then sum else laneGrads.[j]))

    /// The engine (for inference passes).
    member _.Engine = engine

    /// True when every value of the last Gradients call's sum is finite (no NaN, no ±∞).
    member _.SumFinite = sumFinite

    /// Shards computed side by side for `shards` non-empty shards on `threads` kernel threads: min(shards, threads) when
    /// that is 2 or more (one per thread, single-threaded kernels), else 1 (one after another, GEMMs on all the threads).
    static member Lanes(shards: int, threads: int) = let w = min shards threads in if w >= 2 then w else 1

    /// Σ_s ∂(Σ_shard loss / rows)/∂w, summed in shard order, for samples idx[start..start+rows) of (x, labels | targets);
    /// returns the batch's statistics and the summed gradient (an internal buffer valid until the next call).
    /// `step` is the global step number (dropout seeds).
    member this.Gradients(weights: float32[][], x: float32[], labels: int[], targets: float32[],
                          idx: int[], start: int, rows: int, seed: int, step: int64) : struct (ShardStats * float32[][]) =
        if isNull sum then
            shardGrads <- Batching.zerosLike weights
            sum <- Batching.zerosLike weights
        let nonEmpty = min rows shards
        let width = SyncStepper.Lanes(nonEmpty, ActorTrainer.Kernels.KernelSettings.MaxDegreeOfParallelism)
        source <- struct (x, labels, targets, idx, start)
        try
            if width >= 2 then this.Waves(weights, rows, seed, step, not (isNull labels), not (isNull targets), width)
            else this.Serial(weights, rows, seed, step, not (isNull labels), not (isNull targets))
        finally source <- struct (null, null, null, null, 0)

    /// The shards one after another on the stepper's engine (multi-threaded GEMMs), summed in shard order.
    member private this.Serial(weights, rows, seed, step, hasLabels, hasTargets) : struct (ShardStats * float32[][]) =
        this.Gather(0, rows)
        let mutable stats = ShardStats.Zero
        let mutable first = true
        let mutable last = shards - 1
        while last > 0 && (let struct (_, c) = Batching.shardRange rows shards last in c = 0) do last <- last - 1
        sumFinite <- true
        for s in 0 .. shards - 1 do
            let struct (_, c) = Batching.shardRange rows shards s
            if c > 0 then
                let st = this.Shard(engine, weights, rows, s, seed, step, hasLabels, hasTargets, (if first then sum else shardGrads))
                // the last add also checks the sum (one pass); a lone shard is checked on its own
                if s = last then sumFinite <- (if first then Batching.allFinite sum else Batching.addIntoChecked sum shardGrads)
                elif not first then Batching.addInto sum shardGrads
                first <- false
                stats <- stats + st
        struct (stats, sum)

    /// The shards `width` at a time on the kernel threads, each wave's gradients added to the sum in shard order.
    member private _.Waves(weights, rows, seed, step, hasLabels, hasTargets, width) : struct (ShardStats * float32[][]) =
        while lanes.Count < width do
            let eng = GradientEngine(plan, max 1 maxShardRows)
            eng.MaxDegreeOfParallelism <- 1
            lanes.Add eng
            laneGrads.Add(if laneGrads.Count = 0 then shardGrads else Batching.zerosLike weights)
        if laneStats.Length < width then laneStats <- Array.zeroCreate width
        let mutable firstNonEmpty = 0   // with fewer rows than shards, shard 0 may be empty (Batching.shardRange)
        while (let struct (_, c) = Batching.shardRange rows shards firstNonEmpty in c = 0) do firstNonEmpty <- firstNonEmpty + 1
        let mutable stats = ShardStats.Zero
        let mutable first = 0
        while first < shards do
            let count = min width (shards - first)
            wave <- struct (weights, first, rows, seed, step, hasLabels, hasTargets, firstNonEmpty)
            try ActorTrainer.Kernels.KernelThreads.Run(work, count)
            finally wave <- struct ((null: float32[][]), 0, 0, 0, 0L, false, false, 0)
            folded.Clear()
            for j in 0 .. count - 1 do
                let s = first + j
                let struct (_, c) = Batching.shardRange rows shards s
                if c > 0 then
                    if s <> firstNonEmpty then folded.Add laneGrads.[j]
                    stats <- stats + laneStats.[j]
            first <- first + count
            let last = first >= shards
            if folded.Count > 0 || last then
                fold.Set(sum, folded, last, width)
                try ActorTrainer.Kernels.KernelThreads.Run(fold, width)
                finally fold.Clear()
        sumFinite <- fold.SumFinite
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
    let mutable lastSlots : float32[][][] = null

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
            if not stepper.SumFinite then
                raise (TrainingDivergedException(epoch, globalStep, b, "gradients contain NaN or Inf"))
            job.Optimizer.Apply(weights, g)
            next <- b + 1
            globalStep <- globalStep + 1L
            version <- version + 1L
            { StepInEpoch = b; Stats = stats }
        member _.Drain() = [||]
        member _.Weights = weights
        member _.SetWeights w = Weights.checkedCopyInto "set_weights" w weights
        member _.OptimizerState() =
            // into the arrays of the last call (the interface's contract: valid until the next call)
            let struct (it, slots) = job.Optimizer.GetStateReusing lastSlots
            lastSlots <- slots
            struct (it, slots)
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
