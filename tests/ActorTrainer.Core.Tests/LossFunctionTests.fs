/// The public loss functions (ActorTrainer.Core.Losses, F#: ActorTrainer.Core.FSharp.Losses), Keras'
/// tf.keras.losses.* for GradientTape code: per-sample values against hand-computed oracles, gradients under the tape
/// against finite differences, and their mean for a Sequential's outputs against what Evaluate reports.
module ActorTrainer.Core.Tests.LossFunctionTests

open System
open Xunit
open ActorTrainer.Core

let private near (tol: float) (expected: float[]) (actual: float32[]) =
    Assert.Equal(expected.Length, actual.Length)
    for i in 0 .. expected.Length - 1 do
        Assert.True(abs (expected.[i] - float actual.[i]) <= tol, sprintf "[%d]: expected %.9f, got %.9f" i expected.[i] actual.[i])

let private logSumExp (z: float[]) = let m = Array.max z in m + log (z |> Array.sumBy (fun v -> exp (v - m)))
let private eps = 1e-7
let private clip (p: float) = max eps (min (1.0 - eps) p)

let private probs = [| 0.05f; 0.95f; 0.0f; 0.1f; 0.8f; 0.1f |]
let private logits = [| 1.5f; -0.3f; 0.2f; -1.0f; 2.0f; 0.7f |]
let private labels = [| 1; 2 |]
let private oneHot = [| 0.0f; 1.0f; 0.0f; 0.0f; 0.0f; 1.0f |]
let private rowOf (a: float32[]) (r: int) = Array.sub a (r * 3) 3 |> Array.map float

[<Fact>]
let ``sparse categorical crossentropy gives per-sample losses (N,) equal to the hand-computed oracle`` () =
    let l = Losses.SparseCategoricalCrossentropy(Tensor.FromArray labels, Tensor.FromArray(probs, [| 2; 3 |]))
    Assert.Equal<int[]>([| 2 |], l.Shape)
    Assert.Equal(Float32, l.DType)
    // Keras: p clipped to [1e-7, 1 − 1e-7] and renormalised: log Σ clip(p) − log clip(p[y]) (Keras' doc: [0.0513, 2.3026])
    let oracle r = let p = rowOf probs r |> Array.map clip in log (Array.sum p) - log p.[labels.[r]]
    near 1e-6 [| oracle 0; oracle 1 |] (l.ToFloat32Array())
    let fromLogits = Losses.SparseCategoricalCrossentropy(Tensor.FromArray labels, Tensor.FromArray(logits, [| 2; 3 |]), fromLogits = true)
    near 1e-6 [| for r in 0 .. 1 -> let z = rowOf logits r in logSumExp z - z.[labels.[r]] |] (fromLogits.ToFloat32Array())
    // labels as (N, 1), as Keras takes them, and as whole-number floats
    let l2 = Losses.SparseCategoricalCrossentropy(Tensor.FromArray([| 1.0f; 2.0f |], [| 2; 1 |]), Tensor.FromArray(probs, [| 2; 3 |]))
    Assert.Equal<float32[]>(l.ToFloat32Array(), l2.ToFloat32Array())

[<Fact>]
let ``categorical, binary crossentropy and mean squared error equal their hand-computed oracles`` () =
    let p = Tensor.FromArray(probs, [| 2; 3 |])
    let t = Tensor.FromArray(oneHot, [| 2; 3 |])
    let cce r = let q = rowOf probs r in let s = Array.sum q in -(Array.map2 (fun tj qj -> tj * log (clip (qj / s))) (rowOf oneHot r) q |> Array.sum)
    near 1e-6 [| cce 0; cce 1 |] (Losses.CategoricalCrossentropy(t, p).ToFloat32Array())
    near 1e-6 [| for r in 0 .. 1 -> let z = rowOf logits r in Array.map2 (fun tj zj -> tj * (logSumExp z - zj)) (rowOf oneHot r) z |> Array.sum |]
         (Losses.CategoricalCrossentropy(t, Tensor.FromArray(logits, [| 2; 3 |]), true).ToFloat32Array())
    // Keras' doc example: binary_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]) = [0.9163, 0.7136]
    let bt, bp = [| 0.0; 1.0; 0.0; 0.0 |], [| 0.6; 0.4; 0.4; 0.6 |]
    let bce r = -([ 0; 1 ] |> List.averageBy (fun j -> let t, q = bt.[2 * r + j], clip bp.[2 * r + j] in t * log q + (1.0 - t) * log (1.0 - q)))
    let bTrue, bPred = Tensor.FromArray(Array.map float32 bt, [| 2; 2 |]), Tensor.FromArray(Array.map float32 bp, [| 2; 2 |])
    near 1e-6 [| bce 0; bce 1 |] (Losses.BinaryCrossentropy(bTrue, bPred).ToFloat32Array())
    near 1e-4 [| 0.9163; 0.7136 |] (Losses.BinaryCrossentropy(bTrue, bPred).ToFloat32Array())
    let bz = [| 0.4; -1.2; 2.0; 0.1 |]
    let bceLogits r = [ 0; 1 ] |> List.averageBy (fun j -> let z, t = bz.[2 * r + j], bt.[2 * r + j] in max z 0.0 - z * t + log (1.0 + exp (-(abs z))))
    near 1e-6 [| bceLogits 0; bceLogits 1 |] (Losses.BinaryCrossentropy(bTrue, Tensor.FromArray(Array.map float32 bz, [| 2; 2 |]), true).ToFloat32Array())
    // Keras' doc example: mean_squared_error([[0, 1], [0, 0]], [[1, 1], [1, 0]]) = [0.5, 0.5]
    near 0.0 [| 0.5; 0.5 |] (Losses.MeanSquaredError(bTrue, Tensor.FromArray([| 1.0f; 1.0f; 1.0f; 0.0f |], [| 2; 2 |])).ToFloat32Array())

/// Σ_r w_r·loss_r, so each row's gradient is checked with its own output-gradient scale.
let private weighted (f: Tensor -> Tensor) (w: float32[]) (p: Tensor) = (f p * Tensor.FromArray w).Sum()

let private checkGradient (what: string) (f: Tensor -> Tensor) (p0: float32[]) (shape: int[]) =
    let rows = shape.[0]
    let w = Array.init rows (fun r -> 0.5f + float32 r)
    let v = Variable(Tensor.FromArray(Array.copy p0, shape))
    let g =
        use tape = new GradientTape()
        tape.Gradient(weighted f w v.Value, v).ToFloat32Array()
    let h = 1e-3f
    let at (x: float32[]) = float ((weighted f w (Tensor.FromArray(x, shape))).ToScalar())
    for i in 0 .. p0.Length - 1 do
        let plus, minus = Array.copy p0, Array.copy p0
        plus.[i] <- p0.[i] + h
        minus.[i] <- p0.[i] - h
        let fd = (at plus - at minus) / (2.0 * float h)
        Assert.True(abs (fd - float g.[i]) <= 2e-3 + 1e-2 * abs fd, sprintf "%s [%d]: tape %.6f, finite difference %.6f" what i g.[i] fd)

[<Fact>]
let ``gradients under the tape equal finite differences for every loss, from probabilities and from logits`` () =
    let p = [| 0.2f; 0.5f; 0.3f; 0.6f; 0.3f; 0.1f; 0.25f; 0.25f; 0.5f |]
    let z = [| 0.3f; -1.1f; 0.8f; 1.4f; 0.2f; -0.5f; -0.7f; 0.9f; 0.1f |]
    let lab = Tensor.FromArray [| 1; 0; 2 |]
    let tgt = Tensor.FromArray([| 0.0f; 1.0f; 0.0f; 1.0f; 0.0f; 0.0f; 0.2f; 0.3f; 0.5f |], [| 3; 3 |])
    let shape = [| 3; 3 |]
    checkGradient "sparse" (fun t -> Losses.SparseCategoricalCrossentropy(lab, t)) p shape
    checkGradient "sparse logits" (fun t -> Losses.SparseCategoricalCrossentropy(lab, t, true)) z shape
    checkGradient "categorical" (fun t -> Losses.CategoricalCrossentropy(tgt, t)) p shape
    checkGradient "categorical logits" (fun t -> Losses.CategoricalCrossentropy(tgt, t, true)) z shape
    checkGradient "binary" (fun t -> Losses.BinaryCrossentropy(tgt, t)) p shape
    checkGradient "binary logits" (fun t -> Losses.BinaryCrossentropy(tgt, t, true)) z shape
    checkGradient "mse" (fun t -> Losses.MeanSquaredError(tgt, t)) z shape

let private rows, features, classes = 40, 6, 3
let private x = Tensor.FromArray(Array.init (rows * features) (fun i -> float32 (sin (float i * 0.71)) * 1.3f), [| rows; features |])
let private y = Tensor.FromArray(Array.init rows (fun r -> (r * 7 + 1) % classes))

let private model () =
    let m = Sequential([ Dense(5, "relu") :> Layer; Dense(classes, "softmax") :> Layer ], inputShape = [| features |], seed = 9)
    m.Compile(SGD(), "sparse_categorical_crossentropy", [ "accuracy" ])
    m

[<Fact>]
let ``the mean of the per-sample loss of a Sequential's outputs is the loss Evaluate reports`` () =
    let m = model ()
    let reported = m.Evaluate(x, y).["loss"]
    // from the logits the per-sample values are the engine's own: their float64 mean is Evaluate's loss, same bits
    let perSample = Losses.SparseCategoricalCrossentropy(y, m.CallLogits x, fromLogits = true).ToFloat32Array()
    Assert.Equal(reported, (perSample |> Array.sumBy float) / float rows)
    // tf.reduce_mean of the loss of the softmax outputs (the book's form): the clipped form of the probabilities,
    // summed in float32, so equal to float32 rounding (relative 1e-6), not bit for bit
    for predictions in [ m.Predict x; m.Call x ] do
        let mean = Losses.SparseCategoricalCrossentropy(y, predictions).Mean().ToScalar()
        Assert.True(abs (mean - reported) <= 1e-6 * reported, sprintf "reduce_mean %.9g, evaluate %.9g" mean reported)

[<Fact>]
let ``the gradient of the mean loss is the gradient of the model's training loss`` () =
    let m = model ()
    let grads (loss: unit -> Tensor) =
        use tape = new GradientTape()
        tape.Gradient(loss (), m.TrainableVariables) |> Array.map (fun t -> t.ToFloat32Array())
    let training = grads (fun () -> TapeOps.loss Loss.SparseCategoricalCrossentropy false y (m.Call x))
    let public' = grads (fun () -> Losses.SparseCategoricalCrossentropy(y, m.Call x).Mean())
    for i in 0 .. training.Length - 1 do
        let scale = training.[i] |> Array.fold (fun a v -> max a (abs v)) 1e-30f
        Assert.True(Array.forall2 (fun a b -> abs (a - b) <= 1e-6f * scale) training.[i] public'.[i], sprintf "variable %d" i)

[<Fact>]
let ``the F# curried forms are the same functions`` () =
    let p = Tensor.FromArray(probs, [| 2; 3 |])
    let t = Tensor.FromArray(oneHot, [| 2; 3 |])
    let same (a: Tensor) (b: Tensor) = Assert.Equal<float32[]>(a.ToFloat32Array(), b.ToFloat32Array())
    same (Losses.SparseCategoricalCrossentropy(Tensor.FromArray labels, p)) (Losses.sparseCategoricalCrossentropy (Tensor.FromArray labels) p)
    same (Losses.SparseCategoricalCrossentropy(Tensor.FromArray labels, p, true)) (Losses.sparseCategoricalCrossentropyFromLogits (Tensor.FromArray labels) p)
    same (Losses.CategoricalCrossentropy(t, p)) (Losses.categoricalCrossentropy t p)
    same (Losses.CategoricalCrossentropy(t, p, true)) (Losses.categoricalCrossentropyFromLogits t p)
    same (Losses.BinaryCrossentropy(t, p)) (Losses.binaryCrossentropy t p)
    same (Losses.BinaryCrossentropy(t, p, true)) (Losses.binaryCrossentropyFromLogits t p)
    same (Losses.MeanSquaredError(t, p)) (Losses.meanSquaredError t p)

[<Fact>]
let ``targets that do not fit the predictions are refused naming the loss and both shapes`` () =
    let p = Tensor.FromArray(probs, [| 2; 3 |])
    let e = Assert.Throws<ShapeException>(fun () -> Losses.SparseCategoricalCrossentropy(Tensor.FromArray(oneHot, [| 2; 3 |]), p) |> ignore)
    Assert.Contains("sparse_categorical_crossentropy: y_true of shape (2,3) does not fit y_pred of shape (2,3) (expected y_true (2,) (integer labels))", e.Message)
    let e2 = Assert.Throws<ShapeException>(fun () -> Losses.MeanSquaredError(Tensor.FromArray(oneHot, [| 6 |]), p) |> ignore)
    Assert.Contains("mse: y_true of shape (6,) does not fit y_pred of shape (2,3)", e2.Message)
    let e3 = Assert.Throws<ArgumentException>(fun () -> Losses.SparseCategoricalCrossentropy(Tensor.FromArray [| 1.0f; 1.5f |], p) |> ignore)
    Assert.Contains("sparse_categorical_crossentropy: label 1.5 at sample 1 is not a class index", e3.Message)

[<Fact>]
let ``a sparse label outside the classes is refused naming its own sample, as fit refuses it`` () =
    let p = Tensor.FromArray(probs, [| 2; 3 |])
    let e = Assert.Throws<ArgumentException>(fun () -> Losses.SparseCategoricalCrossentropy(Tensor.FromArray [| 0; 3 |], p) |> ignore)
    Assert.Contains("sparse_categorical_crossentropy: label 3 at sample 1 is outside [0, 3)", e.Message)
    let e2 = Assert.Throws<ArgumentException>(fun () -> Losses.sparseCategoricalCrossentropy (Tensor.FromArray [| -1; 0 |]) p |> ignore)
    Assert.Contains("label -1 at sample 0 is outside [0, 3)", e2.Message)
