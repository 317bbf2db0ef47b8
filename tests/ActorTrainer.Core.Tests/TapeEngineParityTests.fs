/// The GradientTape path and the flat engine (GradientEngine) give the same loss and gradients for every layer type
/// and loss, dropout in training mode included: same weights, inputs and seed on both sides.
module ActorTrainer.Core.Tests.TapeEngineParityTests

open System
open Xunit
open ActorTrainer.Core

let private rows, inDim, outDim = 6, 5, 4
let private dropSeed = 11

let private x = Array.init (rows * inDim) (fun i -> float32 (Math.Sin(float i * 1.3) * 0.9 + 0.2))
let private labels = Array.init rows (fun r -> (r * 3 + 1) % outDim)

let private targetsFor (loss: Loss) =
    match loss with
    | Loss.CategoricalCrossentropy -> Array.init (rows * outDim) (fun i -> if i % outDim = labels.[i / outDim] then 1.0f else 0.0f)
    | Loss.BinaryCrossentropy -> Array.init (rows * outDim) (fun i -> if (i * 7) % 3 = 0 then 1.0f else 0.0f)
    | _ -> Array.init (rows * outDim) (fun i -> float32 ((i * 5) % 7) / 7.0f - 0.3f)

/// Tape: loss of the model's logits through the last layer's activation (fused like the engine), gradients of every
/// variable. Engine: ComputeGradients on the same plan, weights and dropout seed. Returns both for comparison.
let private run (layers: Layer list) (lossName: string) =
    let m = Sequential(layers, inputShape = [| inDim |], seed = 5)
    m.Build [| inDim |]
    m.Compile(SGD(), lossName)
    // m.Plan sets each Dropout's PlanIndex, so the tape's masks below are the engine's
    let plan = m.Plan
    let loss = plan.Loss
    let targets = targetsFor loss
    let yTrue = if loss.SparseTargets then Tensor.FromArray labels else Tensor.FromArray(targets, [| rows; outDim |])
    let last = List.last layers
    let tapeLoss, tapeGrads =
        use tape = new GradientTape()
        let l = TapeOps.lossAfter loss last.OutputActivation yTrue (m.CallLogits(Tensor.FromArray(x, [| rows; inDim |]), true))
        let vars = m.TrainableVariables
        l.ToScalar(), tape.Gradient(l, vars) |> Array.map (fun t -> t.ToFloat32Array())
    let weights = m.GetWeights()
    let grads = weights |> Array.map (fun w -> Array.zeroCreate<float32> w.Length)
    let engine = GradientEngine(plan, rows)
    // the tape's Dropout.Call number 1 uses Seeds.derive [seed; 1]; the engine takes that seed for the step
    let st = engine.ComputeGradients(weights, ReadOnlySpan x, (if loss.SparseTargets then ReadOnlySpan labels else ReadOnlySpan.Empty),
                                     (if loss.SparseTargets then ReadOnlySpan.Empty else ReadOnlySpan targets), rows, rows,
                                     Seeds.derive [| int64 dropSeed; 1L |], grads)
    (tapeLoss, tapeGrads), (st.LossSum / float rows, grads)

/// |tape − engine| ≤ 1e-5 · max(1, |engine|) for the loss, and per element ≤ 1e-5 · max|engine gradient| for the gradients.
let private assertParityWith (nonZero: bool) (what: string) (layers: Layer list) (lossName: string) =
    let (tl, tg), (el, eg) = run layers lossName
    // a crossentropy of outputs that are no probabilities (e.g. all-zero relu outputs) is NaN on both sides, as in Keras
    Assert.True((Double.IsNaN tl && Double.IsNaN el) || abs (tl - el) <= 1e-5 * max 1.0 (abs el), sprintf "%s: tape loss %.9g, engine loss %.9g" what tl el)
    Assert.Equal(eg.Length, tg.Length)
    if nonZero then
        Assert.True(eg |> Array.exists (Array.exists (fun v -> v <> 0.0f)), sprintf "%s: all engine gradients are zero" what)
    for i in 0 .. eg.Length - 1 do
        let scale = eg.[i] |> Array.fold (fun acc v -> max acc (abs v)) 1e-30f
        for j in 0 .. eg.[i].Length - 1 do
            let d = abs (tg.[i].[j] - eg.[i].[j])
            let bothNaN = Single.IsNaN tg.[i].[j] && Single.IsNaN eg.[i].[j]
            Assert.True(bothNaN || d <= 1e-5f * scale, sprintf "%s: weight %d[%d] tape %.9g engine %.9g" what i j tg.[i].[j] eg.[i].[j])

let private assertParity = assertParityWith true

/// Whether some gradient must be non-zero: crossentropies need probabilities (sigmoid/softmax outputs; others are
/// clipped), and a relu output can be dead (all zero) for the few samples here.
let private producesProbabilities (lossName: string) (activation: string) =
    (lossName = "mse" && activation <> "relu") || activation = "sigmoid" || activation = "softmax"

let private losses = [ "sparse_categorical_crossentropy"; "categorical_crossentropy"; "binary_crossentropy"; "mse" ]
let private activations = [ "linear"; "relu"; "sigmoid"; "tanh"; "softmax" ]

let lossActivationCases : obj[] seq = seq { for l in losses do for a in activations -> [| box l; box a |] }
let lossCases : obj[] seq = seq { for l in losses -> [| box l |] }

[<Theory>]
[<MemberData(nameof lossActivationCases)>]
let ``Dense with each activation: tape gradients equal engine gradients`` (lossName: string) (activation: string) =
    assertParity (sprintf "Dense(%s) + %s" activation lossName)
        [ Dense(7, "tanh") :> Layer; Dense(outDim, activation) ] lossName

[<Theory>]
[<MemberData(nameof lossActivationCases)>]
let ``Activation layer: tape gradients equal engine gradients`` (lossName: string) (activation: string) =
    // crossentropies clip outputs that are no probabilities (linear, relu, tanh); a relu output can be dead
    assertParityWith (producesProbabilities lossName activation) (sprintf "Activation(%s) + %s" activation lossName)
        [ Dense(7, "relu") :> Layer; ActivationLayer("sigmoid"); Dense(outDim); ActivationLayer(activation) ] lossName

[<Theory>]
[<MemberData(nameof lossCases)>]
let ``Dropout in training: tape gradients equal engine gradients`` (lossName: string) =
    let act = if lossName = "binary_crossentropy" then "sigmoid" else "softmax"
    assertParity (sprintf "Dropout + %s" lossName)
        [ Dense(16, "relu") :> Layer; Dropout(0.4, dropSeed); Dense(8, "tanh"); Dropout(0.25, dropSeed); Dense(outDim, act) ] lossName

[<Fact>]
let ``Dropout first and last: tape gradients equal engine gradients`` () =
    assertParity "Dropout first/last" [ Dropout(0.3, dropSeed) :> Layer; Dense(outDim, "relu"); Dropout(0.5, dropSeed) ] "mse"

[<Fact>]
let ``tape Dropout draws the engine's mask`` () =
    let rate = 0.3
    let n = 257
    let d = Dropout(rate, dropSeed)
    d.PlanIndex <- 2
    let ones = Tensor.FromArray(Array.create n 1.0f, [| 1; n |])
    let tape = (d.Call(ones, true)).ToFloat32Array()
    let mask = Array.zeroCreate<float32> n
    DropoutKernels.mask (Seeds.derive [| int64 dropSeed; 1L |]) 2 rate (Span mask)
    Assert.Equal<float32[]>(mask, tape)
    let second = (d.Call(ones, true)).ToFloat32Array()
    Assert.NotEqual<float32[]>(tape, second)

[<Fact>]
let ``Plan sets each Dropout's PlanIndex to its plan position (Flatten has none)`` () =
    let d0, d1 = Dropout(0.2, dropSeed), Dropout(0.3, dropSeed)
    let m = Sequential([ Flatten() :> Layer; d0; Dense(6, "relu"); Flatten(); d1; Dense(outDim) ], inputShape = [| 1; inDim |])
    m.Build [| 1; inDim |]
    Assert.Equal((0, 0), (d0.PlanIndex, d1.PlanIndex))
    let plan = m.Plan
    Assert.Equal((0, 2), (d0.PlanIndex, d1.PlanIndex))
    Assert.Equal(PlanLayer.Dropout 0.3, plan.Layers.[2])

[<Fact>]
let ``Flatten before Dropout: tape gradients equal engine gradients`` () =
    assertParity "Flatten/Dropout" [ Flatten() :> Layer; Dense(6, "relu"); Flatten(); Dropout(0.5, dropSeed); Dense(outDim, "softmax") ] "categorical_crossentropy"

[<Fact>]
let ``Dense with every activation: tape and engine gradients are bit-equal (same kernels, same order)`` () =
    for l in losses do
        for a in activations do
            let (tl, tg), (el, eg) = run [ Dense(7, "tanh") :> Layer; Dropout(0.3, dropSeed); Dense(outDim, a) ] l
            for i in 0 .. eg.Length - 1 do
                Assert.True((tg.[i] = eg.[i]), sprintf "%s + %s: weight %d differs" a l i)

[<Fact>]
let ``inference: model Call equals engine Predict bit for bit for every layer type`` () =
    for a in activations do
        let layers = [ Dense(7, "relu") :> Layer; Dropout(0.3, dropSeed); Dense(6, "sigmoid"); ActivationLayer("tanh"); Dense(outDim, a) ]
        let m = Sequential(layers, inputShape = [| inDim |], seed = 9)
        m.Build [| inDim |]
        m.Compile(SGD(), "mse")
        let tape = (m.Call(Tensor.FromArray(x, [| rows; inDim |]), false)).ToFloat32Array()
        let engine = GradientEngine(m.Plan, rows).Predict(m.GetWeights(), ReadOnlySpan x, rows).ToArray()
        Assert.True((tape = engine), sprintf "%s: tape %A engine %A" a tape engine)

[<Fact>]
let ``the engine over memory views of weights and gradients gives the arrays' bits`` () =
    let m = Sequential([ Dense(7, "relu") :> Layer; Dropout(0.25) :> Layer; Dense(outDim, "softmax") :> Layer ], inputShape = [| inDim |], seed = 5)
    m.Compile(SGD(), "sparse_categorical_crossentropy")
    let weights = m.GetWeights()
    let grads = weights |> Array.map (fun w -> Array.zeroCreate<float32> w.Length)
    let engine = GradientEngine(m.Plan, rows)
    let st = engine.ComputeGradients(weights, ReadOnlySpan x, ReadOnlySpan labels, ReadOnlySpan.Empty, rows, rows, 9L, grads)
    // the views lie inside larger buffers, at odd offsets (as in a file both processes map)
    let place (a: float32[]) = let b = Array.create (a.Length + 11) nanf in Array.blit a 0 b 3 a.Length; b
    let wb = weights |> Array.map place
    let gb = grads |> Array.map (fun g -> Array.create (g.Length + 11) nanf)
    let wm = wb |> Array.mapi (fun i b -> ReadOnlyMemory(b, 3, weights.[i].Length))
    let gm = gb |> Array.mapi (fun i b -> Memory(b, 5, grads.[i].Length))
    let sm = engine.ComputeGradients(wm, ReadOnlySpan x, ReadOnlySpan labels, ReadOnlySpan.Empty, rows, rows, 9L, gm)
    Assert.Equal(st, sm)
    for i in 0 .. grads.Length - 1 do
        Assert.Equal<float32[]>(grads.[i], gm.[i].ToArray())
    let ex = Assert.Throws<ArgumentException>(fun () ->
        engine.ComputeGradients(wm.[1..], ReadOnlySpan x, ReadOnlySpan labels, ReadOnlySpan.Empty, rows, rows, 9L, gm.[1..]) |> ignore)
    Assert.Contains("weight and gradient views", ex.Message)
