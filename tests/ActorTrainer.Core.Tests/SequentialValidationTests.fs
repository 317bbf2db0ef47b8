/// Sequential's refusals of inputs it cannot train or evaluate on: each names the model, the layer or the data at fault
/// (found by exploratory use of the library; before, these gave a misleading error, an IndexOutOfRangeException or a
/// silent result).
module ActorTrainer.Core.Tests.SequentialValidationTests

open System
open Xunit
open ActorTrainer.Core

let private data (n: int) (features: int) =
    ArrayData.OfLabels(Array.init (n * features) (fun i -> float32 (sin (float i * 0.37))), features, Array.init n (fun i -> i % 3))

let private model () =
    let m = Sequential([ Dense(8, "relu") :> Layer; Dense(3, "softmax") :> Layer ], seed = 3)
    m.Compile(SGD(0.1), "sparse_categorical_crossentropy", [ "accuracy" ])
    m

[<Fact>]
let ``a layer instance used twice is refused when the model is made or the layer added`` () =
    let d = Dense(4, "relu")
    let e = Assert.Throws<ArgumentException>(fun () -> Sequential([ d :> Layer; d :> Layer; Dense(3, "softmax") :> Layer ]) |> ignore)
    Assert.Contains("layer Dense (unnamed) is already in the model", e.Message)
    let m = Sequential([ d :> Layer ], name = "mine")
    let e2 = Assert.Throws<ArgumentException>(fun () -> m.Add d)
    Assert.Contains("model 'mine'", e2.Message)
    m.Add(Dense(4, "relu"))         // a second instance is fine
    Assert.Equal(2, m.Layers.Count)

[<Fact>]
let ``adding a layer after build names the layer even before it has a name`` () =
    let m = model ()
    m.Build [| 5 |]
    let e = Assert.Throws<InvalidOperationException>(fun () -> m.Add(Dense(2)))
    Assert.Contains("cannot add layer Dense (unnamed) to model 'sequential' after it was built", e.Message)

[<Fact>]
let ``fit and evaluate refuse data without samples`` () =
    let m = model ()
    let e = Assert.Throws<ArgumentException>(fun () -> m.FitArrays(data 0 5, verbose = 0) |> ignore)
    Assert.Contains("fit: the training data has no samples", e.Message)
    let e2 = Assert.Throws<ArgumentException>(fun () -> m.FitArrays(data 10 5, validationData = data 0 5, verbose = 0) |> ignore)
    Assert.Contains("validation_data has no samples", e2.Message)
    m.FitArrays(data 10 5, verbose = 0) |> ignore
    let e3 = Assert.Throws<ArgumentException>(fun () -> m.EvaluateArrays(data 0 5) |> ignore)
    Assert.Contains("evaluate: the data has no samples", e3.Message)

[<Fact>]
let ``validation_split trains on the first floor(n·(1 − split)) samples, as Keras, and refuses an empty side`` () =
    Assert.Equal(3, (data 5 5).ValidationSplitAt 0.3)       // Keras: 3 train, 2 validate (not 4 and 1)
    Assert.Equal(2, (data 3 5).ValidationSplitAt 0.2)
    Assert.Equal(399, (data 400 5).ValidationSplitAt 0.001)
    let m = model ()
    let e = Assert.Throws<ArgumentException>(fun () -> m.FitArrays(data 3 5, validationSplit = 0.9, verbose = 0) |> ignore)
    Assert.Contains("3 samples, too few to split", e.Message)
    Assert.Contains("3 would be held out", e.Message)
    let e2 = Assert.Throws<ArgumentException>(fun () -> m.FitArrays(data 3 5, validationSplit = 1e-17, verbose = 0) |> ignore)
    Assert.Contains("0 would be held out", e2.Message)
    let h = m.FitArrays(data 3 5, validationSplit = 0.2, verbose = 0)
    Assert.True(h.History.ContainsKey "val_loss")

[<Fact>]
let ``evaluate with the wrong number of features names both counts`` () =
    let m = model ()
    m.FitArrays(data 10 5, verbose = 0) |> ignore
    let e = Assert.Throws<ShapeException>(fun () -> m.EvaluateArrays(data 10 4) |> ignore)
    Assert.Contains("evaluate: model 'sequential' expects 5 features per sample but x has 4", e.Message)

[<Fact>]
let ``predict on a tensor without a batch axis names its shape`` () =
    let m = model ()
    m.FitArrays(data 10 5, verbose = 0) |> ignore
    let e = Assert.Throws<ShapeException>(fun () -> m.Predict(Tensor.Scalar 1.0) |> ignore)
    Assert.Contains("predict: x must have a batch axis, got shape ()", e.Message)
