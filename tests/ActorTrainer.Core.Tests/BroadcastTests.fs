module ActorTrainer.Core.Tests.BroadcastTests

open System
open Xunit
open FsCheck.Xunit
open ActorTrainer.Core
open ActorTrainer.Core.Tests.TensorTests

/// Explicit tiling of x to `shape` by index arithmetic (reference for broadcasting).
let private tile (x: Tensor) (shape: int[]) =
    let xs = x.Shape
    let n = Array.fold (*) 1 shape
    let out = Array.zeroCreate n
    for flat in 0 .. n - 1 do
        let idx = Array.zeroCreate shape.Length
        let mutable r = flat
        for a in shape.Length - 1 .. -1 .. 0 do
            idx.[a] <- r % shape.[a]
            r <- r / shape.[a]
        let off = shape.Length - xs.Length
        out.[flat] <- x.Get(Array.init xs.Length (fun a -> if xs.[a] = 1 then 0 else idx.[a + off]))
    out

[<Property(MaxTest = 100)>]
let ``broadcasting agrees with explicit tiling`` (seed: int) =
    let rng = Random(seed)
    let s = randShape rng 0 4 4
    let p = partner rng s
    let a, b = if rng.Next(2) = 0 then s, p else p, s
    let x = t64 a (randData rng (Array.fold (*) 1 a) -2.0 2.0)
    let y = t64 b (randData rng (Array.fold (*) 1 b) 0.5 2.0)
    let outShape = Array.init (max a.Length b.Length) (fun i ->
        let da = let j = i - (max a.Length b.Length - a.Length) in if j < 0 then 1 else a.[j]
        let db = let j = i - (max a.Length b.Length - b.Length) in if j < 0 then 1 else b.[j]
        max da db)
    let tx, ty = tile x outShape, tile y outShape
    for name, op, f in [ "add", (fun (u: Tensor) v -> u + v), (+)
                         "sub", (fun u v -> u - v), (-)
                         "mul", (fun u v -> u * v), (*)
                         "div", (fun u v -> u / v), (/)
                         "maximum", (fun (u: Tensor) (v: Tensor) -> Tensor.Maximum(u, v)), max
                         "minimum", (fun (u: Tensor) (v: Tensor) -> Tensor.Minimum(u, v)), min
                         "pow", (fun (u: Tensor) (v: Tensor) -> Tensor.Pow(Tensor.Abs u, v)), (fun p q -> abs p ** q) ] do
        let r = op x y
        Assert.True((outShape = r.Shape), sprintf "%s: shape %s, expected %s" name (Shape.str r.Shape) (Shape.str outShape))
        assertClose 1e-12 (Array.map2 f tx ty) (r.ToFloat64Array())
    Assert.Equal<float[]>(tx, Tensor.BroadcastTo(x, outShape).ToFloat64Array())
    let cmp = Tensor.Greater(x, y).ToBoolArray()
    Assert.Equal<bool[]>(Array.map2 (>) tx ty, cmp)

[<Fact>]
let ``chapter broadcasting examples`` () =
    let rng = Random(3)
    let x = Tensor.RandomUniform([| 64; 3; 32; 10 |], 0.0, 1.0, 1)
    let y = Tensor.RandomUniform([| 32; 10 |], 0.0, 1.0, 2)
    let z = Tensor.Maximum(x, y)
    Assert.Equal<int[]>([| 64; 3; 32; 10 |], z.Shape)
    for _ in 1 .. 200 do
        let i, j, k, l = rng.Next 64, rng.Next 3, rng.Next 32, rng.Next 10
        Assert.Equal(max (x.Get [| i; j; k; l |]) (y.Get [| k; l |]), z.Get [| i; j; k; l |])
    let a = Tensor.RandomUniform([| 32; 10 |], 0.0, 1.0, 4)
    let b = Tensor.RandomUniform([| 10 |], 0.0, 1.0, 5)
    let c = a + b
    Assert.Equal<int[]>([| 32; 10 |], c.Shape)
    let av, bv, cv = a.ToFloat32Array(), b.ToFloat32Array(), c.ToFloat32Array()
    for i in 0 .. 31 do
        for j in 0 .. 9 do
            Assert.Equal(av.[i * 10 + j] + bv.[j], cv.[i * 10 + j])

[<Fact>]
let ``float32 broadcast fast paths match float64`` () =
    let a = Tensor.RandomNormal([| 7; 5; 33 |], 0.0, 1.0, 11, Float64)
    for s in [ [| 33 |]; [| 5; 1 |]; [| 7; 1; 1 |]; [||]; [| 1; 5; 33 |]; [| 7; 5; 33 |] ] do
        let b = Tensor.RandomNormal(s, 1.0, 0.5, 12, Float64)
        for op in [ (fun (u: Tensor) v -> u + v); (fun u v -> u * v); (fun u v -> v - u); (fun u v -> u / v) ] do
            let r64 = (op a b).ToFloat64Array()
            let r32 = (op (a.AsType Float32) (b.AsType Float32)).ToFloat64Array()
            assertClose 1e-3 r64 (r32 |> Array.mapi (fun i v -> if abs r64.[i] > 100.0 then r64.[i] else v))

[<Fact>]
let ``incompatible shapes raise the NumPy message`` () =
    let e = Assert.Throws<ShapeException>(fun () -> (Tensor.Ones([| 3; 2 |]) + Tensor.Ones([| 4 |])) |> ignore)
    Assert.Equal("add: operands could not be broadcast together with shapes (3,2) (4,)", e.Message)
    throwsWith<ShapeException> "multiply: operands could not be broadcast together with shapes (2,3) (3,2)" (fun () -> box (Tensor.Ones([| 2; 3 |]) * Tensor.Ones([| 3; 2 |])))
    throwsWith<ShapeException> "maximum: operands could not be broadcast together with shapes (64,3,32,10) (3,10)" (fun () -> box (Tensor.Maximum(Tensor.Zeros([| 64; 3; 32; 10 |]), Tensor.Zeros([| 3; 10 |]))))
    throwsWith<ShapeException> "broadcast_to: operands could not be broadcast together with shapes (3,) (2,2)" (fun () -> box (Tensor.BroadcastTo(Tensor.Ones([| 3 |]), [| 2; 2 |])))
    throwsWith<ShapeException> "broadcast_to: operands could not be broadcast together with shapes (2,2) (2,)" (fun () -> box (Tensor.BroadcastTo(Tensor.Ones([| 2; 2 |]), [| 2 |])))

[<Fact>]
let ``gradients of broadcast operands are summed back to their shapes`` () =
    let a = Tensor.Ones([| 4; 3 |], Float64)
    let b = Tensor.FromArray([| 1.0; 2.0; 3.0 |])
    let g = Autodiff.gradN (fun xs -> xs.[0] * xs.[1]) [| a; b |]
    Assert.Equal<int[]>([| 4; 3 |], g.[0].Shape)
    assertClose 0.0 [| for _ in 1 .. 4 do yield! [| 1.0; 2.0; 3.0 |] |] (g.[0].ToFloat64Array())
    Assert.Equal<int[]>([| 3 |], g.[1].Shape)
    assertClose 0.0 [| 4.0; 4.0; 4.0 |] (g.[1].ToFloat64Array())
