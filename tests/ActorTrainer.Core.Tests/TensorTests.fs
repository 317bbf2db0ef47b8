module ActorTrainer.Core.Tests.TensorTests

open System
open Xunit
open FsCheck.Xunit
open ActorTrainer.Core

// ---------- shared helpers (used by the other core test files) ----------

/// Asserts two float arrays are elementwise equal within tol.
let assertClose (tol: float) (expected: float[]) (actual: float[]) =
    Assert.Equal(expected.Length, actual.Length)
    for i in 0 .. expected.Length - 1 do
        if not (abs (expected.[i] - actual.[i]) <= tol) then
            failwithf "element %d: expected %.12g, got %.12g" i expected.[i] actual.[i]

/// Random shape with rank in [minRank, maxRank] and dims in [1, maxDim].
let randShape (rng: Random) (minRank: int) (maxRank: int) (maxDim: int) =
    Array.init (rng.Next(minRank, maxRank + 1)) (fun _ -> rng.Next(1, maxDim + 1))

/// Uniform float64 data in [lo, hi).
let randData (rng: Random) (n: int) (lo: float) (hi: float) = Array.init n (fun _ -> lo + (hi - lo) * rng.NextDouble())

/// A shape that broadcasts against `shape`: some leading axes dropped, some dims set to 1.
let partner (rng: Random) (shape: int[]) =
    shape.[rng.Next(0, shape.Length + 1) ..] |> Array.map (fun d -> if rng.Next(3) = 0 then 1 else d)

/// Float64 tensor.
let t64 (shape: int[]) (data: float[]) = Tensor.FromArray(data, shape)

/// Asserts that f throws an exception of type 'E whose message contains `text`.
let throwsWith<'E when 'E :> exn> (text: string) (f: unit -> obj) =
    let e = Assert.ThrowsAny<'E>(fun () -> f () |> ignore)
    Assert.Contains(text, e.Message)

// ---------- construction and data out ----------

[<Fact>]
let ``FromArray shapes, dtypes and copies`` () =
    let data = [| 1.0f; 2.0f; 3.0f; 4.0f; 5.0f; 6.0f |]
    let t = Tensor.FromArray(data, [| 2; 3 |])
    data.[0] <- 100.0f
    Assert.Equal<int[]>([| 2; 3 |], t.Shape)
    Assert.Equal(Float32, t.DType)
    Assert.Equal(2, t.NDim)
    Assert.Equal(6, t.Size)
    Assert.Equal(1.0, t.Get [| 0; 0 |])
    Assert.Equal(6.0, t.Get [| -1; -1 |])
    Assert.Equal(4.0, t.Get [| 1; 0 |])
    Assert.Equal<int[]>([| 3 |], Tensor.FromArray([| 1; 2; 3 |]).Shape)
    Assert.Equal(DType.Int32, Tensor.FromArray([| 1; 2; 3 |]).DType)
    Assert.Equal(Bool, Tensor.FromArray([| true; false |]).DType)
    Assert.Equal(Float64, Tensor.FromArray([| 1.0; 2.0 |]).DType)
    let m = Tensor.FromArray2D(array2D [ [ 1.0f; 2.0f ]; [ 3.0f; 4.0f ]; [ 5.0f; 6.0f ] ])
    Assert.Equal<int[]>([| 3; 2 |], m.Shape)
    Assert.Equal<float32[]>([| 1.0f; 2.0f; 3.0f; 4.0f; 5.0f; 6.0f |], m.ToFloat32Array())

[<Fact>]
let ``constructors Scalar Zeros Ones Full Arange`` () =
    let s = Tensor.Scalar(2.5)
    Assert.Equal(0, s.NDim)
    Assert.Equal(2.5, s.ToScalar())
    Assert.Equal(Float64, Tensor.Scalar(1.0, Float64).DType)
    Assert.Equal<float32[]>(Array.zeroCreate 6, Tensor.Zeros([| 2; 3 |]).ToFloat32Array())
    Assert.Equal<float[]>(Array.create 4 1.0, Tensor.Ones([| 4 |], Float64).ToFloat64Array())
    Assert.Equal<int[]>(Array.create 3 7, Tensor.Full([| 3 |], 7.0, DType.Int32).ToInt32Array())
    Assert.Equal<float32[]>([| 0.0f; 1.0f; 2.0f; 3.0f |], Tensor.Arange(4).ToFloat32Array())
    Assert.Equal<float[]>([| 1.0; 1.5; 2.0; 2.5 |], Tensor.Arange(1.0, 3.0, 0.5, Float64).ToFloat64Array())
    Assert.Equal<float[]>([| 3.0; 2.0; 1.0 |], Tensor.Arange(3.0, 0.0, -1.0, Float64).ToFloat64Array())
    Assert.Equal(0, Tensor.Arange(3.0, 0.0, 1.0).Size)

[<Fact>]
let ``random tensors are seeded and have the right moments`` () =
    let a = Tensor.RandomNormal([| 200; 100 |], 1.0, 2.0, 42)
    let b = Tensor.RandomNormal([| 200; 100 |], 1.0, 2.0, 42)
    let c = Tensor.RandomNormal([| 200; 100 |], 1.0, 2.0, 43)
    Assert.Equal<float32[]>(a.ToFloat32Array(), b.ToFloat32Array())
    Assert.NotEqual<float32[]>(a.ToFloat32Array(), c.ToFloat32Array())
    let v = a.ToFloat64Array()
    let mean = Array.average v
    let std = sqrt (v |> Array.averageBy (fun x -> (x - mean) ** 2.0))
    Assert.InRange(mean, 0.95, 1.05)
    Assert.InRange(std, 1.95, 2.05)
    let u = Tensor.RandomUniform([| 10000 |], -0.5, 0.25, 7, Float64).ToFloat64Array()
    Assert.True(u |> Array.forall (fun x -> x >= -0.5 && x < 0.25))
    Assert.InRange(Array.average u, -0.14, -0.11)
    Assert.Equal<float[]>(u, Tensor.RandomUniform([| 10000 |], -0.5, 0.25, 7, Float64).ToFloat64Array())

[<Fact>]
let ``data out converts and AsType casts`` () =
    let t = Tensor.FromArray([| -1.7; 0.0; 2.9 |])
    Assert.Equal<int[]>([| -1; 0; 2 |], t.ToInt32Array())
    Assert.Equal<bool[]>([| true; false; true |], t.ToBoolArray())
    Assert.Equal<float32[]>([| -1.7f; 0.0f; 2.9f |], t.ToFloat32Array())
    Assert.Equal(DType.Int32, t.AsType(DType.Int32).DType)
    Assert.Equal<float[]>([| 1.0; 0.0 |], Tensor.FromArray([| true; false |]).AsType(Float64).ToFloat64Array())
    throwsWith<ArgumentException> "ToScalar: tensor of shape (3,) has 3 elements" (fun () -> box (t.ToScalar()))
    throwsWith<IndexOutOfRangeException> "index 3 is out of bounds for axis 0 with size 3" (fun () -> box (t.Get [| 3 |]))

[<Fact>]
let ``ToString is NumPy-like`` () =
    let t = Tensor.FromArray([| 1.0f; 2.5f; 3.0f; 4.0f |], [| 2; 2 |])
    Assert.Equal("Tensor([[1, 2.5],\n [3, 4]], shape=(2,2), dtype=float32)", t.ToString())
    Assert.Equal("Tensor(True, shape=(), dtype=bool)", Tensor.Scalar(1.0, Bool).ToString())
    let big = Tensor.Zeros([| 2000 |]).ToString()
    Assert.Contains("...", big)
    Assert.True(big.Length < 100)

[<Fact>]
let ``NDArray Wrap and Create check lengths and dtypes`` () =
    let nd = NDArray.Wrap([| 1.0f; 2.0f |], [| 2; 1 |])
    Assert.Equal(Float32, nd.DType)
    Assert.Equal<int[]>([| 2; 1 |], nd.Shape)
    throwsWith<ShapeException> "storage length 3 does not match shape (2,2)" (fun () -> box (NDArray.Wrap([| 1; 2; 3 |], [| 2; 2 |])))
    throwsWith<ArgumentException> "unsupported storage array type" (fun () -> box (NDArray.Wrap([| 1L |], [| 1 |])))

// ---------- arithmetic, dtype rules ----------

[<Fact>]
let ``operators with scalars and unary minus`` () =
    let x = Tensor.FromArray([| 1.0; 2.0; 4.0 |])
    assertClose 0.0 [| 3.0; 4.0; 6.0 |] ((x + 2.0).ToFloat64Array())
    assertClose 0.0 [| 1.0; 0.0; -2.0 |] ((2.0 - x).ToFloat64Array())
    assertClose 0.0 [| 0.5; 1.0; 2.0 |] ((x / 2.0).ToFloat64Array())
    assertClose 0.0 [| 4.0; 2.0; 1.0 |] ((4.0 / x).ToFloat64Array())
    assertClose 0.0 [| 3.0; 6.0; 12.0 |] ((3.0 * x).ToFloat64Array())
    assertClose 0.0 [| -1.0; -2.0; -4.0 |] ((-x).ToFloat64Array())
    assertClose 0.0 [| 1.0; 4.0; 16.0 |] ((x * x - x + x / x * x).ToFloat64Array())

[<Fact>]
let ``elementwise functions`` () =
    let x = Tensor.FromArray([| -2.0; -0.5; 0.5; 4.0 |])
    assertClose 0.0 [| 0.0; 0.0; 0.5; 4.0 |] (Tensor.Relu(x).ToFloat64Array())
    assertClose 0.0 [| 2.0; 0.5; 0.5; 4.0 |] (Tensor.Abs(x).ToFloat64Array())
    assertClose 1e-12 [| 4.0; 0.25; 0.25; 16.0 |] (Tensor.Square(x).ToFloat64Array())
    assertClose 1e-12 (Array.map exp [| -2.0; -0.5; 0.5; 4.0 |]) (Tensor.Exp(x).ToFloat64Array())
    assertClose 1e-12 [| 1.0 / (1.0 + exp 2.0); 1.0 / (1.0 + exp 0.5); 1.0 / (1.0 + exp -0.5); 1.0 / (1.0 + exp -4.0) |] (Tensor.Sigmoid(x).ToFloat64Array())
    assertClose 1e-12 (Array.map tanh [| -2.0; -0.5; 0.5; 4.0 |]) (Tensor.Tanh(x).ToFloat64Array())
    assertClose 0.0 [| -1.0; -0.5; 0.5; 1.0 |] (Tensor.Clip(x, -1.0, 1.0).ToFloat64Array())
    let p = Tensor.FromArray([| 1.0; 4.0; 9.0 |])
    assertClose 1e-12 [| 1.0; 2.0; 3.0 |] (Tensor.Sqrt(p).ToFloat64Array())
    assertClose 1e-12 [| 0.0; log 4.0; log 9.0 |] (Tensor.Log(p).ToFloat64Array())
    assertClose 1e-12 [| 1.0; 8.0; 27.0 |] (Tensor.Pow(p, 1.5).ToFloat64Array())
    assertClose 1e-12 [| 1.0; 16.0; 3.0 |] (Tensor.Pow(p, Tensor.FromArray([| 3.0; 2.0; 0.5 |])).ToFloat64Array())
    assertClose 0.0 [| 1.0; 2.0; 3.0 |] (Tensor.Maximum(Tensor.FromArray([| 1.0; 0.0; 3.0 |]), Tensor.FromArray([| -1.0; 2.0; 3.0 |])).ToFloat64Array())
    assertClose 0.0 [| -1.0; 0.0; 3.0 |] (Tensor.Minimum(Tensor.FromArray([| 1.0; 0.0; 3.0 |]), Tensor.FromArray([| -1.0; 2.0; 3.0 |])).ToFloat64Array())

[<Fact>]
let ``comparisons give bool tensors and int32 arithmetic works`` () =
    let a = Tensor.FromArray([| 1; 2; 3 |])
    let b = Tensor.FromArray([| 3; 2; 1 |])
    Assert.Equal<bool[]>([| false; true; false |], Tensor.Equal(a, b).ToBoolArray())
    Assert.Equal<bool[]>([| true; false; true |], Tensor.NotEqual(a, b).ToBoolArray())
    Assert.Equal<bool[]>([| false; false; true |], Tensor.Greater(a, b).ToBoolArray())
    Assert.Equal<bool[]>([| false; true; true |], Tensor.GreaterEqual(a, b).ToBoolArray())
    Assert.Equal<bool[]>([| true; false; false |], Tensor.Less(a, b).ToBoolArray())
    Assert.Equal<bool[]>([| true; true; false |], Tensor.LessEqual(a, b).ToBoolArray())
    Assert.Equal(Bool, Tensor.Equal(a, b).DType)
    Assert.Equal<int[]>([| 4; 4; 4 |], (a + b).ToInt32Array())
    Assert.Equal<int[]>([| 3; 4; 3 |], (a * b).ToInt32Array())
    Assert.Equal(1, Tensor.Sum(Tensor.Equal(a, b)).ToInt32Array().[0])
    Assert.Equal(DType.Int32, Tensor.Sum(Tensor.Equal(a, b)).DType)
    Assert.Equal(6.0, Tensor.Sum(a).ToScalar())

[<Fact>]
let ``dtype mixing is an error naming both dtypes`` () =
    let f32 = Tensor.Ones([| 2 |])
    let f64 = Tensor.Ones([| 2 |], Float64)
    throwsWith<ArgumentException> "add: dtype mismatch between float32 and float64" (fun () -> box (f32 + f64))
    throwsWith<ArgumentException> "multiply: dtype mismatch between float64 and float32" (fun () -> box (f64 * f32))
    throwsWith<ArgumentException> "exp: unsupported dtype bool" (fun () -> box (Tensor.Exp(Tensor.FromArray([| true |]))))
    throwsWith<ArgumentException> "add: unsupported dtype bool" (fun () -> box (Tensor.FromArray([| true |]) + Tensor.FromArray([| false |])))
    throwsWith<ArgumentException> "matmul: dtype mismatch between float32 and float64" (fun () -> box (Tensor.Dot(Tensor.Ones([| 2; 2 |]), Tensor.Ones([| 2; 2 |], Float64))))

// ---------- reductions, argmax, softmax ----------

[<Fact>]
let ``reductions over axes with keepdims`` () =
    let x = Tensor.FromArray([| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |], [| 2; 3 |])
    Assert.Equal(21.0, Tensor.Sum(x).ToScalar())
    Assert.Equal(0, Tensor.Sum(x).NDim)
    assertClose 0.0 [| 5.0; 7.0; 9.0 |] (Tensor.Sum(x, [| 0 |]).ToFloat64Array())
    assertClose 0.0 [| 6.0; 15.0 |] (Tensor.Sum(x, [| -1 |]).ToFloat64Array())
    Assert.Equal<int[]>([| 2; 1 |], Tensor.Sum(x, [| 1 |], true).Shape)
    Assert.Equal<int[]>([| 1; 1 |], Tensor.Sum(x, keepdims = true).Shape)
    Assert.Equal(3.5, Tensor.Mean(x).ToScalar())
    assertClose 1e-12 [| 2.0; 5.0 |] (Tensor.Mean(x, [| 1 |]).ToFloat64Array())
    assertClose 0.0 [| 3.0; 6.0 |] (Tensor.Max(x, [| 1 |]).ToFloat64Array())
    assertClose 0.0 [| 1.0; 2.0; 3.0 |] (Tensor.Min(x, [| 0 |]).ToFloat64Array())
    Assert.Equal(6.0, Tensor.Max(x).ToScalar())
    let y = Tensor.FromArray(Array.init 24 float, [| 2; 3; 4 |])
    assertClose 0.0 [| 60.0; 66.0; 72.0; 78.0 |] (Tensor.Sum(y, [| 0; 1 |]).ToFloat64Array())
    assertClose 0.0 [| 60.0; 92.0; 124.0 |] (Tensor.Sum(y, [| 0; 2 |]).ToFloat64Array())
    throwsWith<ArgumentException> "sum: repeated axis 1" (fun () -> box (Tensor.Sum(x, [| 1; -1 |])))
    throwsWith<ArgumentOutOfRangeException> "sum: axis 2 is out of bounds for array of dimension 2" (fun () -> box (Tensor.Sum(x, [| 2 |])))

[<Fact>]
let ``argmax argmin softmax log_softmax one_hot`` () =
    let x = Tensor.FromArray([| 1.0f; 9.0f; 3.0f; 7.0f; 2.0f; 8.0f |], [| 2; 3 |])
    Assert.Equal<int[]>([| 1; 2 |], Tensor.ArgMax(x, 1).ToInt32Array())
    Assert.Equal<int[]>([| 1; 0; 1 |], Tensor.ArgMax(x, 0).ToInt32Array())
    Assert.Equal<int[]>([| 0; 1 |], Tensor.ArgMin(x, -1).ToInt32Array())
    Assert.Equal(DType.Int32, Tensor.ArgMax(x, 1).DType)
    Assert.Equal<float32[]>([| 0.5f; 0.5f |], Tensor.Softmax(Tensor.FromArray([| 1000.0f; 1000.0f |])).ToFloat32Array())
    let s = Tensor.Softmax(Tensor.FromArray([| 1.0; 2.0; 3.0 |])).ToFloat64Array()
    let z = exp 1.0 + exp 2.0 + exp 3.0
    assertClose 1e-12 [| exp 1.0 / z; exp 2.0 / z; exp 3.0 / z |] s
    let ls = Tensor.LogSoftmax(Tensor.FromArray([| 1.0; 2.0; 3.0; -1000.0 |], [| 2; 2 |]), 0).ToFloat64Array()
    assertClose 1e-9 [| -2.0 - log (1.0 + exp -2.0); 0.0; -log (1.0 + exp -2.0); -1002.0 |] ls
    let oh = Tensor.OneHot(Tensor.FromArray([| 2; 0; 1 |]), 3)
    Assert.Equal<int[]>([| 3; 3 |], oh.Shape)
    Assert.Equal<float32[]>([| 0.0f; 0.0f; 1.0f; 1.0f; 0.0f; 0.0f; 0.0f; 1.0f; 0.0f |], oh.ToFloat32Array())
    throwsWith<ArgumentException> "one_hot: label 5 at flat index 1 is out of range [0, 3)" (fun () -> box (Tensor.OneHot(Tensor.FromArray([| 0; 5 |]), 3)))

// ---------- dot / matmul ----------

[<Fact>]
let ``dot follows the chapter's rank rules`` () =
    let v = Tensor.FromArray([| 1.0; 2.0; 3.0 |])
    Assert.Equal(14.0, Tensor.Dot(v, v).ToScalar())
    Assert.Equal(0, Tensor.Dot(v, v).NDim)
    let m = Tensor.FromArray([| 1.0; 0.0; 1.0; 2.0; 1.0; 0.0 |], [| 2; 3 |])
    assertClose 0.0 [| 4.0; 4.0 |] (Tensor.Dot(m, v).ToFloat64Array())
    let w = Tensor.FromArray([| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |], [| 3; 2 |])
    assertClose 0.0 [| 6.0; 8.0; 5.0; 8.0 |] (Tensor.Dot(m, w).ToFloat64Array())
    assertClose 0.0 [| 22.0; 28.0 |] (Tensor.Dot(v, w).ToFloat64Array())
    Assert.Equal<int[]>([| 2; 3; 4 |], Tensor.Dot(Tensor.Ones([| 2; 3; 4; 5 |]), Tensor.Ones([| 5 |])).Shape)
    Assert.Equal<int[]>([| 2; 3; 4; 6 |], Tensor.Dot(Tensor.Ones([| 2; 3; 4; 5 |]), Tensor.Ones([| 5; 6 |])).Shape)
    Assert.Equal<int[]>([| 2; 7; 4 |], Tensor.Dot(Tensor.Ones([| 2; 3 |]), Tensor.Ones([| 7; 3; 4 |])).Shape)
    assertClose 0.0 [| 2.0; 4.0; 6.0 |] (Tensor.Dot(Tensor.Scalar(2.0, Float64), v).ToFloat64Array())

[<Fact>]
let ``dot and matmul shape errors have NumPy messages`` () =
    throwsWith<ShapeException> "dot: shapes (3,2) and (3,1) not aligned: 2 (dim 1) != 3 (dim 0)"
        (fun () -> box (Tensor.Dot(Tensor.Ones([| 3; 2 |]), Tensor.Ones([| 3; 1 |]))))
    let e = Assert.Throws<ShapeException>(fun () -> Tensor.Dot(Tensor.Ones([| 3; 2 |]), Tensor.Ones([| 3; 1 |])) |> ignore)
    Assert.Equal("dot: shapes (3,2) and (3,1) not aligned: 2 (dim 1) != 3 (dim 0)", e.Message)
    Assert.IsAssignableFrom<ArgumentException>(e) |> ignore
    throwsWith<ShapeException> "dot: shapes (4,) and (3,) not aligned: 4 (dim 0) != 3 (dim 0)" (fun () -> box (Tensor.Dot(Tensor.Ones([| 4 |]), Tensor.Ones([| 3 |]))))
    throwsWith<ShapeException> "matmul: shapes (2,3) and (2,3) not aligned: 3 (dim 1) != 2 (dim 0)" (fun () -> box (Tensor.MatMul(Tensor.Ones([| 2; 3 |]), Tensor.Ones([| 2; 3 |]))))
    throwsWith<ShapeException> "matmul: operands could not be broadcast together with shapes (2,) (3,)" (fun () -> box (Tensor.MatMul(Tensor.Ones([| 2; 1; 3 |]), Tensor.Ones([| 3; 3; 1 |]))))

[<Fact>]
let ``matmul batches and broadcasts`` () =
    let a = Tensor.FromArray(Array.init 12 float, [| 2; 2; 3 |])
    let b = Tensor.FromArray(Array.init 6 float, [| 3; 2 |])
    let c = Tensor.MatMul(a, b)
    Assert.Equal<int[]>([| 2; 2; 2 |], c.Shape)
    // batch 1, row 0 = [6,7,8] · [[0,1],[2,3],[4,5]] = [14+32, 6+21+40]
    assertClose 0.0 [| 10.0; 13.0; 28.0; 40.0; 46.0; 67.0; 64.0; 94.0 |] (c.ToFloat64Array())
    Assert.Equal<int[]>([| 2; 2 |], Tensor.MatMul(a, Tensor.Ones([| 3 |], Float64)).Shape)
    Assert.Equal<int[]>([| 2; 2 |], Tensor.MatMul(Tensor.Ones([| 2 |], Float64), Tensor.Ones([| 2; 2; 2 |], Float64)).Shape)

[<Property(MaxTest = 50)>]
let ``dot matches a naive reference for matrices`` (seed: int) =
    let rng = Random(seed)
    let m, k, n = rng.Next(1, 8), rng.Next(0, 8), rng.Next(1, 8)
    let a = randData rng (m * k) -1.0 1.0
    let b = randData rng (k * n) -1.0 1.0
    let c = Tensor.Dot(t64 [| m; k |] a, t64 [| k; n |] b).ToFloat64Array()
    let expected = Array.init (m * n) (fun ij -> let i, j = ij / n, ij % n in Seq.sum (seq { for p in 0 .. k - 1 -> a.[i * k + p] * b.[p * n + j] }))
    assertClose 1e-12 expected c

// ---------- structure ----------

[<Property(MaxTest = 50)>]
let ``reshape round-trips and transpose twice is identity`` (seed: int) =
    let rng = Random(seed)
    let s = randShape rng 0 4 4
    let data = randData rng (Array.fold (*) 1 s) -1.0 1.0
    let x = t64 s data
    let flat = Tensor.Reshape(x, [| -1 |])
    Assert.Equal<int[]>([| data.Length |], flat.Shape)
    let back = Tensor.Reshape(flat, s)
    Assert.Equal<int[]>(s, back.Shape)
    Assert.Equal<float[]>(data, back.ToFloat64Array())
    let tt = Tensor.Transpose(Tensor.Transpose(x))
    Assert.Equal<int[]>(s, tt.Shape)
    Assert.Equal<float[]>(data, tt.ToFloat64Array())
    let perm = Array.init s.Length id |> Array.sortBy (fun _ -> rng.Next())
    let inv = Array.zeroCreate perm.Length
    perm |> Array.iteri (fun i p -> inv.[p] <- i)
    let p = Tensor.Transpose(x, perm)
    Assert.Equal<int[]>(perm |> Array.map (fun i -> s.[i]), p.Shape)
    Assert.Equal<float[]>(data, Tensor.Transpose(p, inv).ToFloat64Array())

[<Fact>]
let ``transpose moves elements`` () =
    let x = Tensor.FromArray(Array.init 6 float, [| 2; 3 |])
    assertClose 0.0 [| 0.0; 3.0; 1.0; 4.0; 2.0; 5.0 |] (Tensor.Transpose(x).ToFloat64Array())
    let y = Tensor.FromArray(Array.init 24 float, [| 2; 3; 4 |])
    let p = Tensor.Transpose(y, [| 2; 0; 1 |])
    Assert.Equal<int[]>([| 4; 2; 3 |], p.Shape)
    for i in 0 .. 3 do
        for j in 0 .. 1 do
            for k in 0 .. 2 do
                Assert.Equal(y.Get [| j; k; i |], p.Get [| i; j; k |])
    throwsWith<ArgumentException> "transpose: axes [0,0,1] don't match array of shape (2,3,4)" (fun () -> box (Tensor.Transpose(y, [| 0; 0; 1 |])))

[<Fact>]
let ``reshape expand_dims squeeze errors and values`` () =
    let x = Tensor.Arange(12)
    Assert.Equal<int[]>([| 3; 4 |], Tensor.Reshape(x, [| 3; -1 |]).Shape)
    throwsWith<ShapeException> "reshape: cannot reshape array of size 12 (shape (12,)) into shape (5,-1)" (fun () -> box (Tensor.Reshape(x, [| 5; -1 |])))
    throwsWith<ShapeException> "reshape: can only specify one unknown dimension (-1) in (-1,-1)" (fun () -> box (Tensor.Reshape(x, [| -1; -1 |])))
    Assert.Equal<int[]>([| 1; 12 |], Tensor.ExpandDims(x, 0).Shape)
    Assert.Equal<int[]>([| 12; 1 |], Tensor.ExpandDims(x, -1).Shape)
    Assert.Equal<int[]>([| 3; 4 |], Tensor.Squeeze(Tensor.Reshape(x, [| 1; 3; 1; 4 |])).Shape)
    Assert.Equal<int[]>([| 3; 1; 4 |], Tensor.Squeeze(Tensor.Reshape(x, [| 1; 3; 1; 4 |]), 0).Shape)
    throwsWith<ShapeException> "squeeze: cannot select an axis to squeeze out which has size not equal to one (axis 1 of shape (1,3,1,4))" (fun () -> box (Tensor.Squeeze(Tensor.Reshape(x, [| 1; 3; 1; 4 |]), 1)))

[<Fact>]
let ``concatenate stack where`` () =
    let a = Tensor.FromArray([| 1.0; 2.0; 3.0; 4.0 |], [| 2; 2 |])
    let b = Tensor.FromArray([| 5.0; 6.0 |], [| 2; 1 |])
    let c = Tensor.Concatenate([| a; b |], 1)
    Assert.Equal<int[]>([| 2; 3 |], c.Shape)
    assertClose 0.0 [| 1.0; 2.0; 5.0; 3.0; 4.0; 6.0 |] (c.ToFloat64Array())
    assertClose 0.0 [| 1.0; 2.0; 3.0; 4.0; 1.0; 2.0; 3.0; 4.0 |] (Tensor.Concatenate([| a; a |], 0).ToFloat64Array())
    throwsWith<ShapeException> "concatenate: all the input array dimensions except for the concatenation axis must match exactly, but along dimension 1, the array at index 0 has shape (2,2) and the array at index 1 has shape (2,1)"
        (fun () -> box (Tensor.Concatenate([| a; b |], 0)))
    let s = Tensor.Stack([| a; a + 10.0 |], 1)
    Assert.Equal<int[]>([| 2; 2; 2 |], s.Shape)
    assertClose 0.0 [| 1.0; 2.0; 11.0; 12.0; 3.0; 4.0; 13.0; 14.0 |] (s.ToFloat64Array())
    throwsWith<ShapeException> "stack: all input arrays must have the same shape" (fun () -> box (Tensor.Stack([| a; b |], 0)))
    let w = Tensor.Where(Tensor.FromArray([| true; false |]), a, Tensor.Scalar(0.0, Float64))
    assertClose 0.0 [| 1.0; 0.0; 3.0; 0.0 |] (w.ToFloat64Array())

[<Fact>]
let ``T module reads like NumPy`` () =
    let x = T.ofArray [| 2; 2 |] [| 1.0f; -2.0f; 3.0f; -4.0f |]
    Assert.Equal<float32[]>([| 1.0f; 0.0f; 3.0f; 0.0f |], (T.relu x |> T.toArray))
    Assert.Equal(-2.0, x |> T.sum |> T.item)
    Assert.Equal<float32[]>([| 4.0f; -6.0f |], (x |> T.sumAxes [| 0 |] false |> T.toArray))
    Assert.Equal<float32[]>([| -2.0f; -4.0f |], (x |> T.slice ":, 1" |> T.toArray))
    Assert.Equal<float32[]>([| 1.0f; 3.0f; -2.0f; -4.0f |], (x |> T.transpose |> T.reshape [| -1 |] |> T.toArray))
    Assert.Equal<float32[]>([| -7.0f; -13.0f |], (T.dot x (T.ofArray [| 2 |] [| 1.0f; 4.0f |]) |> T.toArray))

[<Fact>]
let ``instance methods mirror the static ones`` () =
    let x = Tensor.FromArray([| 1.0; 5.0; 3.0; 2.0 |], [| 2; 2 |])
    Assert.Equal(11.0, x.Sum().ToScalar())
    assertClose 0.0 [| 6.0; 5.0 |] (x.Sum([| 1 |]).ToFloat64Array())
    Assert.Equal<int[]>([| 1; 2 |], x.Mean([| 0 |], true).Shape)
    Assert.Equal(5.0, x.Max().ToScalar())
    Assert.Equal(1.0, x.Min().ToScalar())
    Assert.Equal<int[]>([| 1; 0 |], x.ArgMax(1).ToInt32Array())
    assertClose 0.0 [| 16.0; 9.0 |] (x.Dot(Tensor.FromArray([| 1.0; 3.0 |])).ToFloat64Array())
    assertClose 0.0 (Tensor.MatMul(x, x).ToFloat64Array()) (x.MatMul(x).ToFloat64Array())
    assertClose 0.0 [| 1.0; 3.0; 5.0; 2.0 |] (x.Transpose([| 1; 0 |]).ToFloat64Array())
    assertClose 0.0 [| 1.0; 3.0; 5.0; 2.0 |] (x.T.ToFloat64Array())
    assertClose 0.0 [| 3.0; 2.0 |] (x.[1].ToFloat64Array())
    throwsWith<ShapeException> "FromArray: data length 3 does not match shape (2,2)" (fun () -> box (Tensor.FromArray([| 1.0f; 2.0f; 3.0f |], [| 2; 2 |])))

[<Property(MaxTest = 100)>]
let ``sum max min over random axes match a naive reference`` (seed: int) =
    let rng = Random(seed)
    let s = randShape rng 1 4 4
    let x = t64 s (randData rng (Array.fold (*) 1 s) -5.0 5.0)
    let axes = [| for a in 0 .. s.Length - 1 do if rng.Next(2) = 0 then yield a |]
    let keep = rng.Next(2) = 0
    let kept = [| for a in 0 .. s.Length - 1 do if not (Array.contains a axes) then yield a |]
    let outShape = if keep then s |> Array.mapi (fun a d -> if Array.contains a axes then 1 else d) else kept |> Array.map (fun a -> s.[a])
    // naive: group every element by its kept-index
    let groups = Collections.Generic.Dictionary<int, ResizeArray<float>>()
    let rec walk (a: int) (idx: int list) =
        if a = s.Length then
            let full = idx |> List.rev |> Array.ofList
            let key = kept |> Array.fold (fun acc k -> acc * s.[k] + full.[k]) 0
            if not (groups.ContainsKey key) then groups.[key] <- ResizeArray()
            groups.[key].Add(x.Get full)
        else for i in 0 .. s.[a] - 1 do walk (a + 1) (i :: idx)
    walk 0 []
    let n = groups.Count
    for name, r, f in [ "sum", Tensor.Sum(x, axes, keep), Seq.sum
                        "max", Tensor.Max(x, axes, keep), Seq.max
                        "min", Tensor.Min(x, axes, keep), Seq.min
                        "mean", Tensor.Mean(x, axes, keep), Seq.average ] do
        Assert.True((outShape = r.Shape), sprintf "%s: shape %s expected %s" name (Shape.str r.Shape) (Shape.str outShape))
        assertClose 1e-12 (Array.init n (fun k -> f groups.[k])) (r.ToFloat64Array())
    let am = Tensor.ArgMax(x, s.Length - 1).ToInt32Array()
    let last = s.[s.Length - 1]
    let xv = x.ToFloat64Array()
    for row in 0 .. am.Length - 1 do
        let seg = xv.[row * last .. row * last + last - 1]
        Assert.Equal(Array.findIndex (fun v -> v = Array.max seg) seg, am.[row])

[<Fact>]
let ``an int32 tensor refuses a value int32 cannot hold instead of truncating it`` () =
    let a = Tensor.FromArray([| 1; 2; 3 |])
    for f, value in [ (fun () -> a + 0.5), "0.5"; (fun () -> a * 1.5), "1.5"; (fun () -> a + 1e10), "10000000000"
                      (fun () -> Tensor.Pow(a, 0.5)), "0.5"; (fun () -> Tensor.Clip(a, 0.5, 2.5)), "0.5"
                      (fun () -> Tensor.Full([| 2 |], 2.7, DType.Int32)), "2.7"; (fun () -> a - nan), "NaN" ] do
        let e = Assert.Throws<ArgumentException>(fun () -> f () |> ignore)
        Assert.Contains(value + " is not an int32 value", e.Message)
        Assert.Contains("AsType", e.Message)
    Assert.Equal<int[]>([| 3; 4; 5 |], (a + 2.0).ToInt32Array())
    Assert.Equal<int[]>([| 1; 4; 9 |], Tensor.Pow(a, 2.0).ToInt32Array())
    Assert.Equal<int[]>([| 1; 2; 2 |], Tensor.Clip(a, 0.0, 2.0).ToInt32Array())
    Assert.Equal<int[]>([| -2147483648 |], Tensor.Full([| 1 |], -2147483648.0, DType.Int32).ToInt32Array())

[<Fact>]
let ``mask's shape error says what mask it takes`` () =
    let a = Tensor.FromArray([| 1.0f; 2.0f; 3.0f; 4.0f; 5.0f; 6.0f |], [| 2; 3 |])
    let e = Assert.Throws<ShapeException>(fun () -> a.Mask(Tensor.Greater(a, Tensor.Scalar 2.0)) |> ignore)
    Assert.Contains("1-D boolean mask as long as axis 0 (shape (2,))", e.Message)
    Assert.Contains("(2,3)", e.Message)

[<Fact>]
let ``mean is sum / n as NumPy computes it, not sum · (1/n)`` () =
    Assert.Equal(5.0 / 3.0, Tensor.Mean(Tensor.FromArray([| 5.0; 0.0; 0.0 |])).ToScalar())
    Assert.Equal(float (5.0f / 3.0f), Tensor.Mean(Tensor.FromArray([| 5.0f; 0.0f; 0.0f |])).ToScalar())

[<Fact>]
let ``an int32 sum that int32 cannot hold is refused instead of wrapping`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> Tensor.Sum(Tensor.FromArray([| Int32.MaxValue; 1 |])) |> ignore)
    Assert.Contains("the int32 sum 2147483648 overflows int32", e.Message)
    let m = Tensor.FromArray([| Int32.MaxValue; 0; 1; 0 |]).Reshape([| 2; 2 |])
    Assert.Throws<ArgumentException>(fun () -> Tensor.Sum(m, [| 0 |]) |> ignore) |> ignore     // leading axes
    Assert.Throws<ArgumentException>(fun () -> Tensor.Sum(m.T, [| 1 |]) |> ignore) |> ignore     // inner axes
    Assert.Equal<int[]>([| Int32.MaxValue; 1 |], Tensor.Sum(m, [| 1 |]).ToInt32Array())
    Assert.Equal<int[]>([| -1 |], Tensor.Sum(Tensor.FromArray([| Int32.MaxValue; Int32.MinValue |])).ToInt32Array() |> Array.truncate 1)
