module ActorTrainer.Core.Tests.TrainingTests

open System
open Xunit
open ActorTrainer.Core
open ActorTrainer.Core.Data
open ActorTrainer.Kernels

// ---- The chapter's low-level path, written as a user would: variables, NaiveDense, NaiveSequential,
// ---- a batch generator, one training step with the tape, and optimizer.ApplyGradients.

/// NaiveDense: W ~ U[0, 0.1], b = 0, y = act(x·W + b).
type NaiveDense(inputSize: int, outputSize: int, activation: Tensor -> Tensor, seed: int) =
    let w = Variable(Tensor.RandomUniform([| inputSize; outputSize |], 0.0, 0.1, seed), "W")
    let b = Variable(Tensor.Zeros([| outputSize |]), "b")
    member _.Call(x: Tensor) = activation (Tensor.MatMul(x, w.Value) + b.Value)
    member _.Weights = [| w; b |]

/// NaiveSequential: calls its layers in order.
type NaiveSequential(layers: NaiveDense list) =
    member _.Call(x: Tensor) = layers |> List.fold (fun t l -> l.Call t) x
    member _.Weights = layers |> Seq.collect (fun l -> l.Weights) |> Array.ofSeq

/// BatchGenerator: consecutive batches of (images, labels) as tensors.
type BatchGenerator(images: float32[], labels: int[], features: int, batchSize: int) =
    let mutable index = 0
    member _.NumBatches = (labels.Length + batchSize - 1) / batchSize
    member _.Next() =
        let n = min batchSize (labels.Length - index)
        let x = Tensor.FromArray(Array.sub images (index * features) (n * features), [| n; features |])
        let y = Tensor.FromArray(Array.sub labels index n)
        index <- index + n
        x, y

/// One training step: forward under a tape, mean sparse categorical crossentropy, gradients, SGD update.
let oneTrainingStep (model: NaiveSequential) (images: Tensor) (labels: Tensor) (optimizer: Optimizer) =
    use tape = new GradientTape()
    let predictions = model.Call images
    let averageLoss = TapeOps.loss Loss.SparseCategoricalCrossentropy false labels predictions
    let weights = model.Weights
    let gradients = tape.Gradient(averageLoss, weights)
    optimizer.ApplyGradients(Seq.zip gradients weights)
    averageLoss.ToScalar()

let private mnist = lazy (Mnist.loadBundled ())

let private naiveModel () =
    NaiveSequential [ NaiveDense(784, 512, Tensor.Relu, 1); NaiveDense(512, 10, (fun t -> Tensor.Softmax(t, -1)), 2) ]

[<Fact>]
let ``chapter low-level loop: first loss in [4, 7] and it decreases`` () =
    let train, _ = mnist.Force()
    let model = naiveModel ()
    let gen = BatchGenerator(train.Images, train.Labels, 784, 128)
    let opt = SGD(1e-3)
    let losses = [| for _ in 1 .. 40 -> let x, y = gen.Next() in oneTrainingStep model x y opt |]
    // probabilities are clipped to [1e-7, 1 - 1e-7], so a per-sample loss is at most -log(1e-7) = 16.12
    Assert.InRange(losses.[0], 1.0, 16.2)
    Assert.True(Array.average losses.[30..] < losses.[0] * 0.6, sprintf "losses did not decrease: %A" losses)
    Assert.Equal(40L, opt.Iterations)

[<Fact>]
let ``tape step equals the Sequential engine step (same derivative, fused kernels)`` () =
    let train, _ = mnist.Force()
    let make () =
        let m = Sequential([ Dense(64, "relu") :> Layer; Dense(10, "softmax") ], inputShape = [| 784 |], seed = 3)
        m.Build [| 784 |]
        m.Compile(RMSprop(), "sparse_categorical_crossentropy", [ "accuracy" ])
        m
    let tapeModel, engineModel = make (), make ()
    Assert.Equal(tapeModel.WeightsSha256(), engineModel.WeightsSha256())
    let gen = BatchGenerator(train.Images, train.Labels, 784, 128)
    for _ in 1 .. 3 do
        let x, y = gen.Next()
        use tape = new GradientTape()
        // softmax output: the loss is taken from the logits (as Keras does), the stable fused form
        let loss = TapeOps.loss Loss.SparseCategoricalCrossentropy true y (tapeModel.CallLogits x)
        let vars = tapeModel.TrainableVariables
        tapeModel.Optimizer.ApplyGradients(Seq.zip (tape.Gradient(loss, vars)) vars)
    let data = ArrayData.OfLabels(Array.sub train.Images 0 (384 * 784), 784, Array.sub train.Labels 0 384)
    engineModel.FitArrays(data, epochs = 1, batchSize = 128, shuffle = false, verbose = 0) |> ignore
    let a = tapeModel.GetWeights()
    let b = engineModel.GetWeights()
    for i in 0 .. a.Length - 1 do
        let maxDiff = Array.map2 (fun (p: float32) q -> abs (p - q)) a.[i] b.[i] |> Array.max
        Assert.True(maxDiff < 1e-5f, sprintf "weight %d differs by %g" i maxDiff)

let private fitSmall (seed: int) (threads: int) =
    let train, _ = mnist.Force()
    let old = KernelSettings.MaxDegreeOfParallelism
    KernelSettings.MaxDegreeOfParallelism <- threads
    try
        let m = Sequential([ Dense(64, "relu") :> Layer; Dropout(0.2); Dense(10, "softmax") ], seed = seed)
        m.Compile(RMSprop(), "sparse_categorical_crossentropy", [ "accuracy" ])
        let d = ArrayData.OfLabels(Array.sub train.Images 0 (2000 * 784), 784, Array.sub train.Labels 0 2000)
        let h = m.FitArrays(d, epochs = 2, batchSize = 64, verbose = 0, shardsPerBatch = 2)
        m.WeightsSha256(), h.["loss"]
    finally KernelSettings.MaxDegreeOfParallelism <- old

[<Fact>]
let ``same seed gives identical weights; another seed differs; thread count does not matter`` () =
    let sha1, loss1 = fitSmall 7 2
    let sha2, loss2 = fitSmall 7 2
    let sha3, _ = fitSmall 8 2
    let sha4, _ = fitSmall 7 1
    Assert.Equal(sha1, sha2)
    Assert.Equal<float[]>(loss1, loss2)
    Assert.NotEqual<string>(sha1, sha3)
    Assert.Equal(sha1, sha4)
    Assert.Equal(64, sha1.Length)

[<Fact>]
let ``from-scratch network: loss of the first batch is between 4 and 7`` () =
    let train, _ = mnist.Force()
    let m =
        Sequential([ Dense(512, "relu", Initializer.RandomUniform(0.0, 0.1), Initializer.Zeros, true, "") :> Layer
                     Dense(10, "softmax", Initializer.RandomUniform(0.0, 0.1), Initializer.Zeros, true, "") ], seed = 1)
    m.Compile(SGD(1e-3), "sparse_categorical_crossentropy", [ "accuracy" ])
    let first = ref nan
    let probe =
        { new Callback() with
            override _.OnTrainBatchEnd(b, logs) = if b = 0 then first.Value <- logs.["loss"] }
    let d = ArrayData.OfLabels(Array.sub train.Images 0 (1280 * 784), 784, Array.sub train.Labels 0 1280)
    let h = m.FitArrays(d, epochs = 1, batchSize = 128, shuffle = false, callbacks = [ probe :> ICallback ], verbose = 0)
    Assert.InRange(first.Value, 4.0, 7.0)
    Assert.True(h.["loss"].[0] < first.Value)

[<Fact>]
let ``SyncStepper sums shard gradients in shard order exactly like separate engines`` () =
    let train, _ = mnist.Force()
    let plan = { InputDim = 784; Layers = [| PlanLayer.Dense(784, 16, true, Activation.Relu); PlanLayer.Dense(16, 10, true, Activation.Softmax) |]; Loss = Loss.SparseCategoricalCrossentropy }
    let w0 = [| Initializer.GlorotUniform.Create([| 784; 16 |], 1); Array.zeroCreate 16; Initializer.GlorotUniform.Create([| 16; 10 |], 2); Array.zeroCreate 10 |]
    let stepper = SyncStepper(plan, 100, 3)
    let w1 = Weights.copy w0
    let idx = Array.init 100 id
    let struct (_, g) = stepper.Gradients(w1, train.Images, train.Labels, null, idx, 0, 100, 1, 0L)
    SGD(0.1).Apply(w1, g)
    // by hand: three engines, shards [0,33), [33,66), [66,100), summed in order
    let eng = GradientEngine(plan, 34)
    let grads = [| for s in 0 .. 2 ->
                    let struct (a, c) = Batching.shardRange 100 3 s
                    let g = Batching.zerosLike w0
                    eng.ComputeGradients(w0, ReadOnlySpan(train.Images, a * 784, c * 784), ReadOnlySpan(train.Labels, a, c), ReadOnlySpan.Empty, c, 100, 0L, g) |> ignore
                    g |]
    let sum = Weights.copy grads.[0]
    Batching.addInto sum grads.[1]
    Batching.addInto sum grads.[2]
    let w2 = Weights.copy w0
    SGD(0.1).Apply(w2, sum)
    Assert.Equal(Weights.sha256 w1, Weights.sha256 w2)

[<Fact>]
let ``SyncStepper: shards computed in parallel waves give the bits of one after another, for any thread count`` () =
    // 1 thread: one engine, shards in sequence; 2–3 threads: waves of shards on lane engines (shards 5 with 2 threads:
    // waves of 2, 2, 1); a batch of 2 rows in 3 shards leaves shard 0 empty, so the sum starts at shard 1
    let train, _ = mnist.Force()
    let plan = { InputDim = 784; Layers = [| PlanLayer.Dense(784, 16, true, Activation.Relu); PlanLayer.Dense(16, 10, true, Activation.Softmax) |]; Loss = Loss.SparseCategoricalCrossentropy }
    let w0 = [| Initializer.GlorotUniform.Create([| 784; 16 |], 1); Array.zeroCreate 16; Initializer.GlorotUniform.Create([| 16; 10 |], 2); Array.zeroCreate 10 |]
    let idx = Array.init 200 (fun i -> (i * 37) % 1000)
    let run threads shards rows =
        use _ = KernelSettings.UseParallelism threads
        let stepper = SyncStepper(plan, 100, shards)
        [ for step in 0L .. 1L ->
            let struct (stats, g) = stepper.Gradients(w0, train.Images, train.Labels, null, idx, int step * 7, rows, 1, step)
            stats.LossSum, stats.Correct, stats.Count, Weights.sha256 g, stepper.SumFinite ]
    for (shards, rows) in [ 1, 100; 2, 100; 3, 100; 5, 97; 3, 2 ] do
        let reference = run 1 shards rows
        Assert.True(reference |> List.forall (fun (_, _, _, _, finite) -> finite))
        for threads in [ 2; 3 ] do
            Assert.True((reference = run threads shards rows), sprintf "shards %d, rows %d, threads %d: differs from one thread" shards rows threads)

[<Fact>]
let ``SyncStepper flags a sum with NaN whichever shard, wave and thread count it comes from`` () =
    let train, _ = mnist.Force()
    let plan = { InputDim = 784; Layers = [| PlanLayer.Dense(784, 16, true, Activation.Relu); PlanLayer.Dense(16, 10, true, Activation.Softmax) |]; Loss = Loss.SparseCategoricalCrossentropy }
    let w0 = [| Initializer.GlorotUniform.Create([| 784; 16 |], 1); Array.zeroCreate 16; Initializer.GlorotUniform.Create([| 16; 10 |], 2); Array.zeroCreate 10 |]
    for bad in [ 0; 40; 96 ] do        // a NaN pixel in the first, a middle and the last shard (5 shards of 97 rows)
        let images = Array.sub train.Images 0 (100 * 784)
        images.[bad * 784 + 400] <- nanf
        for threads in [ 1; 2; 3 ] do
            use _ = KernelSettings.UseParallelism threads
            let stepper = SyncStepper(plan, 100, 5)
            stepper.Gradients(w0, images, train.Labels, null, Array.init 100 id, 0, 97, 1, 0L) |> ignore
            Assert.False(stepper.SumFinite, sprintf "NaN in row %d, %d threads: not flagged" bad threads)
            // the flag is the last call's: rows 97..99 are clean
            stepper.Gradients(w0, images, train.Labels, null, Array.init 100 id, 97, 3, 1, 1L) |> ignore
            Assert.True(stepper.SumFinite, sprintf "clean rows after NaN in row %d, %d threads: flagged" bad threads)

[<Fact>]
let ``batching schedule: permutation is seeded, shards cover the batch`` () =
    let p1 = Batching.permutation 1 0 1000 true
    Assert.Equal<int[]>(p1, Batching.permutation 1 0 1000 true)
    Assert.NotEqual<int[]>(p1, Batching.permutation 1 1 1000 true)
    Assert.Equal<int[]>(Array.init 1000 id, Array.sort p1)
    Assert.Equal<int[]>(Array.init 10 id, Batching.permutation 1 0 10 false)
    Assert.Equal(469, Batching.batchCount 60000 128)
    let ranges = [ for s in 0 .. 3 -> Batching.shardRange 96 4 s ]
    Assert.Equal<struct (int * int) list>([ struct (0, 24); struct (24, 24); struct (48, 24); struct (72, 24) ], ranges)
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> Batching.shardRange 10 0 0 |> ignore) |> ignore

[<Fact>]
let ``README F# example runs as written`` () =
    let x = Variable(Tensor.FromArray([| 1.0f; 2.0f; 3.0f; 4.0f |], [| 2; 2 |]))
    use tape = new GradientTape()
    let y = 2.0 * x.Value + 3.0
    let dydx = tape.Gradient(y, x)
    Assert.Equal<float32[]>([| 2.0f; 2.0f; 2.0f; 2.0f |], dydx.ToFloat32Array())
    let train, test = mnist.Force()
    let train, test = train.Take 1000, test.Take 200
    let model = Sequential([ Dense(512, "relu") :> Layer; Dense(10, "softmax") ])
    model.Compile(RMSprop(), "sparse_categorical_crossentropy", [ "accuracy" ])
    let history = model.FitArrays(ArrayData.OfLabels(train.Images, 784, train.Labels), epochs = 2, batchSize = 128, verbose = 0)
    let scores = model.EvaluateArrays(ArrayData.OfLabels(test.Images, 784, test.Labels))
    Assert.Equal(2, history.["loss"].Length)
    Assert.True(scores.["accuracy"] > 0.7, sprintf "accuracy %f" scores.["accuracy"])
    let dir = IO.Path.Combine(IO.Path.GetTempPath(), "readme-model-" + Guid.NewGuid().ToString("N"))
    try
        model.Save dir
        let loaded = ModelFiles.Load dir
        Assert.Equal(model.WeightsSha256(), loaded.WeightsSha256())
    finally
        if IO.Directory.Exists dir then IO.Directory.Delete(dir, true)

[<Fact>]
let ``Weights.copyReusing copies into the kept arrays where sizes match and allocates where not`` () =
    let src = [| [| 1.0f; 2.0f |]; [| 3.0f |]; [| 4.0f; 5.0f; 6.0f |] |]
    let kept = [| Array.zeroCreate<float32> 2; Array.zeroCreate<float32> 4; Array.zeroCreate<float32> 3 |]
    let a0, a2 = kept.[0], kept.[2]
    let back = Weights.copyReusing kept src
    Assert.Same(kept, back)
    Assert.Same(a0, back.[0])
    Assert.Same(a2, back.[2])
    Assert.Equal<float32[]>([| 3.0f |], back.[1])      // a size that changed: a new array
    Assert.Equal<float32[][]>(src, back)
    src.[0].[0] <- 9.0f                                  // a copy, not a view
    Assert.Equal(1.0f, back.[0].[0])
    let fresh = Weights.copyReusing null src               // nothing kept yet, or another count: new arrays
    Assert.NotSame(src, fresh)
    Assert.Equal<float32[][]>(src, fresh)
    Assert.Equal(3, (Weights.copyReusing [| Array.zeroCreate<float32> 2 |] src).Length)
