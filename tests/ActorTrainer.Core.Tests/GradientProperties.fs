module ActorTrainer.Core.Tests.GradientProperties

open System
open Xunit
open FsCheck.Xunit
open ActorTrainer.Core
open ActorTrainer.Core.Tests.TensorTests

/// Checks the tape gradient of loss(xs) = Σ f(xs)·W (W fixed, non-uniform) against a central finite difference
/// in float64: |g - fd| ≤ 1e-6 · max(1, |g|, |fd|) for every element of every input.
let gradCheck (name: string) (f: Tensor[] -> Tensor) (inputs: (int[] * float[])[]) =
    let mk (vals: (int[] * float[])[]) = vals |> Array.map (fun (s, d) -> t64 s d)
    let y0 = f (mk inputs)
    Assert.Equal(Float64, y0.DType)
    let w = t64 y0.Shape (Array.init y0.Size (fun i -> 0.5 + float ((i * 7919) % 13) / 13.0))
    let loss xs = Tensor.Sum(Tensor.Mul(f xs, w))
    let grads = Autodiff.gradN loss (mk inputs)
    let h = 1e-5
    inputs |> Array.iteri (fun i (s, d) ->
        Assert.Equal<int[]>(s, grads.[i].Shape)
        Assert.Equal(Float64, grads.[i].DType)
        let g = grads.[i].ToFloat64Array()
        for j in 0 .. d.Length - 1 do
            let at (delta: float) =
                let v = Array.copy d
                v.[j] <- v.[j] + delta
                loss (mk (Array.mapi (fun k inp -> if k = i then (s, v) else inp) inputs)) |> fun t -> t.ToScalar()
            let fd = (at h - at -h) / (2.0 * h)
            let err = abs (g.[j] - fd) / max 1.0 (max (abs g.[j]) (abs fd))
            if not (err < 1e-6) then
                failwithf "%s: input %d shape %s element %d: tape %.12g vs finite difference %.12g (rel err %.3g)" name i (Shape.str s) j g.[j] fd err)

let private size (s: int[]) = Array.fold (*) 1 s
/// Values bounded away from 0: ±[0.2, 1.2).
let private awayFromZero (rng: Random) n = Array.init n (fun _ -> (if rng.Next(2) = 0 then -1.0 else 1.0) * (0.2 + rng.NextDouble()))
/// Distinct values on a 0.25-spaced grid plus small jitter (no ties, no near-ties).
let private distinct (rng: Random) n =
    Array.init n (fun i -> 0.25 * float i + 0.05 * rng.NextDouble()) |> Array.sortBy (fun _ -> rng.Next())
/// A random shape of rank 0–4 and a broadcast partner, in random order.
let private pairShapes (rng: Random) =
    let s = randShape rng 0 4 3
    let p = partner rng s
    if rng.Next(2) = 0 then s, p else p, s
let private unary (seed: int) (name: string) (gen: Random -> int -> float[]) (f: Tensor -> Tensor) =
    let rng = Random(seed)
    let s = randShape rng 0 4 3
    gradCheck name (fun xs -> f xs.[0]) [| s, gen rng (size s) |]
let private binary (seed: int) (name: string) (genA: Random -> int -> float[]) (genB: Random -> int -> float[]) (f: Tensor -> Tensor -> Tensor) =
    let rng = Random(seed)
    let sa, sb = pairShapes rng
    gradCheck name (fun xs -> f xs.[0] xs.[1]) [| sa, genA rng (size sa); sb, genB rng (size sb) |]
let private anyVal (rng: Random) n = randData rng n -1.5 1.5
let private positive (rng: Random) n = randData rng n 0.3 2.0

[<Property(MaxTest = 40)>]
let ``add`` seed = binary seed "add" anyVal anyVal (fun a b -> a + b)
[<Property(MaxTest = 40)>]
let ``sub`` seed = binary seed "sub" anyVal anyVal (fun a b -> a - b)
[<Property(MaxTest = 40)>]
let ``mul`` seed = binary seed "mul" anyVal anyVal (fun a b -> a * b)
[<Property(MaxTest = 40)>]
let ``div`` seed = binary seed "div" anyVal awayFromZero (fun a b -> a / b)
[<Property(MaxTest = 40)>]
let ``pow tensor exponent`` seed = binary seed "pow" positive anyVal (fun a b -> Tensor.Pow(a, b))
[<Property(MaxTest = 40)>]
let ``maximum`` seed =
    // a on the grid 0.2k+0.05, b on 0.2k+0.15: never within 0.1 of each other
    let grid off (rng: Random) n = Array.init n (fun _ -> 0.2 * float (rng.Next(-5, 5)) + off)
    binary seed "maximum" (grid 0.05) (grid 0.15) (fun a b -> Tensor.Maximum(a, b))
[<Property(MaxTest = 40)>]
let ``minimum`` seed =
    let grid off (rng: Random) n = Array.init n (fun _ -> 0.2 * float (rng.Next(-5, 5)) + off)
    binary seed "minimum" (grid 0.05) (grid 0.15) (fun a b -> Tensor.Minimum(a, b))
[<Property(MaxTest = 40)>]
let ``scalar operators`` seed =
    unary seed "scalar ops" awayFromZero (fun x -> (2.0 - x) * 3.0 + x / 4.0 - 1.5 / x + (-x))
[<Property(MaxTest = 40)>]
let ``neg`` seed = unary seed "neg" anyVal Tensor.Neg
[<Property(MaxTest = 40)>]
let ``relu`` seed = unary seed "relu" awayFromZero Tensor.Relu
[<Property(MaxTest = 40)>]
let ``exp`` seed = unary seed "exp" anyVal Tensor.Exp
[<Property(MaxTest = 40)>]
let ``log`` seed = unary seed "log" positive Tensor.Log
[<Property(MaxTest = 40)>]
let ``sqrt`` seed = unary seed "sqrt" positive Tensor.Sqrt
[<Property(MaxTest = 40)>]
let ``square`` seed = unary seed "square" anyVal Tensor.Square
[<Property(MaxTest = 40)>]
let ``pow scalar`` seed = unary seed "pow scalar" positive (fun x -> Tensor.Pow(x, 2.7))
[<Property(MaxTest = 40)>]
let ``abs`` seed = unary seed "abs" awayFromZero Tensor.Abs
[<Property(MaxTest = 40)>]
let ``sigmoid`` seed = unary seed "sigmoid" anyVal Tensor.Sigmoid
[<Property(MaxTest = 40)>]
let ``tanh`` seed = unary seed "tanh" anyVal Tensor.Tanh
[<Property(MaxTest = 40)>]
let ``clip`` seed =
    // values kept ≥ 0.05 away from the bounds ±0.5
    let gen (rng: Random) n = Array.init n (fun _ -> let v = 0.55 + rng.NextDouble() in match rng.Next(3) with 0 -> v | 1 -> -v | _ -> 0.9 * (rng.NextDouble() - 0.5))
    unary seed "clip" gen (fun x -> Tensor.Clip(x, -0.5, 0.5))
[<Property(MaxTest = 40)>]
let ``where`` seed =
    let rng = Random(seed)
    let sa, sb = pairShapes rng
    let sc = partner rng (if sa.Length >= sb.Length then sa else sb)
    let cond = Tensor.FromArray(Array.init (size sc) (fun _ -> rng.Next(2) = 0), sc)
    gradCheck "where" (fun xs -> Tensor.Where(cond, xs.[0], xs.[1])) [| sa, anyVal rng (size sa); sb, anyVal rng (size sb) |]
[<Fact>]
let ``astype between float dtypes passes the gradient through in the source dtype`` () =
    let x = t64 [| 2; 2 |] [| 0.5; -1.0; 2.0; 3.0 |]
    let g = Autodiff.grad (fun t -> t.AsType(Float32) * t.AsType(Float32)) x
    Assert.Equal(Float64, g.DType)
    assertClose 1e-6 [| 1.0; -2.0; 4.0; 6.0 |] (g.ToFloat64Array())

let private randomAxes (rng: Random) (rank: int) =
    if rank = 0 || rng.Next(4) = 0 then None
    else Some [| for a in 0 .. rank - 1 do if rng.Next(2) = 0 then yield (if rng.Next(2) = 0 then a else a - rank) |]

[<Property(MaxTest = 40)>]
let ``sum and mean with axes and keepdims`` seed =
    let rng = Random(seed)
    let s = randShape rng 0 4 3
    let axes = randomAxes rng s.Length
    let keep = rng.Next(2) = 0
    gradCheck "sum" (fun xs -> Tensor.Sum(xs.[0], ?axes = axes, keepdims = keep)) [| s, anyVal rng (size s) |]
    gradCheck "mean" (fun xs -> Tensor.Mean(xs.[0], ?axes = axes, keepdims = keep)) [| s, anyVal rng (size s) |]
[<Property(MaxTest = 40)>]
let ``max and min with axes and keepdims`` seed =
    let rng = Random(seed)
    let s = randShape rng 0 4 3
    let axes = randomAxes rng s.Length
    let keep = rng.Next(2) = 0
    gradCheck "max" (fun xs -> Tensor.Max(xs.[0], ?axes = axes, keepdims = keep)) [| s, distinct rng (size s) |]
    gradCheck "min" (fun xs -> Tensor.Min(xs.[0], ?axes = axes, keepdims = keep)) [| s, distinct rng (size s) |]
[<Property(MaxTest = 40)>]
let ``softmax and log_softmax along any axis`` seed =
    let rng = Random(seed)
    let s = randShape rng 1 4 4
    let axis = rng.Next(-s.Length, s.Length)
    gradCheck "softmax" (fun xs -> Tensor.Softmax(xs.[0], axis)) [| s, randData rng (size s) -3.0 3.0 |]
    gradCheck "log_softmax" (fun xs -> Tensor.LogSoftmax(xs.[0], axis)) [| s, randData rng (size s) -3.0 3.0 |]

[<Property(MaxTest = 40)>]
let ``dot in every rank case`` seed =
    let rng = Random(seed)
    let d () = rng.Next(1, 4)
    let k = d ()
    let cases =
        [| [| k |], [| k |]
           [| d (); k |], [| k |]
           [| k |], [| k; d () |]
           [| d (); k |], [| k; d () |]
           [| d (); d (); d (); k |], [| k |]
           [| d (); d (); d (); k |], [| k; d () |]
           [| d (); k |], [| d (); k; d () |]
           [||], [| d (); d () |] |]
    for sa, sb in cases do
        gradCheck (sprintf "dot %s·%s" (Shape.str sa) (Shape.str sb)) (fun xs -> Tensor.Dot(xs.[0], xs.[1])) [| sa, anyVal rng (size sa); sb, anyVal rng (size sb) |]
[<Property(MaxTest = 40)>]
let ``matmul batched with broadcasting and 1-D operands`` seed =
    let rng = Random(seed)
    let m, k, n = rng.Next(1, 4), rng.Next(1, 4), rng.Next(1, 4)
    let batch = randShape rng 0 2 3
    let pb = partner rng batch
    let ba, bb = if rng.Next(2) = 0 then batch, pb else pb, batch
    let cases =
        [| Array.append ba [| m; k |], Array.append bb [| k; n |]
           [| k |], Array.append bb [| k; n |]
           Array.append ba [| m; k |], [| k |] |]
    for sa, sb in cases do
        gradCheck (sprintf "matmul %s@%s" (Shape.str sa) (Shape.str sb)) (fun xs -> Tensor.MatMul(xs.[0], xs.[1])) [| sa, anyVal rng (size sa); sb, anyVal rng (size sb) |]

[<Property(MaxTest = 40)>]
let ``reshape transpose expand_dims squeeze broadcast_to`` seed =
    let rng = Random(seed)
    let s = randShape rng 0 4 3
    let x = [| s, anyVal rng (size s) |]
    gradCheck "reshape" (fun xs -> Tensor.Reshape(xs.[0], [| -1; 1 |])) x
    gradCheck "transpose" (fun xs -> Tensor.Transpose(xs.[0])) x
    let perm = Array.init s.Length id |> Array.sortBy (fun _ -> rng.Next())
    gradCheck "permute" (fun xs -> Tensor.Transpose(xs.[0], perm)) x
    let ax = rng.Next(-s.Length - 1, s.Length + 1)
    gradCheck "expand_dims" (fun xs -> Tensor.ExpandDims(xs.[0], ax)) x
    gradCheck "squeeze" (fun xs -> Tensor.Squeeze(xs.[0])) x
    let big = Array.append [| rng.Next(1, 3) |] (s |> Array.map (fun dd -> if dd = 1 then rng.Next(1, 3) else dd))
    gradCheck "broadcast_to" (fun xs -> Tensor.BroadcastTo(xs.[0], big)) x
[<Property(MaxTest = 40)>]
let ``concatenate and stack`` seed =
    let rng = Random(seed)
    let s = randShape rng 1 4 3
    let axis = rng.Next(0, s.Length)
    let s2 = Array.copy s
    s2.[axis] <- rng.Next(1, 4)
    gradCheck "concatenate" (fun xs -> Tensor.Concatenate(xs, axis)) [| s, anyVal rng (size s); s2, anyVal rng (size s2); s, anyVal rng (size s) |]
    let sa = rng.Next(-s.Length - 1, s.Length + 1)
    gradCheck "stack" (fun xs -> Tensor.Stack(xs, sa)) [| s, anyVal rng (size s); s, anyVal rng (size s) |]
[<Property(MaxTest = 40)>]
let ``slice and mask`` seed =
    let rng = Random(seed)
    let s = randShape rng 1 4 5
    let specs =
        s |> Array.map (fun d ->
            match rng.Next(3) with
            | 0 -> SliceSpec.Index(rng.Next(-d, d))
            | 1 -> SliceSpec.All
            | _ ->
                let step = (if rng.Next(2) = 0 then 1 else -1) * rng.Next(1, 3)
                SliceSpec.Range(Nullable(rng.Next(-d, d)), (if rng.Next(2) = 0 then Nullable() else Nullable(rng.Next(-d - 1, d + 1))), step))
    gradCheck "slice" (fun xs -> Tensor.Slice(xs.[0], specs)) [| s, anyVal rng (size s) |]
    gradCheck "slice text" (fun xs -> xs.[0].Slice("::-1")) [| s, anyVal rng (size s) |]
    let m = Tensor.FromArray(Array.init s.[0] (fun _ -> rng.Next(2) = 0))
    gradCheck "mask" (fun xs -> xs.[0].Mask(m)) [| s, anyVal rng (size s) |]
[<Property(MaxTest = 15)>]
let ``composite: MLP layer with softmax cross-entropy`` seed =
    let rng = Random(seed)
    let b, i, h, o = rng.Next(1, 4), rng.Next(1, 5), rng.Next(1, 5), rng.Next(2, 4)
    let labels = Tensor.OneHot(Tensor.FromArray(Array.init b (fun _ -> rng.Next(o))), o, Float64)
    gradCheck "mlp"
        (fun xs ->
            let hid = Tensor.Relu(Tensor.Dot(xs.[0], xs.[1]) + xs.[2])
            let logits = Tensor.Dot(hid, xs.[3])
            -Tensor.Mean(Tensor.Sum(labels * Tensor.LogSoftmax(logits), [| -1 |])))
        [| [| b; i |], anyVal rng (b * i); [| i; h |], anyVal rng (i * h); [| h |], randData rng h 0.5 1.0; [| h; o |], anyVal rng (h * o) |]
