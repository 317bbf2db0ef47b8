module ActorTrainer.Core.Tests.ComputeWarmupTests

open System
open System.Threading
open Xunit
open ActorTrainer.Core
open ActorTrainer.Core.Data

let private mnist = lazy (Mnist.loadBundled ())

let private model (layers: Layer list) (loss: string) (optimizer: Optimizer) =
    let m = Sequential(layers, seed = 3)
    m.Compile(optimizer, loss, [ "accuracy" ])
    m.Build([| 784 |])
    m

/// A small sharded fit (2 shards, so the in-process lanes run on the kernels' threads) and its weights' digest.
let private fitDigest () =
    let train, _ = mnist.Force()
    let m = model [ Dense(64, "relu"); Dropout(0.2); Dense(10, "softmax") ] "sparse_categorical_crossentropy" (RMSprop())
    let d = ArrayData.OfLabels(Array.sub train.Images 0 (1536 * 784), 784, Array.sub train.Labels 0 1536)
    m.FitArrays(d, epochs = 1, batchSize = 128, verbose = 0, shardsPerBatch = 2) |> ignore
    m.WeightsSha256()

[<Fact>]
let ``warm-up running beside a fit leaves the fit's weights bit-identical`` () =
    let alone = fitDigest ()
    // the warm-up of a bigger model, over and over on another thread, for the whole fit: it shares the kernels'
    // threads, thread-static buffers and code with the fit, and nothing else
    let w = model [ Dense(512, "relu"); Dense(10, "softmax") ] "sparse_categorical_crossentropy" (RMSprop())
    let stop = ref 0
    let mutable runs = 0
    let mutable failure : exn = null
    let t = Thread((fun () ->
                       try
                           while Volatile.Read(&stop.contents) = 0 do
                               ComputeWarmup.Run(w.Plan, w.GetWeights(), RMSprop(), 64)
                               runs <- runs + 1
                       with e -> failure <- e), IsBackground = true)
    t.Start()
    let beside = try fitDigest () finally Volatile.Write(&stop.contents, 1); t.Join()
    Assert.Null(failure)
    Assert.True(runs > 0, "the warm-up never completed a run beside the fit")
    Assert.Equal(alone, beside)

[<Theory>]
[<InlineData("sparse_categorical_crossentropy", "rmsprop")>]
[<InlineData("categorical_crossentropy", "adam")>]
[<InlineData("mse", "sgd")>]
let ``warm-up runs every layer kind and loss and updates only the arrays it is given`` (loss: string, opt: string) =
    let optimizer : Optimizer =
        match opt with
        | "adam" -> Adam()
        | "sgd" -> SGD(0.01, momentum = 0.9)
        | _ -> RMSprop()
    let m = model [ Dense(32, "tanh"); Dropout(0.5); ActivationLayer("relu"); Dense(10, "softmax") ] loss optimizer
    let before = m.GetWeights()
    let scratch = m.GetWeights()
    ComputeWarmup.Run(m.Plan, scratch, optimizer, 7)
    // the scratch copy took the update (so the whole path ran); the model's own weights did not move
    Assert.True(Array.exists2 (fun (a: float32[]) (b: float32[]) -> a <> b) before scratch, "the warm-up updated nothing")
    Array.iter2 (fun (a: float32[]) (b: float32[]) -> Assert.Equal<float32[]>(a, b)) before (m.GetWeights())
    Assert.True(scratch |> Array.forall (Array.forall Single.IsFinite), "the warm-up produced non-finite weights")

[<Fact>]
let ``warm-up refuses rows below 1, naming them`` () =
    let m = model [ Dense(4) ] "mse" (SGD())
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> ComputeWarmup.Run(m.Plan, m.GetWeights(), SGD(), 0))
    Assert.Equal("rows", e.ParamName)
