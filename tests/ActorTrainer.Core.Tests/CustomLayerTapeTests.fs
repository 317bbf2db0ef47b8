/// A user-defined layer (its own Call, run by the engine through a TapePlanLayer): its training forward pass is
/// recorded once and differentiated by the backward pass that follows, so Call runs once per step and a Call that
/// draws random numbers gets the gradient of the sample it drew; GradientTape's output gradient (TF's
/// output_gradients) against an explicit product.
module ActorTrainer.Core.Tests.CustomLayerTapeTests

open System
open Xunit
open ActorTrainer.Core

let private rows, inDim = 4, 3
let private x = Array.init (rows * inDim) (fun i -> float32 (Math.Cos(float i * 0.7)) * 0.8f + 0.1f)
let private labels = [| 0; 1; 1; 0 |]

/// y = x ⊙ w ⊙ r with w trainable and r = factors[calls] (the next "random" factor, one per call); counts its Calls.
type private Noisy(factors: float32[], name: string) =
    inherit Layer("Noisy", name)
    let mutable w : Variable = null
    member val Calls = 0 with get, set
    override _.BuildWeights(shape, _) = w <- Variable(Tensor.FromArray(Array.init shape.[0] (fun i -> 0.5f + 0.25f * float32 i), [| shape.[0] |]), name + "/w")
    override _.ComputeOutputShape s = s
    override this.Call(x, _) =
        let r = factors.[this.Calls % factors.Length]
        this.Calls <- this.Calls + 1
        x * w.Value * Tensor.Scalar(float r)
    override _.Variables = if isNull w then [||] else [| w |]

/// The engine's gradients of one training step of Dense(3) → Noisy → Dense(2, softmax), and the model's layer.
let private engineStep (factors: float32[]) =
    let noisy = Noisy(factors, "noisy")
    let m = Sequential([ Dense(3) :> Layer; noisy :> Layer; Dense(2, "softmax") :> Layer ], inputShape = [| inDim |], seed = 3)
    m.Compile(SGD(), "sparse_categorical_crossentropy")
    let weights = m.GetWeights()
    let grads = weights |> Array.map (fun a -> Array.zeroCreate<float32> a.Length)
    let engine = GradientEngine(m.Plan, rows)
    noisy.Calls <- 0
    engine.ComputeGradients(weights, ReadOnlySpan x, ReadOnlySpan labels, ReadOnlySpan.Empty, rows, rows, 1L, grads) |> ignore
    m, noisy, grads

[<Fact>]
let ``a custom layer's Call runs once per training step and an inference pass once`` () =
    let m, noisy, _ = engineStep [| 1.0f |]
    Assert.Equal(1, noisy.Calls)                      // before: twice (the forward pass, then again on the tape)
    noisy.Calls <- 0
    m.Predict(Tensor.FromArray(x, [| rows; inDim |])) |> ignore
    Assert.Equal(1, noisy.Calls)

[<Fact>]
let ``a Call that draws a new factor each time gets the gradient of the factor its forward pass drew`` () =
    // the engine's step with factors 2, 7, …: its forward pass draws 2; a second Call would have drawn 7
    let _, _, drawn = engineStep [| 2.0f; 7.0f |]
    let _, _, fixedTwo = engineStep [| 2.0f |]
    let _, _, fixedSeven = engineStep [| 7.0f |]
    for i in 0 .. drawn.Length - 1 do
        Assert.Equal<float32[]>(fixedTwo.[i], drawn.[i])
    Assert.NotEqual<float32[]>(fixedSeven.[2], drawn.[2])   // the factors do make a difference to Noisy's w gradient

[<Fact>]
let ``two custom layers in one model keep their recorded passes apart and match the tape`` () =
    let m = Sequential([ Dense(3) :> Layer; Noisy([| 1.5f |], "noisy_a") :> Layer; Noisy([| -0.5f |], "noisy_b") :> Layer; Dense(2, "softmax") :> Layer ],
                       inputShape = [| inDim |], seed = 3)
    m.Compile(SGD(), "sparse_categorical_crossentropy")
    let weights = m.GetWeights()
    let grads = weights |> Array.map (fun a -> Array.zeroCreate<float32> a.Length)
    GradientEngine(m.Plan, rows).ComputeGradients(weights, ReadOnlySpan x, ReadOnlySpan labels, ReadOnlySpan.Empty, rows, rows, 1L, grads) |> ignore
    let tapeGrads =
        use tape = new GradientTape()
        let l = TapeOps.lossAfter m.Plan.Loss (Seq.last m.Layers).OutputActivation (Tensor.FromArray labels) (m.CallLogits(Tensor.FromArray(x, [| rows; inDim |]), true))
        tape.Gradient(l, m.TrainableVariables) |> Array.map (fun t -> t.ToFloat32Array())
    Assert.Equal(tapeGrads.Length, grads.Length)
    for i in 0 .. grads.Length - 1 do
        for j in 0 .. grads.[i].Length - 1 do
            Assert.True(abs (grads.[i].[j] - tapeGrads.[i].[j]) <= 1e-5f * max 1.0f (abs tapeGrads.[i].[j]),
                        sprintf "weight %d[%d]: engine %.9g, tape %.9g" i j grads.[i].[j] tapeGrads.[i].[j])

[<Fact>]
let ``a backward pass without its recorded forward pass records Call again`` () =
    let noisy = Noisy([| 3.0f |], "noisy")
    let m = Sequential([ noisy :> Layer; Dense(2, "softmax") :> Layer ], inputShape = [| inDim |], seed = 3)
    m.Compile(SGD(), "sparse_categorical_crossentropy")
    let c = m.Plan.Layers |> Array.pick (function PlanLayer.Custom c -> Some c | _ -> None)
    let w = [| m.GetWeights().[0] |]
    let dy = Array.init (rows * inDim) (fun i -> float32 (i % 5) - 2.0f)
    let backward () =
        let g = [| Array.zeroCreate<float32> inDim |]
        let dx = c.Backward(w, Array.copy x, dy, rows, true, g)
        g.[0], dx
    let alone = backward ()                                      // no forward pass before it: Call recorded here
    c.Forward(w, Array.copy x, rows, true) |> ignore
    let afterForward = backward ()                               // the forward pass's record
    let otherRows = c.Forward(w, Array.map (fun v -> v + 1.0f) x, rows, true)   // a record of other rows …
    Assert.Equal(rows * inDim, otherRows.Length)
    let mismatched = backward ()                                 // … is not used for these rows
    for got in [ afterForward; mismatched ] do
        Assert.Equal<float32[]>(fst alone, fst got)
        Assert.Equal<float32[]>(snd alone, snd got)
    Assert.Equal<float32[]>(Array.init (rows * inDim) (fun i -> dy.[i] * w.[0].[i % inDim] * 3.0f), snd alone)

[<Fact>]
let ``an output gradient seeds the backward pass as multiplying the target by it would`` () =
    let a = Tensor.FromArray([| 0.5f; -1.0f; 2.0f; 3.0f |], [| 2; 2 |])
    let seed = Tensor.FromArray([| 1.0f; 2.0f; -3.0f; 0.25f |], [| 2; 2 |])
    let viaSeed =
        use tape = new GradientTape()
        tape.Watch a
        let y = a * a
        tape.Gradient(y, [| a |], seed).[0].ToFloat32Array()
    let viaProduct =
        use tape = new GradientTape()
        tape.Watch a
        tape.Gradient(a * a * seed, a).ToFloat32Array()
    Assert.Equal<float32[]>(viaProduct, viaSeed)
    Assert.Equal<float32[]>([| 1.0f; -4.0f; -12.0f; 1.5f |], viaSeed)
    let viaVariables =
        let v = Variable(a)
        use tape = new GradientTape()
        tape.Gradient(v.Value * v.Value, [| v |], seed).[0].ToFloat32Array()
    Assert.Equal<float32[]>(viaSeed, viaVariables)
    use tape = new GradientTape()
    tape.Watch a
    let e = Assert.Throws<ShapeException>(fun () -> tape.Gradient(a * a, [| a |], Tensor.FromArray([| 1.0f; 2.0f |], [| 2 |])) |> ignore)
    Assert.Contains("outputGradient has shape (2,) but the target has shape (2,2)", e.Message)

[<Fact>]
let ``a plan with a custom layer refuses memory views of its weights with a clear error`` () =
    let m = Sequential([ Dense(3) :> Layer; Noisy([| 1.0f |], "noisy") :> Layer; Dense(2, "softmax") :> Layer ], inputShape = [| inDim |], seed = 3)
    m.Compile(SGD(), "sparse_categorical_crossentropy")
    let wm = m.GetWeights() |> Array.map (fun a -> ReadOnlyMemory a)
    let gm = m.GetWeights() |> Array.map (fun a -> Memory(Array.zeroCreate<float32> a.Length))
    let ex = Assert.Throws<ArgumentException>(fun () ->
        GradientEngine(m.Plan, rows).ComputeGradients(wm, ReadOnlySpan x, ReadOnlySpan labels, ReadOnlySpan.Empty, rows, rows, 1L, gm) |> ignore)
    Assert.Contains("custom layers", ex.Message)
