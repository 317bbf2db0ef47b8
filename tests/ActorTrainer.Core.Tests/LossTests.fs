module ActorTrainer.Core.Tests.LossTests

open System
open Xunit
open ActorTrainer.Core

let private ro (a: float32[]) = ReadOnlySpan<float32>(a)
let private noLabels () = ReadOnlySpan<int>.Empty
let private noTargets () = ReadOnlySpan<float32>.Empty

/// Engine loss sum for probabilities given directly (act = Linear, z = y).
let private engineSum (loss: Loss) (y: float32[]) (labels: int[]) (targets: float32[]) (rows: int) (width: int) =
    LossKernels.lossAndGrad loss Activation.Linear (ro y) (ro y)
        (if isNull labels then noLabels () else ReadOnlySpan labels)
        (if isNull targets then noTargets () else ro targets) rows width rows Span.Empty

/// Engine per-sample losses (each row on its own).
let private enginePerSample (loss: Loss) (y: float32[]) (labels: int[]) (targets: float32[]) (rows: int) (width: int) =
    Array.init rows (fun r ->
        let yr = Array.sub y (r * width) width
        LossKernels.lossAndGrad loss Activation.Linear (ro yr) (ro yr)
            (if isNull labels then noLabels () else ReadOnlySpan(labels, r, 1))
            (if isNull targets then noTargets () else ReadOnlySpan(targets, r * width, width)) 1 width 1 Span.Empty)

let private tapeLoss (loss: Loss) (fromLogits: bool) (yTrue: Tensor) (yPred: Tensor) =
    (TapeOps.loss loss fromLogits yTrue yPred).ToScalar()

let private near (tol: float) (expected: float) (actual: float) =
    Assert.True(abs (expected - actual) <= tol, sprintf "expected %.6f, got %.6f" expected actual)

let private scceProbs = [| 0.05f; 0.95f; 0.0f; 0.1f; 0.8f; 0.1f |]
let private scceLabels = [| 1; 2 |]
let private oneHot = [| 0.0f; 1.0f; 0.0f; 0.0f; 0.0f; 1.0f |]

[<Fact>]
let ``sparse categorical crossentropy matches the Keras documentation`` () =
    let per = enginePerSample Loss.SparseCategoricalCrossentropy scceProbs scceLabels null 2 3
    near 1e-4 0.0513 per.[0]
    near 1e-4 2.3026 per.[1]
    near 1e-4 1.1769 (engineSum Loss.SparseCategoricalCrossentropy scceProbs scceLabels null 2 3 / 2.0)
    near 1e-4 1.1769 (tapeLoss Loss.SparseCategoricalCrossentropy false (Tensor.FromArray scceLabels) (Tensor.FromArray(scceProbs, [| 2; 3 |])))

[<Fact>]
let ``categorical crossentropy with one-hot targets matches the Keras documentation`` () =
    let per = enginePerSample Loss.CategoricalCrossentropy scceProbs null oneHot 2 3
    near 1e-4 0.0513 per.[0]
    near 1e-4 2.3026 per.[1]
    near 1e-4 1.1769 (engineSum Loss.CategoricalCrossentropy scceProbs null oneHot 2 3 / 2.0)
    near 1e-4 1.1769 (tapeLoss Loss.CategoricalCrossentropy false (Tensor.FromArray(oneHot, [| 2; 3 |])) (Tensor.FromArray(scceProbs, [| 2; 3 |])))

[<Fact>]
let ``binary crossentropy matches the Keras documentation`` () =
    let t = [| 0.0f; 1.0f; 0.0f; 0.0f |]
    let p = [| 0.6f; 0.4f; 0.4f; 0.6f |]
    let per = enginePerSample Loss.BinaryCrossentropy p null t 2 2
    near 1e-4 0.9163 per.[0]
    near 1e-4 0.7136 per.[1]
    near 1e-4 0.8149 (engineSum Loss.BinaryCrossentropy p null t 2 2 / 2.0)
    near 1e-4 0.8149 (tapeLoss Loss.BinaryCrossentropy false (Tensor.FromArray(t, [| 2; 2 |])) (Tensor.FromArray(p, [| 2; 2 |])))

[<Fact>]
let ``mean squared error matches the Keras documentation`` () =
    let t = [| 0.0f; 1.0f; 0.0f; 0.0f |]
    let p = [| 1.0f; 1.0f; 1.0f; 0.0f |]
    let per = enginePerSample Loss.MeanSquaredError p null t 2 2
    Assert.Equal<float[]>([| 0.5; 0.5 |], per)
    Assert.Equal(0.5, engineSum Loss.MeanSquaredError p null t 2 2 / 2.0)
    near 1e-7 0.5 (tapeLoss Loss.MeanSquaredError false (Tensor.FromArray(t, [| 2; 2 |])) (Tensor.FromArray(p, [| 2; 2 |])))

let private softmax (z: float32[]) =
    let m = Array.max z
    let e = z |> Array.map (fun v -> exp (float (v - m)))
    let s = Array.sum e
    e |> Array.map (fun v -> float32 (v / s))

[<Fact>]
let ``fused softmax sparse crossentropy equals minus log_softmax`` () =
    let z = [| 1.5f; -0.3f; 0.2f; 2.0f; 0.0f; -1.0f |]
    let y = Array.append (softmax z.[0..2]) (softmax z.[3..5])
    let labels = [| 2; 0 |]
    let got = LossKernels.lossAndGrad Loss.SparseCategoricalCrossentropy Activation.Softmax (ro z) (ro y) (ReadOnlySpan labels) (noTargets ()) 2 3 2 Span.Empty
    let logSoftmax (row: float32[]) (l: int) =
        let m = float (Array.max row)
        float row.[l] - m - log (row |> Array.sumBy (fun v -> exp (float v - m)))
    let expected = -(logSoftmax z.[0..2] 2) - logSoftmax z.[3..5] 0
    near 1e-5 expected got
    let tape = tapeLoss Loss.SparseCategoricalCrossentropy true (Tensor.FromArray labels) (Tensor.FromArray(z, [| 2; 3 |]))
    near 1e-5 (expected / 2.0) tape

[<Fact>]
let ``fused losses stay finite and exact for huge logits`` () =
    let z = [| 1000.0f; 0.0f |]
    let y = softmax z
    let sparse l = LossKernels.lossAndGrad Loss.SparseCategoricalCrossentropy Activation.Softmax (ro z) (ro y) (ReadOnlySpan [| l |]) (noTargets ()) 1 2 1 Span.Empty
    Assert.Equal(1000.0, sparse 1)
    Assert.Equal(0.0, sparse 0)
    let cat = LossKernels.lossAndGrad Loss.CategoricalCrossentropy Activation.Softmax (ro z) (ro y) (noLabels ()) (ro [| 0.0f; 1.0f |]) 1 2 1 Span.Empty
    Assert.Equal(1000.0, cat)
    let dz = Array.zeroCreate<float32> 2
    LossKernels.lossAndGrad Loss.SparseCategoricalCrossentropy Activation.Softmax (ro z) (ro y) (ReadOnlySpan [| 1 |]) (noTargets ()) 1 2 1 (Span dz) |> ignore
    Assert.Equal<float32[]>([| 1.0f; -1.0f |], dz)
    let tape = tapeLoss Loss.SparseCategoricalCrossentropy true (Tensor.FromArray [| 1 |]) (Tensor.FromArray(z, [| 1; 2 |]))
    Assert.Equal(1000.0, tape)
    // sigmoid + binary crossentropy from logits: log(1 + e^1000) = 1000 without overflow
    let zb = [| 1000.0f; -1000.0f |]
    let yb = [| 1.0f; 0.0f |]
    let bce = LossKernels.lossAndGrad Loss.BinaryCrossentropy Activation.Sigmoid (ro zb) (ro yb) (noLabels ()) (ro [| 0.0f; 1.0f |]) 1 2 1 Span.Empty
    Assert.Equal(1000.0, bce)
    let tapeB = tapeLoss Loss.BinaryCrossentropy true (Tensor.FromArray([| 0.0f; 1.0f |], [| 1; 2 |])) (Tensor.FromArray(zb, [| 1; 2 |]))
    Assert.Equal(1000.0, tapeB)

let private relErr (a: float32[]) (b: float32[]) =
    let num = Array.map2 (fun (x: float32) (y: float32) -> let d = float x - float y in d * d) a b |> Array.sum |> sqrt
    let den = b |> Array.sumBy (fun v -> float v * float v) |> sqrt
    num / max den 1e-6

let private rows, inDim, units = 5, 4, 3

let private gradientCase (loss: Loss) (actName: string) =
    let act = Activation.Parse actName
    // positive inputs and (for crossentropies) small positive kernels keep linear/relu/tanh outputs inside (0, 1)
    let kInit = if loss = Loss.BinaryCrossentropy || loss = Loss.MeanSquaredError then Initializer.RandomUniform(-0.5, 0.5)
                else Initializer.RandomUniform(0.02, 0.2)
    let layer = Dense(units, actName, kInit, Initializer.RandomUniform(0.0, 0.05), true, "dense")
    layer.Build([| inDim |], 42)
    let x = Array.init (rows * inDim) (fun i -> float32 (0.1 + 0.9 * float ((i * 37) % 17) / 17.0))
    let labels = [| 0; 2; 1; 2; 0 |]
    let targets =
        match loss with
        | Loss.CategoricalCrossentropy -> Array.init (rows * units) (fun i -> if i % units = labels.[i / units] then 1.0f else 0.0f)
        | Loss.BinaryCrossentropy -> Array.init (rows * units) (fun i -> if (i * 7) % 3 = 0 then 1.0f else 0.0f)
        | _ -> Array.init (rows * units) (fun i -> float32 ((i * 5) % 7) / 7.0f)
    let weights = layer.Variables |> Array.map (fun v -> v.Value.ToFloat32Array())
    let plan = { InputDim = inDim; Layers = [| PlanLayer.Dense(inDim, units, true, act) |]; Loss = loss }
    let engine = GradientEngine(plan, rows)
    let grads = weights |> Array.map (fun w -> Array.zeroCreate<float32> w.Length)
    let st = engine.ComputeGradients(weights, ro x, (if loss.SparseTargets then ReadOnlySpan labels else noLabels ()),
                                     (if loss.SparseTargets then noTargets () else ro targets), rows, rows, 0L, grads)
    let yTrue = if loss.SparseTargets then Tensor.FromArray labels else Tensor.FromArray(targets, [| rows; units |])
    use tape = new GradientTape()
    let l = TapeOps.loss loss false yTrue (layer.Call(Tensor.FromArray(x, [| rows; inDim |]), false))
    let tg = tape.Gradient(l, layer.Variables) |> Array.map (fun t -> t.ToFloat32Array())
    let what = sprintf "%s + %s" loss.Name actName
    Assert.True(abs (st.LossSum / float rows - l.ToScalar()) <= 1e-5 * max 1.0 (abs (l.ToScalar())),
                sprintf "%s: engine loss %.8f vs tape loss %.8f" what (st.LossSum / float rows) (l.ToScalar()))
    Assert.True(tg.[0] |> Array.exists (fun v -> v <> 0.0f), sprintf "%s: tape kernel gradient is all zeros" what)
    for i in 0 .. 1 do
        let e = relErr grads.[i] tg.[i]
        Assert.True(e < 1e-4, sprintf "%s weight %d: relative error %.3g (engine %A, tape %A)" what i e grads.[i] tg.[i])

let lossActivationCases : obj[] seq =
    seq {
        for l in [ "sparse_categorical_crossentropy"; "categorical_crossentropy"; "binary_crossentropy"; "mse" ] do
            for a in [ "softmax"; "sigmoid"; "linear"; "relu"; "tanh" ] do
                yield [| box l; box a |] }

[<Theory>]
[<MemberData(nameof lossActivationCases)>]
let ``engine gradient equals GradientTape gradient`` (lossName: string) (activation: string) =
    gradientCase (Loss.Parse lossName) activation

[<Fact>]
let ``label out of range names the label and the sample`` () =
    let y = [| 0.2f; 0.3f; 0.5f; 0.1f; 0.1f; 0.8f |]
    for act in [ Activation.Linear; Activation.Softmax ] do
        let ex = Assert.Throws<ArgumentOutOfRangeException>(fun () ->
            LossKernels.lossAndGrad Loss.SparseCategoricalCrossentropy act (ro y) (ro y) (ReadOnlySpan [| 1; 3 |]) (noTargets ()) 2 3 2 Span.Empty |> ignore)
        Assert.Equal("labels", ex.ParamName)
        Assert.Contains("label 3 of sample 1", ex.Message)
    let ex2 = Assert.Throws<ArgumentOutOfRangeException>(fun () ->
        LossKernels.correct Loss.SparseCategoricalCrossentropy (ro y) (ReadOnlySpan [| -1; 0 |]) (noTargets ()) 2 3 |> ignore)
    Assert.Contains("label -1 of sample 0", ex2.Message)

[<Fact>]
let ``correct counts argmax and thresholded hits`` () =
    let y = [| 0.2f; 0.3f; 0.5f; 0.7f; 0.2f; 0.1f |]
    Assert.Equal(1.0, LossKernels.correct Loss.SparseCategoricalCrossentropy (ro y) (ReadOnlySpan [| 2; 1 |]) (noTargets ()) 2 3)
    Assert.Equal(2.0, LossKernels.correct Loss.CategoricalCrossentropy (ro y) (noLabels ()) (ro [| 0.0f; 0.0f; 1.0f; 1.0f; 0.0f; 0.0f |]) 2 3)
    // binary: per-sample mean of (p > 0.5) = t → row 0: 2/3, row 1: 3/3
    Assert.Equal(5.0 / 3.0, LossKernels.correct Loss.BinaryCrossentropy (ro y) (noLabels ()) (ro [| 0.0f; 0.0f; 1.0f; 1.0f; 0.0f; 0.0f |]) 2 3, 12)

[<Fact>]
let ``Loss names parse and print`` () =
    Assert.Equal(Loss.MeanSquaredError, Loss.Parse "mean_squared_error")
    Assert.Equal(Loss.MeanSquaredError, Loss.Parse " MSE ")
    Assert.Equal("sparse_categorical_crossentropy", Loss.SparseCategoricalCrossentropy.Name)
    Assert.True(Loss.SparseCategoricalCrossentropy.SparseTargets)
    Assert.False(Loss.CategoricalCrossentropy.SparseTargets)
    let ex = Assert.Throws<ArgumentException>(fun () -> Loss.Parse "hinge" |> ignore)
    Assert.Equal("loss", ex.ParamName)
    Assert.Contains("'hinge'", ex.Message)

[<Fact>]
let ``Metrics resolve validates names against the loss`` () =
    Assert.Equal("accuracy", Metrics.resolve Loss.SparseCategoricalCrossentropy "acc")
    Assert.Equal("accuracy", Metrics.resolve Loss.MeanSquaredError "Accuracy")
    Assert.Equal("sparse_categorical_accuracy", Metrics.resolve Loss.SparseCategoricalCrossentropy "sparse_categorical_accuracy")
    Assert.Equal("binary_accuracy", Metrics.resolve Loss.BinaryCrossentropy "binary_accuracy")
    Assert.Equal("categorical_accuracy", Metrics.resolve Loss.CategoricalCrossentropy "categorical_accuracy")
    let ex = Assert.Throws<ArgumentException>(fun () -> Metrics.resolve Loss.SparseCategoricalCrossentropy "f1" |> ignore)
    Assert.Equal("metrics", ex.ParamName)
    Assert.Contains("unknown metric 'f1'", ex.Message)
    let ex2 = Assert.Throws<ArgumentException>(fun () -> Metrics.resolve Loss.BinaryCrossentropy "sparse_categorical_accuracy" |> ignore)
    Assert.Contains("does not apply to loss 'binary_crossentropy'", ex2.Message)

[<Fact>]
let ``Metrics format follows Keras`` () =
    Assert.Equal("0.2579", Metrics.format 0.25794)
    Assert.Equal("1.0000", Metrics.format 1.0)
    Assert.Equal("5.0000e-04", Metrics.format 0.0005)
    Assert.Equal("nan", Metrics.format nan)
    Assert.Equal("0.0000e+00", Metrics.format 0.0)
    Assert.Equal("1.0000e-03", Metrics.format 0.001)
    Assert.Equal("12.3457", Metrics.format 12.345678)
