/// Errors and texts a user reproducing the book's chapter 2 meets: a layer called before it is built, a tensor whose
/// sample shape is not the model's, a gradient of the wrong shape, and dtypes in interpolated strings.
module ActorTrainer.Core.Tests.UsageErrorTests

open System
open Xunit
open ActorTrainer.Core

[<Fact>]
let ``calling an unbuilt Dense says to build it, naming the layer, instead of a NullReferenceException`` () =
    let d = Dense(4, "relu")
    let x = Tensor.Ones([| 2; 3 |])
    Assert.Null(d.Kernel)
    Assert.Empty(d.Variables)
    Assert.Equal(0, d.CountParams())
    let e = Assert.Throws<InvalidOperationException>(fun () -> d.Call(x, false) |> ignore)
    Assert.Contains("Call: layer Dense (unnamed) is not built", e.Message)
    Assert.Contains("call Build(inputShape, seed) first", e.Message)
    Assert.Contains("put it in a Sequential", e.Message)
    let named = Dense(4, name = "hidden")
    let e2 = Assert.Throws<InvalidOperationException>(fun () -> named.CallLogits(x, false) |> ignore)
    Assert.Contains("CallLogits: layer 'hidden' (Dense) is not built", e2.Message)
    d.Build([| 3 |], 7)
    Assert.Equal<int[]>([| 2; 4 |], d.Call(x, false).Shape)
    Assert.Equal(2, d.Variables.Length)

let private compiled () =
    let m = Sequential([ Dense(8, "relu") :> Layer; Dense(10, "softmax") :> Layer ], inputShape = [| 784 |], seed = 2)
    m.Compile(SGD(), "sparse_categorical_crossentropy", [ "accuracy" ])
    m

[<Fact>]
let ``predict, evaluate and fit refuse a tensor whose sample shape is not the model's input shape`` () =
    let m = compiled ()
    let before = m.WeightsSha256()
    let y = Tensor.FromArray(Array.init 10 (fun i -> i % 10))
    for shape in [ [| 10; 28; 28 |]; [| 10; 7; 112 |] ] do
        let x = Tensor.Zeros shape
        let shown = if shape.[1] = 28 then "(10,28,28) (samples of shape (28,28))" else "(10,7,112) (samples of shape (7,112))"
        let check (what: string) (f: unit -> obj) =
            let e = Assert.Throws<ShapeException>(fun () -> f () |> ignore)
            Assert.Contains(sprintf "%s: model 'sequential' takes samples of shape (784,) but x has shape %s: reshape x to (10,784), or make the model take such samples (Flatten as its first layer)" what shown, e.Message)
        check "predict" (fun () -> box (m.Predict x))
        check "evaluate" (fun () -> box (m.Evaluate(x, y)))
        check "fit" (fun () -> box (m.Fit(x, y, verbose = 0)))
        check "fit validation data" (fun () -> box (m.Fit(Tensor.Zeros [| 10; 784 |], y, validationX = x, validationY = y, verbose = 0)))
    Assert.Equal(before, m.WeightsSha256())
    // the model's own sample shape, and flat arrays, still work
    Assert.Equal<int[]>([| 10; 10 |], (m.Predict(Tensor.Zeros [| 10; 784 |])).Shape)
    Assert.True(m.Evaluate(Tensor.Zeros [| 10; 784 |], y).ContainsKey "loss")
    Assert.True(m.EvaluateArrays(ArrayData.OfLabels(Array.zeroCreate 7840, 784, Array.init 10 (fun i -> i))).ContainsKey "loss")

[<Fact>]
let ``a model that takes 28x28 samples through Flatten refuses flat rows as a tensor, and takes them as ArrayData`` () =
    let m = Sequential([ Flatten() :> Layer; Dense(10, "softmax") :> Layer ], inputShape = [| 28; 28 |], seed = 2)
    m.Compile(SGD(), "sparse_categorical_crossentropy")
    let e = Assert.Throws<ShapeException>(fun () -> m.Predict(Tensor.Zeros [| 3; 784 |]) |> ignore)
    Assert.Contains("predict: model 'sequential' takes samples of shape (28,28) but x has shape (3,784)", e.Message)
    Assert.Equal<int[]>([| 3; 10 |], m.Predict(Tensor.Zeros [| 3; 28; 28 |]).Shape)
    Assert.Equal(30, (m.PredictArrays(Array.zeroCreate 2352, 784)).Length)

[<Fact>]
let ``apply_gradients names the shapes NumPy-style, not as F# arrays`` () =
    let v = Variable(Tensor.Zeros [| 3 |])
    let e = Assert.Throws<ShapeException>(fun () -> SGD().ApplyGradients([ struct (Tensor.Zeros [| 4 |], v) ]))
    Assert.Contains("SGD.apply_gradients: gradient shape (4,) does not match variable 'Variable' shape (3,)", e.Message)
    Assert.DoesNotContain("[|", e.Message)

[<Fact>]
let ``engine weight-shape errors name the shape NumPy-style`` () =
    let plan = { InputDim = 3; Layers = [| PlanLayer.Dense(3, 2, true, Activation.Linear) |]; Loss = Loss.MeanSquaredError }
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> let eng = GradientEngine(plan, 1) in eng.Predict([| Array.zeroCreate 5; Array.zeroCreate 2 |], ReadOnlySpan(Array.zeroCreate<float32> 3), 1).Length |> ignore)
    Assert.Contains("weight 0 has 5 elements but shape (3,2) needs 6", e.Message)

[<Fact>]
let ``a dtype prints as its NumPy name, as DType.Name`` () =
    for d in [ Float32; Float64; DType.Int32; Bool ] do
        Assert.Equal(d.Name, d.ToString())
        Assert.Equal(d.Name, string d)
    let t = Tensor.Zeros [| 2 |]
    Assert.Equal("float32", $"{t.DType}")
