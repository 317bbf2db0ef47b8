module ActorTrainer.Core.Tests.EvaluationTests

open System
open Xunit
open ActorTrainer.Core
open ActorTrainer.Core.Data
open ActorTrainer.Kernels

let private mnist = lazy (Mnist.loadBundled ())

/// The tests' model: Dense(64, relu) → Dropout(0.3) → Dense(10, softmax), compiled for `loss`, built for 784 inputs.
let private smallModel (loss: string) =
    let m = Sequential([ Dense(64, "relu") :> Layer; Dropout(0.3); Dense(10, "softmax") ], seed = 5)
    m.Compile(RMSprop(), loss, [ "accuracy" ])
    m.Build([| 784 |])
    m

/// Σ of engine.Evaluate over chunks of `rows` samples in chunk order: the sums an evaluation must reproduce bit for bit.
let private oracle (plan: ModelPlan) (weights: float32[][]) (d: ArrayData) (rows: int) =
    let engine = GradientEngine(plan, rows, MaxDegreeOfParallelism = 1)
    let mutable st = ShardStats.Zero
    let ow = plan.OutputDim
    for start in 0 .. rows .. d.Count - 1 do
        let n = min rows (d.Count - start)
        st <- st + engine.Evaluate(weights, ReadOnlySpan(d.X, start * d.Features, n * d.Features),
                                   (if isNull d.Labels then ReadOnlySpan.Empty else ReadOnlySpan(d.Labels, start, n)),
                                   (if isNull d.Targets then ReadOnlySpan.Empty else ReadOnlySpan(d.Targets, start * ow, n * ow)), n)
    st

[<Theory>]
[<InlineData("sparse_categorical_crossentropy", 1000, 128)>]
[<InlineData("sparse_categorical_crossentropy", 100, 128)>]
[<InlineData("sparse_categorical_crossentropy", 257, 1)>]
[<InlineData("categorical_crossentropy", 999, 64)>]
let ``evaluation on 1, 2 and 3 threads gives the bits of chunk-order sums`` (loss: string, count: int, rows: int) =
    let train, _ = mnist.Force()
    let m = smallModel loss
    let w = m.GetWeights()
    let x = Array.sub train.Images 0 (count * 784)
    let labels = Array.sub train.Labels 0 count
    let d =
        if loss = "categorical_crossentropy" then
            ArrayData(x, 784, null, Array.init (count * 10) (fun i -> if labels.[i / 10] = i % 10 then 1f else 0f), count)
        else ArrayData.OfLabels(x, 784, labels)
    let expected = oracle m.Plan w d rows
    Assert.Equal(count, expected.Count)
    for threads in [ 1; 2; 3 ] do
        use _ = KernelSettings.UseParallelism threads
        let e = Evaluator(m.Plan, rows)
        for pass in 1 .. 2 do      // a second pass reuses the lanes and the per-chunk buffer
            let got = e.Run(w, d)
            Assert.True(BitConverter.DoubleToInt64Bits expected.LossSum = BitConverter.DoubleToInt64Bits got.LossSum,
                        sprintf "%d threads, pass %d: loss sum %.17g, expected %.17g" threads pass got.LossSum expected.LossSum)
            Assert.Equal(expected.Correct, got.Correct)
            Assert.Equal(expected.Count, got.Count)

[<Fact>]
let ``evaluator refuses a batch size below 1, naming it`` () =
    let m = Sequential([ Dense(4) :> Layer ], seed = 1)
    m.Compile(SGD(), "mse", [])
    m.Build([| 3 |])
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Evaluator(m.Plan, 0) |> ignore)
    Assert.Equal("maxRows", e.ParamName)

/// engine.Predict row by row on one thread: the outputs a prediction must reproduce bit for bit.
let private predictOracle (plan: ModelPlan) (weights: float32[][]) (x: float32[]) (count: int) =
    let engine = GradientEngine(plan, 1, MaxDegreeOfParallelism = 1)
    Array.concat [ for r in 0 .. count - 1 -> engine.Predict(weights, ReadOnlySpan(x, r * plan.InputDim, plan.InputDim), 1).ToArray() ]

[<Theory>]
[<InlineData(1000, 128)>]
[<InlineData(1000, 1000)>]
[<InlineData(257, 37)>]
[<InlineData(100, 128)>]
[<InlineData(0, 16)>]
let ``prediction on 1, 2 and 3 threads and any chunk size gives the bits of one row at a time`` (count: int, rows: int) =
    let train, _ = mnist.Force()
    let m = smallModel "sparse_categorical_crossentropy"
    let w = m.GetWeights()
    let x = Array.sub train.Images 0 (count * 784)
    let expected = predictOracle m.Plan w x count
    for threads in [ 1; 2; 3 ] do
        use _ = KernelSettings.UseParallelism threads
        let p = Predictor(m.Plan, rows)
        for pass in 1 .. 2 do      // a second pass reuses the lanes
            let got = p.Run(w, x, count)
            Assert.Equal(count * 10, got.Length)
            for i in 0 .. got.Length - 1 do
                if BitConverter.SingleToInt32Bits got.[i] <> BitConverter.SingleToInt32Bits expected.[i] then
                    Assert.Fail(sprintf "%d threads, %d rows per chunk, pass %d: output %d is %.9g, expected %.9g" threads rows pass i got.[i] expected.[i])
    // the public entry point runs the same passes
    use _ = KernelSettings.UseParallelism 2
    let viaModel = m.PredictArrays(x, 784, rows)
    Assert.True((viaModel = expected), "PredictArrays differs from the row-at-a-time outputs")

[<Fact>]
let ``predictor refuses a batch size below 1 and too few values, naming them`` () =
    let m = Sequential([ Dense(4) :> Layer ], seed = 1)
    m.Compile(SGD(), "mse", [])
    m.Build([| 3 |])
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Predictor(m.Plan, 0) |> ignore)
    Assert.Equal("maxRows", e.ParamName)
    let short = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Predictor(m.Plan, 8).Run(m.GetWeights(), Array.zeroCreate 5, 2) |> ignore)
    Assert.Equal("count", short.ParamName)
    Assert.Contains("x has 5", short.Message)

[<Theory>]
[<InlineData(1000, 128)>]
[<InlineData(257, 37)>]
let ``evaluation that also writes its outputs gives the evaluation's sums and the bits of one row at a time`` (count: int, rows: int) =
    let train, _ = mnist.Force()
    let m = smallModel "sparse_categorical_crossentropy"
    let w = m.GetWeights()
    let x = Array.sub train.Images 0 (count * 784)
    let d = ArrayData.OfLabels(x, 784, Array.sub train.Labels 0 count)
    let expectedStats = oracle m.Plan w d rows
    let expectedOutputs = predictOracle m.Plan w x count
    for threads in [ 1; 2; 3 ] do
        use _ = KernelSettings.UseParallelism threads
        let outputs = Array.create (count * 10) nanf
        let got = Evaluator(m.Plan, rows).Run(w, d, outputs)
        Assert.True(BitConverter.DoubleToInt64Bits expectedStats.LossSum = BitConverter.DoubleToInt64Bits got.LossSum,
                    sprintf "%d threads: loss sum %.17g, expected %.17g" threads got.LossSum expectedStats.LossSum)
        Assert.Equal(expectedStats.Correct, got.Correct)
        for i in 0 .. outputs.Length - 1 do
            if BitConverter.SingleToInt32Bits outputs.[i] <> BitConverter.SingleToInt32Bits expectedOutputs.[i] then
                Assert.Fail(sprintf "%d threads, %d rows per chunk: output %d is %.9g, expected %.9g" threads rows i outputs.[i] expectedOutputs.[i])
    // the model's entry point (train's test evaluation): EvaluateArrays' logs and PredictArrays' outputs from one call
    let outputs = Array.zeroCreate (count * 10)
    let logs = m.EvaluateArraysInto(d, rows, null, outputs)
    Assert.Equal<float>(m.EvaluateArrays(d, rows).["loss"], logs.["loss"])
    Assert.True((outputs = m.PredictArrays(x, 784, rows)), "EvaluateArraysInto's outputs differ from PredictArrays")
    let wrong = Assert.Throws<ArgumentException>(fun () -> Evaluator(m.Plan, rows).Run(w, d, Array.zeroCreate 7) |> ignore)
    Assert.Equal("outputs", wrong.ParamName)
    Assert.Contains(sprintf "not %d rows × 10 outputs" count, wrong.Message)
