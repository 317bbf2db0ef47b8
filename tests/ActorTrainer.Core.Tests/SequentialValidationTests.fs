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

[<Fact>]
let ``validation data with the wrong number of features is refused like training data, on every fit entry`` () =
    let m = model ()
    let e = Assert.Throws<ShapeException>(fun () -> m.FitArrays(data 10 5, validationData = data 10 4, verbose = 0) |> ignore)
    Assert.Contains("fit validation_data: model 'sequential' expects 5 features per sample but x has 4", e.Message)
    let e2 = Assert.Throws<ShapeException>(fun () -> m.FitWith(data 10 5, FitOptions(Validation = data 10 4, Verbose = 0)) |> ignore)
    Assert.Contains("expects 5 features per sample but x has 4", e2.Message)
    let x = Tensor.FromArray(Array.init 50 (fun i -> float32 i * 0.01f), [| 10; 5 |])
    let y = Tensor.FromArray(Array.init 10 (fun i -> float32 (i % 3)), [| 10 |])
    let vx = Tensor.FromArray(Array.zeroCreate<float32> 40, [| 10; 4 |])
    let e3 = Assert.Throws<ShapeException>(fun () -> m.Fit(x, y, validationX = vx, validationY = y, verbose = 0) |> ignore)
    Assert.Contains("fit validation data: model 'sequential' takes samples of shape (5,) but x has shape (10,4)", e3.Message)

[<Theory>]
[<InlineData(Single.NaN, "NaN")>]
[<InlineData(Single.PositiveInfinity, "∞")>]
[<InlineData(1.5f, "1.5")>]
let ``a float label that is not a whole number is refused naming the sample and value, not cast`` (bad: float32, shown: string) =
    let m = model ()
    let x = Tensor.FromArray(Array.init 20 (fun i -> float32 i * 0.1f), [| 4; 5 |])
    let y = Tensor.FromArray([| 1.0f; bad; 0.0f; 2.0f |], [| 4 |])
    let e = Assert.Throws<ArgumentException>(fun () -> m.Fit(x, y, verbose = 0) |> ignore)
    Assert.Contains(sprintf "fit: label %s at sample 1 is not a class index" (if shown = "∞" then Single.PositiveInfinity.ToString("R", Globalization.CultureInfo.InvariantCulture) else shown), e.Message)
    let e2 = Assert.Throws<ArgumentException>(fun () -> m.Evaluate(x, y) |> ignore)
    Assert.Contains("evaluate: label", e2.Message)
    m.Fit(x, Tensor.FromArray([| 1.0f; 2.0f; 0.0f; 2.0f |], [| 4 |]), verbose = 0) |> ignore     // whole numbers as floats train

[<Fact>]
let ``two layers with one name are refused when the model is made or the layer added, as Keras does`` () =
    let e = Assert.Throws<ArgumentException>(fun () ->
        Sequential([ Dense(4, "relu", name = "a") :> Layer; Dense(3, "softmax", name = "a") :> Layer ]) |> ignore)
    Assert.Contains("a layer named 'a' is already in the model", e.Message)
    let m = Sequential([ Dense(4, "relu", name = "a") :> Layer ], name = "mine")
    let e2 = Assert.Throws<ArgumentException>(fun () -> m.Add(Dense(3, name = "a")))
    Assert.Contains("model 'mine': a layer named 'a' is already in the model", e2.Message)
    // Unnamed layers are named around the names already taken.
    let auto = Sequential([ Dense(4, name = "dense_1") :> Layer; Dense(3) :> Layer; Dense(2) :> Layer ])
    auto.Build [| 5 |]
    Assert.Equal<string[]>([| "dense_1"; "dense"; "dense_2" |], auto.Layers |> Seq.map (fun l -> l.Name) |> Array.ofSeq)

[<Fact>]
let ``ArrayData OfLabels and OfTargets refuse x and labels or targets of different sample counts, naming both`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> ArrayData.OfLabels(Array.zeroCreate 1280, 20, Array.zeroCreate 60) |> ignore)
    Assert.Contains("ArrayData.OfLabels: x has 1280 values (64 samples × 20 features) but labels has 60 entries", e.Message)
    Assert.Equal("x", e.ParamName)
    Assert.Equal("labels", Assert.Throws<ArgumentNullException>(fun () -> ArrayData.OfLabels(Array.zeroCreate 20, 20, null) |> ignore).ParamName)
    Assert.Equal("x", Assert.Throws<ArgumentNullException>(fun () -> ArrayData.OfLabels(null, 20, [| 1 |]) |> ignore).ParamName)
    Assert.Equal("features", Assert.Throws<ArgumentOutOfRangeException>(fun () -> ArrayData.OfLabels([||], 0, [||]) |> ignore).ParamName)
    let t = Assert.Throws<ArgumentException>(fun () -> ArrayData.OfTargets(Array.zeroCreate 40, 20, Array.zeroCreate 30, 10) |> ignore)
    Assert.Contains("x has 40 values (2 samples × 20 features) but targets has 30 entries (10 per sample), i.e. 3 samples", t.Message)
    let r = Assert.Throws<ArgumentException>(fun () -> ArrayData.OfTargets(Array.zeroCreate 40, 20, Array.zeroCreate 25, 10) |> ignore)
    Assert.Contains("targets has 25 values, not a whole number of rows of 10 outputs", r.Message)
    let d = ArrayData.OfTargets(Array.zeroCreate 40, 20, Array.zeroCreate 20, 10)
    Assert.Equal(2, d.Count)
    Assert.Null(d.Labels)

[<Fact>]
let ``compile takes Keras' argument names and refuses a null loss naming it`` () =
    let m = Sequential([ Dense(3, "softmax") :> Layer ])
    m.Compile(optimizer = SGD(0.1), loss = "categorical_crossentropy", metrics = [ "accuracy" ])
    Assert.Equal("categorical_crossentropy", m.Loss.Name)
    let e = Assert.Throws<ArgumentNullException>(fun () -> m.Compile(SGD(0.1), null))
    Assert.Equal("loss", e.ParamName)
    Assert.Equal("optimizer", Assert.Throws<ArgumentNullException>(fun () -> m.Compile(Unchecked.defaultof<Optimizer>, "mse")).ParamName)

[<Fact>]
let ``one-hot y with a sparse loss is refused naming its shape and the loss to use`` () =
    let m = model ()
    let e = Assert.Throws<ShapeException>(fun () -> m.Fit(Tensor.Zeros [| 6; 5 |], Tensor.Zeros [| 6; 3 |], verbose = 0) |> ignore)
    Assert.Contains("fit: a sparse loss takes y as (N,) integer class labels, got y of shape (6,3)", e.Message)
    Assert.Contains("categorical_crossentropy", e.Message)
    m.Fit(Tensor.Zeros [| 6; 5 |], Tensor.Zeros [| 6; 1 |], verbose = 0) |> ignore      // (N, 1) labels, as Keras takes them

[<Fact>]
let ``PredictArrays takes the ArrayData fit and evaluate take`` () =
    let m = model ()
    let d = data 4 5
    Assert.Equal<float32>(m.PredictArrays(d.X, 5), m.PredictArrays d)
    Assert.Equal(12, (m.PredictArrays d).Length)
