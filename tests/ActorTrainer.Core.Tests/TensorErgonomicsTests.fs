module ActorTrainer.Core.Tests.TensorErgonomicsTests

open System
open System.Collections.Generic
open Xunit
open ActorTrainer.Core

let private vals (t: Tensor) = t.ToFloat64Array()

[<Fact>]
let ``Maximum and Minimum take a number on either side, in the tensor's dtype`` () =
    let z = Tensor.FromArray([| -2.0; 0.5; 3.0 |])
    Assert.Equal<float[]>([| 0.0; 0.5; 3.0 |], vals (Tensor.Maximum(z, 0.0)))
    Assert.Equal<float[]>([| 0.0; 0.5; 3.0 |], vals (Tensor.Maximum(0.0, z)))
    Assert.Equal<float[]>([| -2.0; 0.5; 1.0 |], vals (Tensor.Minimum(z, 1.0)))
    Assert.Equal<float[]>([| -2.0; 0.5; 1.0 |], vals (Tensor.Minimum(1.0, z)))
    Assert.Equal(Float64, Tensor.Maximum(z, 0.0).DType)
    Assert.Equal(Float32, Tensor.Minimum(Tensor.FromArray([| 1.0f |]), 0.0).DType)

[<Fact>]
let ``Maximum with a number an int32 tensor cannot hold is refused naming the value`` () =
    let i = Tensor.FromArray([| 1; 2 |])
    Assert.Equal<int[]>([| 2; 2 |], Tensor.Maximum(i, 2.0).ToInt32Array())
    let e = Assert.Throws<ArgumentException>(fun () -> Tensor.Maximum(i, 0.5) |> ignore)
    Assert.Contains("0.5", e.Message)

[<Fact>]
let ``Maximum(x, 0) is relu under the tape`` () =
    let x = Tensor.FromArray([| -1.0; 2.0; 3.0 |])
    use tape = new GradientTape(true)
    tape.Watch x
    let g1 = tape.Gradient(Tensor.Sum(Tensor.Maximum(x, 0.0)), x)
    let g2 = tape.Gradient(Tensor.Sum(Tensor.Relu x), x)
    Assert.Equal<float[]>(vals g2, vals g1)
    Assert.Equal<float[]>([| 0.0; 1.0; 1.0 |], vals g1)

[<Fact>]
let ``Where takes a number for either branch`` () =
    let x = Tensor.FromArray([| -1.0; 2.0 |])
    let c = Tensor.Greater(x, Tensor.Scalar(0.0, Float64))
    Assert.Equal<float[]>([| 0.0; 2.0 |], vals (Tensor.Where(c, x, 0.0)))
    Assert.Equal<float[]>([| -1.0; 9.0 |], vals (Tensor.Where(c, 9.0, x)))

[<Fact>]
let ``T.maximum, T.minimum and T.where take a tensor or a number`` () =
    let z = T.ofArray64 [| 3 |] [| -2.0; 0.5; 3.0 |]
    Assert.Equal<float[]>([| 0.0; 0.5; 3.0 |], vals (T.maximum z 0.0))
    Assert.Equal<float[]>([| 0.0; 0.5; 3.0 |], vals (T.maximum 0.0 z))
    Assert.Equal<float[]>([| -2.0; 0.5; 1.0 |], vals (T.minimum z 1.0))
    Assert.Equal<float[]>([| -2.0; 0.5; 3.0 |], vals (T.maximum z z))
    let c = Tensor.Greater(z, Tensor.Scalar(0.0, Float64))
    Assert.Equal<float[]>([| 0.0; 0.5; 3.0 |], vals (T.where c z 0.0))
    Assert.Equal<float[]>([| -2.0; 0.5; 3.0 |], vals (T.where c z z))

[<Fact>]
let ``Variable arithmetic: tape gradient of 2x + 3 equals the x.Value form`` () =
    let x = Variable(Tensor.FromArray([| 1.0f; 2.0f |]))
    use tape = new GradientTape(true)
    let y = 2.0 * x + 3.0
    let yv = 2.0 * x.Value + 3.0
    Assert.Equal<float[]>([| 5.0; 7.0 |], vals y)
    Assert.Equal<float[]>(vals (tape.Gradient(yv, x)), vals (tape.Gradient(y, x)))
    Assert.Equal<float[]>([| 2.0; 2.0 |], vals (tape.Gradient(y, x)))

[<Fact>]
let ``Variable arithmetic with variables, tensors, numbers and negation`` () =
    let x = Variable(Tensor.FromArray([| 1.0; 2.0 |]))
    let w = Variable(Tensor.FromArray([| 3.0; 4.0 |]))
    let t = Tensor.FromArray([| 10.0; 20.0 |])
    use tape = new GradientTape(true)
    let y = x * w - t / x + (t - w) / 2.0 - 1.0 / w
    let yv = x.Value * w.Value - t / x.Value + (t - w.Value) / 2.0 - 1.0 / w.Value
    Assert.Equal<float[]>(vals yv, vals y)
    let g = tape.Gradient(y, [| x; w |])
    let gv = tape.Gradient(yv, [| x; w |])
    Assert.Equal<float[]>(vals gv.[0], vals g.[0])
    Assert.Equal<float[]>(vals gv.[1], vals g.[1])
    Assert.Equal<float[]>([| 3.0 + 10.0; 4.0 + 5.0 |], vals g.[0])
    Assert.Equal<float[]>(vals (x.Value + t), vals (x + t))
    Assert.Equal<float[]>(vals (t + x.Value), vals (t + x))
    Assert.Equal<float[]>(vals (x.Value - 1.0), vals (x - 1.0))
    Assert.Equal<float[]>([| -1.0; -2.0 |], vals (0.0 - x))
    Assert.Equal<float[]>(vals (x.Value + w.Value), vals (x + w))

[<Fact>]
let ``tape.Gradient takes a list of variables`` () =
    let w = Variable(Tensor.FromArray([| 2.0f |]))
    let b = Variable(Tensor.FromArray([| 1.0f |]))
    use tape = new GradientTape(true)
    let y = w * 3.0 + b
    let g = tape.Gradient(y, [ w; b ])
    Assert.Equal<float[]>([| 3.0 |], vals g.[0])
    Assert.Equal<float[]>([| 1.0 |], vals g.[1])
    let g2 = tape.Gradient(y, List<Variable>([ w; b ]), Tensor.FromArray([| 2.0f |]))
    Assert.Equal<float[]>([| 6.0 |], vals g2.[0])

[<Fact>]
let ``Zeros, Ones and Reshape take the shape as separate numbers too`` () =
    Assert.Equal<int[]>([| 3; 4 |], Tensor.Zeros(3, 4).Shape)
    Assert.Equal<int[]>([| 2 |], Tensor.Ones(2).Shape)
    Assert.Equal<int[]>([| 6; 1 |], Tensor.Arange(6).Reshape(6, 1).Shape)
    Assert.Equal<int[]>([| 2; 3 |], Tensor.Reshape(Tensor.Arange(6), 2, -1).Shape)
    Assert.Equal<int[]>([| 3; 2 |], Tensor.Zeros [| 3; 2 |] |> fun t -> t.Reshape [| 3; 2 |] |> fun t -> t.Shape)

[<Fact>]
let ``a Range indexer slices the first axis as the string slicer`` () =
    let t = Tensor.Arange(20).Reshape(10, 2)
    let r (a: int) (b: int) = System.Range(System.Index(a), System.Index(b))
    Assert.Equal<float[]>(vals (t.Slice "2:5"), vals t.[r 2 5])
    Assert.Equal<float[]>(vals (t.Slice "-3:"), vals t.[System.Range.StartAt(System.Index(3, true))])
    Assert.Equal<float[]>(vals (t.Slice "8:100"), vals t.[r 8 100])
    Assert.Equal<int[]>([| 0; 2 |], t.[System.Range.StartAt(System.Index(0, true))].Shape)
    Assert.Equal<float[]>(vals (t.Slice ":-1"), vals t.[System.Range.EndAt(System.Index(1, true))])
    Assert.Equal<float[]>(vals t, vals t.[System.Range.All])

[<Fact>]
let ``ArgMax and ArgMin without an axis index the flattened tensor`` () =
    let t = Tensor.FromArray([| 1.0f; 9.0f; 3.0f; 9.0f; -4.0f; 0.0f |], [| 2; 3 |])
    Assert.Equal(0, t.ArgMax().NDim)
    Assert.Equal(Int32, t.ArgMax().DType)
    Assert.Equal(1.0, t.ArgMax().ToScalar())
    Assert.Equal(1.0, Tensor.ArgMax(t).ToScalar())
    Assert.Equal(4.0, Tensor.ArgMin(t).ToScalar())

[<Fact>]
let ``Compile takes an optimizer by Keras name with Keras defaults`` () =
    let m = Sequential([| Dense(2) :> Layer |])
    m.Compile("rmsprop", "sparse_categorical_crossentropy", [ "accuracy" ])
    let o = Assert.IsType<RMSprop>(m.Optimizer)
    Assert.Equal(0.001, o.LearningRate, 12)
    Assert.Equal(0.9, o.Rho)
    m.Compile("Adam", "mse")
    Assert.IsType<Adam>(m.Optimizer) |> ignore
    let e = Assert.Throws<ArgumentException>(fun () -> m.Compile("rmsprob", "mse"))
    Assert.Contains("'rmsprob'", e.Message)
    Assert.Contains("rmsprop", e.Message)
    Assert.Equal("optimizer", e.ParamName)
