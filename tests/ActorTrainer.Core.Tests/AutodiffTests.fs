module ActorTrainer.Core.Tests.AutodiffTests

open System
open Xunit
open ActorTrainer.Core
open ActorTrainer.Core.Tests.TensorTests

[<Fact>]
let ``chapter: d(2x+3)/dx = 2 for a scalar variable`` () =
    let x = Variable(Tensor.Scalar(0.0))
    use tape = new GradientTape()
    let y = 2.0 * x.Value + 3.0
    let g = tape.Gradient(y, x)
    Assert.Equal(0, g.NDim)
    Assert.Equal(2.0, g.ToScalar())
    Assert.Equal(Float32, g.DType)

[<Fact>]
let ``chapter: d(2x+3)/dx is all 2s for a (2,2) variable`` () =
    let x = Variable(Tensor.RandomUniform([| 2; 2 |], 0.0, 1.0, 0))
    use tape = new GradientTape()
    let y = 2.0 * x.Value + 3.0
    let g = tape.Gradient(y, x)
    Assert.Equal<int[]>([| 2; 2 |], g.Shape)
    Assert.Equal<float32[]>(Array.create 4 2.0f, g.ToFloat32Array())

[<Fact>]
let ``chapter: y = x·W + b gradients`` () =
    let W = Variable(Tensor.RandomUniform([| 2; 2 |], 0.0, 1.0, 1))
    let b = Variable(Tensor.Zeros([| 2 |]))
    let x = Tensor.RandomUniform([| 2; 2 |], 0.0, 1.0, 2)
    use tape = new GradientTape()
    let y = Tensor.Dot(x, W.Value) + b.Value
    let grads = tape.Gradient(y, [| W; b |])
    Assert.Equal<float32[]>([| 2.0f; 2.0f |], grads.[1].ToFloat32Array())
    let xv = x.ToFloat64Array()
    let gw = grads.[0].ToFloat64Array()
    for k in 0 .. 1 do
        let colSum = xv.[0 * 2 + k] + xv.[1 * 2 + k]
        for j in 0 .. 1 do
            Assert.Equal(colSum, gw.[k * 2 + j], 5)

[<Fact>]
let ``persistent tape computes several gradients, non-persistent only once`` () =
    let x = Tensor.FromArray([| 3.0 |])
    use tape = new GradientTape(persistent = true)
    tape.Watch x
    let y = x * x
    let z = y * y
    Assert.Equal(6.0, tape.Gradient(y, x).ToScalar())
    Assert.Equal(108.0, tape.Gradient(z, x).ToScalar())
    Assert.True(tape.Persistent)
    use once = new GradientTape()
    once.Watch x
    let w = x * x
    Assert.Equal(6.0, once.Gradient(w, x).ToScalar())
    throwsWith<InvalidOperationException> "GradientTape.Gradient can only be called once on a non-persistent tape" (fun () -> box (once.Gradient(w, x)))

[<Fact>]
let ``nested tapes each record`` () =
    let x = Tensor.FromArray([| 2.0 |])
    use outer = new GradientTape()
    outer.Watch x
    let y =
        use inner = new GradientTape()
        inner.Watch x
        let y = x * x * x
        Assert.Equal(12.0, inner.Gradient(y, x).ToScalar())
        y
    let z = y + x
    Assert.Equal(13.0, outer.Gradient(z, x).ToScalar())

[<Fact>]
let ``unconnected sources get zeros and only watched tensors are tracked`` () =
    let x = Tensor.FromArray([| 1.0; 2.0 |])
    let u = Tensor.FromArray([| 5.0; 6.0; 7.0 |], [| 3; 1 |])
    let c = Tensor.FromArray([| 4.0; 4.0 |])
    use tape = new GradientTape()
    tape.Watch x
    let y = Tensor.Sum(x * c)
    let g = tape.Gradient(y, [| x; u; c |])
    assertClose 0.0 [| 4.0; 4.0 |] (g.[0].ToFloat64Array())
    Assert.Equal<int[]>([| 3; 1 |], g.[1].Shape)
    assertClose 0.0 [| 0.0; 0.0; 0.0 |] (g.[1].ToFloat64Array())
    assertClose 0.0 [| 0.0; 0.0 |] (g.[2].ToFloat64Array())

[<Fact>]
let ``fan-out gradients accumulate`` () =
    let x = Tensor.FromArray([| 1.5; -2.0 |])
    // f = x·x + 3x + exp(x)  →  f' = 2x + 3 + exp(x)
    let g = Autodiff.grad (fun t -> t * t + 3.0 * t + Tensor.Exp t) x
    assertClose 1e-12 [| 2.0 * 1.5 + 3.0 + exp 1.5; -4.0 + 3.0 + exp -2.0 |] (g.ToFloat64Array())
    let v, gv = Autodiff.valueAndGrad (fun t -> Tensor.Sum(t * t)) x
    Assert.Equal(6.25, v.ToScalar())
    assertClose 0.0 [| 3.0; -4.0 |] (gv.ToFloat64Array())
    let gs = Autodiff.gradN (fun xs -> xs.[0] * xs.[1] + xs.[0]) [| x; Tensor.FromArray([| 10.0; 20.0 |]) |]
    assertClose 0.0 [| 11.0; 21.0 |] (gs.[0].ToFloat64Array())
    assertClose 0.0 [| 1.5; -2.0 |] (gs.[1].ToFloat64Array())
    let value, gn = Autodiff.valueAndGradN (fun xs -> Tensor.Dot(xs.[0], xs.[0])) [| x |]
    Assert.Equal(6.25, value.ToScalar())
    assertClose 0.0 [| 3.0; -4.0 |] (gn.[0].ToFloat64Array())

[<Fact>]
let ``variables are auto-watched only when trainable and read inside the tape`` () =
    let v = Variable(Tensor.FromArray([| 2.0 |]), "w")
    let frozen = Variable(Tensor.FromArray([| 3.0 |]), "frozen", false)
    use tape = new GradientTape()
    let y = v.Value * frozen.Value + v.Value * v.Value
    let g = tape.Gradient(y, [| v; frozen |])
    // d/dv (v·f + v²) = f + 2v = 3 + 4; frozen is not watched
    Assert.Equal(7.0, g.[0].ToScalar())
    Assert.Equal(0.0, g.[1].ToScalar())
    Assert.Equal("w", v.Name)
    Assert.True(v.Trainable)
    Assert.False(frozen.Trainable)
    Assert.Equal<int[]>([| 1 |], v.Shape)
    Assert.Equal(Float64, v.DType)
    use t2 = new GradientTape()
    t2.Watch frozen
    let y2 = frozen.Value * 5.0
    Assert.Equal(5.0, t2.Gradient(y2, frozen).ToScalar())

[<Fact>]
let ``variable assignment checks shape and dtype`` () =
    let v = Variable(Tensor.FromArray([| 1.0f; 2.0f |]), "kernel")
    v.AssignAdd(Tensor.FromArray([| 1.0f; 1.0f |]))
    Assert.Equal<float32[]>([| 2.0f; 3.0f |], v.Value.ToFloat32Array())
    v.AssignSub(Tensor.FromArray([| 0.5f; 0.5f |]))
    Assert.Equal<float32[]>([| 1.5f; 2.5f |], v.Value.ToFloat32Array())
    let src = Tensor.FromArray([| 9.0f; 8.0f |])
    v.Assign(src)
    Assert.Equal<float32[]>([| 9.0f; 8.0f |], v.Value.ToFloat32Array())
    Assert.NotEqual(src.Id, v.Value.Id)
    throwsWith<ShapeException> "assign: variable 'kernel' has shape (2,) but the value has shape (3,)" (fun () -> box (v.Assign(Tensor.Zeros([| 3 |]))))
    throwsWith<ArgumentException> "assign_add: variable 'kernel' has dtype float32 but the value has dtype float64" (fun () -> box (v.AssignAdd(Tensor.Zeros([| 2 |], Float64))))

[<Fact>]
let ``disposed tape stops recording; gradients keep the source dtype`` () =
    let x = Tensor.FromArray([| 1.0f; 2.0f |])
    let tape = new GradientTape(true)
    tape.Watch x
    let y = x * x
    (tape :> IDisposable).Dispose()
    let z = y * 3.0
    Assert.Equal<float32[]>([| 2.0f; 4.0f |], tape.Gradient(y, x).ToFloat32Array())
    Assert.Equal<float32[]>([| 0.0f; 0.0f |], tape.Gradient(z, x).ToFloat32Array())
    Assert.Equal(Float32, tape.Gradient(y, x).DType)

[<Fact>]
let ``custom op through Tensor.Apply is recorded`` () =
    let cube =
        Op("cube",
           (fun (i: NDArray[]) -> (Tensor.OfNDArray(i.[0]) * Tensor.OfNDArray(i.[0]) * Tensor.OfNDArray(i.[0])).Value),
           (fun i _ g _ -> [| (Tensor.OfNDArray g * 3.0 * Tensor.OfNDArray(i.[0]) * Tensor.OfNDArray(i.[0])).Value |]))
    let g = Autodiff.grad (fun t -> Tensor.Apply(cube, [| t |])) (Tensor.FromArray([| 2.0; -1.0 |]))
    assertClose 0.0 [| 12.0; 3.0 |] (g.ToFloat64Array())
    Assert.True(Tensor.Scalar(1.0).Id <> Tensor.Scalar(1.0).Id)

[<Fact>]
let ``a gradient through an inner tape's gradient is refused, not silently 0 (no higher-order gradients)`` () =
    let x = Tensor.FromArray([| 2.0f |], [| 1 |])
    let outer = new GradientTape()
    outer.Watch x
    let g =
        use inner = new GradientTape()
        inner.Watch x
        inner.Gradient(x * x * x, x)
    Assert.Equal(12.0f, g.ToFloat32Array().[0])
    let e = Assert.Throws<NotSupportedException>(fun () -> outer.Gradient(g * 2.0, x) |> ignore)
    Assert.Contains("higher-order gradients are not supported", e.Message)
    outer.Dispose()

[<Fact>]
let ``a gradient that does not pass through the inner gradient's dependencies still works`` () =
    let x = Tensor.FromArray([| 2.0f |], [| 1 |])
    let z = Tensor.FromArray([| 5.0f |], [| 1 |])
    use outer = new GradientTape(true)
    outer.Watch x
    let g =
        use inner = new GradientTape()
        inner.Watch x
        inner.Gradient(x * x, x)        // 2x = 4, depends on x
    outer.Watch z
    Assert.Equal(4.0f, outer.Gradient(g * z, z).ToFloat32Array().[0])     // d(g·z)/dz = g
    Assert.Equal(5.0f, outer.Gradient(x * z, x).ToFloat32Array().[0])     // nothing opaque on this path
    Assert.Throws<NotSupportedException>(fun () -> outer.Gradient(g * z, x) |> ignore) |> ignore

[<Fact>]
let ``a persistent tape asked for the gradient of its own gradient while recording refuses`` () =
    let x = Tensor.FromArray([| 3.0f |], [| 1 |])
    use tape = new GradientTape(true)
    tape.Watch x
    let g = tape.Gradient(x * x, x)
    Assert.Equal(6.0f, g.ToFloat32Array().[0])
    Assert.Throws<NotSupportedException>(fun () -> tape.Gradient(g, x) |> ignore) |> ignore

[<Fact>]
let ``d(x^y)/dy is 0 where x is 0, as in TensorFlow (not 0·ln 0 = NaN)`` () =
    let x = Tensor.FromArray([| 0.0f; 2.0f; -1.0f |], [| 3 |])
    let y = Tensor.FromArray([| 2.0f; 3.0f; 2.0f |], [| 3 |])
    use tape = new GradientTape()
    tape.Watch y
    let gy = tape.Gradient(Tensor.Pow(x, y), y).ToFloat32Array()
    Assert.Equal(0.0f, gy.[0])
    Assert.Equal(8.0f * float32 (Math.Log 2.0), gy.[1], 5)
    Assert.Equal(0.0f, gy.[2])
