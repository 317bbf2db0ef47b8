namespace ActorTrainer.Core

open System

/// Compiles a model's CPU compute path ahead of its first training step. .NET compiles each method on its first call,
/// and the first shard gradient of the reference model takes ~0.17 s of compilation against ~1.5 ms for every later
/// one (bench/RESULTS.md); `train` runs this on a spare core while it loads the data, so the run's clock no longer
/// pays for it. Only the compiled code is shared with a later run: the warm-up uses its own engine, weights,
/// gradients and optimizer, and the kernels give the same bits on every path, so it never changes a result.
[<AbstractClass; Sealed>]
type ComputeWarmup =
    /// Runs, on synthetic rows (an MNIST-like input with 20 % nonzero values, then a dense one), the plan's forward +
    /// backward on 1 GEMM thread and on the default threads, an inference pass, a validation pass of three chunks
    /// (<see cref="Evaluator"/>: fit's first epoch end took ~17 ms longer without it), the fold and check of two gradients
    /// and `optimizer`'s update of `weights`. `weights` (the plan's shapes) and `optimizer` are overwritten: pass a
    /// fresh model's copies, never a training run's. rows ≥ 1: the rows of one shard.
    static member Run(plan: ModelPlan, weights: float32[][], optimizer: Optimizer, rows: int) =
        if isNull (box plan) then nullArg "plan"
        if isNull weights then nullArg "weights"
        if isNull (box optimizer) then nullArg "optimizer"
        if rows < 1 then raise (ArgumentOutOfRangeException("rows", rows, "warm-up rows must be >= 1"))
        let ow = plan.OutputDim
        // three shards' worth of rows: the training passes use the first shard's, the validation pass all three
        let n = 3 * rows
        let labels = Array.init n (fun r -> r % max 1 ow)
        let targets = Array.init (n * ow) (fun i -> if i % ow = labels.[i / ow] then 1f else 0f)
        let input dense = Array.init (n * plan.InputDim) (fun i -> if dense || i % 5 = 0 then float32 (i % 251) / 251f else 0f)
        let grads = Batching.zerosLike weights
        let other = Batching.zerosLike weights
        for dense in [ false; true ] do
            let x = input dense
            for threads in [ 1; 0 ] do
                let engine = GradientEngine(plan, rows, MaxDegreeOfParallelism = threads)
                let lab = if plan.Loss.SparseTargets then ReadOnlySpan(labels, 0, rows) else ReadOnlySpan.Empty
                let tgt = if plan.Loss.SparseTargets then ReadOnlySpan.Empty else ReadOnlySpan(targets, 0, rows * ow)
                let xs = ReadOnlySpan(x, 0, rows * plan.InputDim)
                engine.ComputeGradients(weights, xs, lab, tgt, rows, rows, 0L, grads) |> ignore
                engine.Evaluate(weights, xs, lab, tgt, rows) |> ignore
        // fit's validation and `evaluate`: chunked inference passes on lanes (three chunks; the kernels' threads)
        let data =
            if plan.Loss.SparseTargets then ArrayData.OfLabels(input false, plan.InputDim, labels)
            else ArrayData(input false, plan.InputDim, null, targets, n)
        Evaluator(plan, rows).Run(weights, data) |> ignore
        Batching.addIntoChecked other grads |> ignore
        Batching.addInto other grads
        Batching.allFinite other |> ignore
        optimizer.EnsureSlots(weights |> Array.map (fun w -> w.Length))
        for i in 0 .. weights.Length - 1 do
            optimizer.UpdateRange(i, weights.[i], grads.[i], 0, weights.[i].Length, float32 optimizer.LearningRate, 1L)
        optimizer.Apply(weights, grads)
