module ActorTrainer.Core.Tests.DeterminismTests

// The cross-machine determinism contract at kernel level: every instruction-set path gives the same bits, and the
// canonical functions are accurate against independent float64 oracles (System.Math).

open System
open Xunit
open FsCheck.Xunit
open ActorTrainer.Kernels

let private bits32 (x: float32) = BitConverter.SingleToInt32Bits x
let private bits64 (x: float) = BitConverter.DoubleToInt64Bits x

/// Distance in units in the last place between two finite doubles of the same sign.
let private ulps64 (a: float) (b: float) = abs (bits64 a - bits64 b)
let private ulps32 (a: float32) (b: float32) = abs (bits32 a - bits32 b)

let private levels =
    [ yield SimdLevel.Scalar
      if ManagedGemm(SimdLevel.Auto).Level <> SimdLevel.Scalar then yield SimdLevel.Avx2
      if ManagedGemm(SimdLevel.Auto).Level = SimdLevel.Avx512 then yield SimdLevel.Avx512 ]

let private gemm32 (level: SimdLevel) ta tb m n k (alpha: float32) (beta: float32) (seed: int) =
    let rng = Random(seed)
    let fill len = Array.init len (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))
    let a, b, c = fill (m * k), fill (k * n), fill (m * n)
    ManagedGemm(level).Gemm(ta, tb, m, n, k, alpha, ReadOnlySpan a, (if ta then m else k), ReadOnlySpan b,
                            (if tb then k else n), beta, Span c, n)
    c

let private gemm64 (level: SimdLevel) ta tb m n k (alpha: float) (beta: float) (seed: int) =
    let rng = Random(seed)
    let fill len = Array.init len (fun _ -> rng.NextDouble() * 2.0 - 1.0)
    let a, b, c = fill (m * k), fill (k * n), fill (m * n)
    ManagedGemm(level).Gemm(ta, tb, m, n, k, alpha, ReadOnlySpan a, (if ta then m else k), ReadOnlySpan b,
                            (if tb then k else n), beta, Span c, n)
    c

[<Fact>]
let ``GEMM: every instruction set gives the same bits, narrow dot path and panel path, float32 and float64`` () =
    // (128, 10, 512) and (33, 10, 784) take the narrow-n dot path; the rest the panel kernels; k > 256 splits k.
    let shapes = [ 128, 10, 512; 33, 10, 784; 7, 16, 64; 5, 3, 67; 128, 512, 784; 37, 13, 203; 9, 8, 600; 6, 16, 64 ]
    for (m, n, k) in shapes do
        for ta in [ false; true ] do
            for tb in [ false; true ] do
                for (alpha, beta) in [ 1.0, 0.0; -0.7, 0.75 ] do
                    let seed = m * 31 + n * 7 + k
                    let r32 = levels |> List.map (fun l -> l, gemm32 l ta tb m n k (float32 alpha) (float32 beta) seed)
                    let r64 = levels |> List.map (fun l -> l, gemm64 l ta tb m n k alpha beta seed)
                    let _, ref32 = r32.Head
                    let _, ref64 = r64.Head
                    for (l, c) in r32 do
                        Assert.True(Array.map bits32 c = Array.map bits32 ref32, sprintf "float32 %A vs scalar differ: %A ta=%b tb=%b" l (m, n, k) ta tb)
                    for (l, c) in r64 do
                        Assert.True(Array.map bits64 c = Array.map bits64 ref64, sprintf "float64 %A vs scalar differ: %A ta=%b tb=%b" l (m, n, k) ta tb)

/// The documented canonical order, written out plainly: L lanes over whole blocks, halving tree, ordered tail.
let private canonicalSum (x: float32[]) =
    let l = 16
    let main = x.Length - x.Length % l
    let lane = Array.zeroCreate<float32> l
    for i in 0 .. l .. main - 1 do
        for j in 0 .. l - 1 do lane.[j] <- lane.[j] + x.[i + j]
    let mutable h = l / 2
    while h >= 1 do
        for j in 0 .. h - 1 do lane.[j] <- lane.[j] + lane.[j + h]
        h <- h / 2
    let mutable s = lane.[0]
    for i in main .. x.Length - 1 do s <- s + x.[i]
    s

let private canonicalDot (x: float[]) (y: float[]) =
    let l = 8
    let main = x.Length - x.Length % l
    let lane = Array.zeroCreate<float> l
    for i in 0 .. l .. main - 1 do
        for j in 0 .. l - 1 do lane.[j] <- Math.FusedMultiplyAdd(x.[i + j], y.[i + j], lane.[j])
    let mutable h = l / 2
    while h >= 1 do
        for j in 0 .. h - 1 do lane.[j] <- lane.[j] + lane.[j + h]
        h <- h / 2
    let mutable s = lane.[0]
    for i in main .. x.Length - 1 do s <- Math.FusedMultiplyAdd(x.[i], y.[i], s)
    s

[<Property(MaxTest = 200)>]
let ``canonical sum and dot follow the documented order exactly`` (len0: int) (seed: int) =
    let len = abs (len0 % 300)
    let rng = Random(seed)
    let x32 = Array.init len (fun _ -> float32 (rng.NextDouble() * 200.0 - 100.0))
    let x64 = Array.init len (fun _ -> rng.NextDouble() * 2.0 - 1.0)
    let y64 = Array.init len (fun _ -> rng.NextDouble() * 2.0 - 1.0)
    bits32 (CanonicalReduce.Sum(ReadOnlySpan x32)) = bits32 (canonicalSum x32)
    && bits64 (CanonicalReduce.Dot(ReadOnlySpan x64, ReadOnlySpan y64)) = bits64 (canonicalDot x64 y64)

let private sample (seed: int) (n: int) (lo: float) (hi: float) =
    let rng = Random(seed)
    Array.init n (fun _ -> lo + (hi - lo) * rng.NextDouble())

[<Fact>]
let ``float64 exp, log, tanh, sigmoid are within a few ulp of System.Math over their ranges`` () =
    let check name (f: float -> float) (oracle: float -> float) (xs: float[]) (maxUlp: int64) =
        for x in xs do
            let got, want = f x, oracle x
            if want <> 0.0 && not (Double.IsInfinity want) && Double.IsNormal want then
                Assert.True(ulps64 got want <= maxUlp, sprintf "%s(%.17g) = %.17g, Math gives %.17g" name x got want)
    let wide = Array.append (sample 1 20000 -700.0 700.0) (sample 2 20000 -2.0 2.0)
    check "exp" CanonicalMath.Exp Math.Exp wide 2L
    check "log" CanonicalMath.Log Math.Log (Array.append (sample 3 20000 1e-300 1e300) (sample 4 20000 0.1 3.0)) 2L
    check "tanh" CanonicalMath.Tanh Math.Tanh (Array.append (sample 5 20000 -20.0 20.0) (sample 6 20000 -0.7 0.7)) 4L
    check "sigmoid" CanonicalMath.Sigmoid (fun x -> 1.0 / (1.0 + Math.Exp(-x))) (sample 7 20000 -30.0 30.0) 4L

[<Fact>]
let ``float32 functions are within 1 ulp of the correctly rounded value`` () =
    for x in Array.map float32 (Array.append (sample 8 20000 -87.0 88.0) (sample 9 20000 -1.0 1.0)) do
        Assert.True(ulps32 (CanonicalMath.Exp x) (float32 (Math.Exp(float x))) <= 1, sprintf "exp %g" x)
        Assert.True(ulps32 (CanonicalMath.Tanh x) (float32 (Math.Tanh(float x))) <= 1, sprintf "tanh %g" x)
    for x in Array.map float32 (sample 10 20000 1e-30 1e30) do
        Assert.True(ulps32 (CanonicalMath.Log x) (float32 (Math.Log(float x))) <= 1, sprintf "log %g" x)

[<Fact>]
let ``special values: infinities, NaN, zero, negative, subnormal and overflow`` () =
    Assert.Equal(Double.PositiveInfinity, CanonicalMath.Exp 710.0)
    Assert.Equal(Double.PositiveInfinity, CanonicalMath.Exp Double.PositiveInfinity)
    Assert.Equal(0.0, CanonicalMath.Exp -746.0)
    Assert.Equal(0.0, CanonicalMath.Exp Double.NegativeInfinity)
    Assert.True(Double.IsNaN(CanonicalMath.Exp Double.NaN))
    Assert.Equal(1.0, CanonicalMath.Exp 0.0)
    Assert.True(ulps64 (CanonicalMath.Exp -740.0) (Math.Exp -740.0) <= 1L, "subnormal exp")
    Assert.Equal(Double.NegativeInfinity, CanonicalMath.Log 0.0)
    Assert.True(Double.IsNaN(CanonicalMath.Log -1.0))
    Assert.Equal(Double.PositiveInfinity, CanonicalMath.Log Double.PositiveInfinity)
    Assert.Equal(0.0, CanonicalMath.Log 1.0)
    Assert.True(ulps64 (CanonicalMath.Log 4.9e-324) (Math.Log 4.9e-324) <= 1L, "log of the smallest subnormal")
    Assert.Equal(1.0, CanonicalMath.Tanh 50.0)
    Assert.Equal(-1.0, CanonicalMath.Tanh -50.0)
    Assert.True(Double.IsNegative(CanonicalMath.Tanh -0.0), "tanh(-0) = -0")
    Assert.Equal(0.0, CanonicalMath.Sigmoid Double.NegativeInfinity)
    Assert.Equal(1.0, CanonicalMath.Sigmoid Double.PositiveInfinity)
    Assert.Equal(Single.PositiveInfinity, CanonicalMath.Exp 89.0f)
    Assert.Equal(-8.0, CanonicalMath.Pow(-2.0, 3.0))
    Assert.True(Double.IsNaN(CanonicalMath.Pow(-2.0, 0.5)))
    Assert.Equal(1.0, CanonicalMath.Pow(Double.NaN, 0.0))
    Assert.Equal(Double.PositiveInfinity, CanonicalMath.Pow(0.0, -1.5))
    Assert.True(abs (CanonicalMath.Pow(2.0, 10.5) - Math.Pow(2.0, 10.5)) < 1e-12)

[<Property(MaxTest = 100)>]
let ``span forms equal the scalar forms element by element (vector body, padded tail)`` (len0: int) (seed: int) =
    let len = abs (len0 % 70)
    let x32 = Array.map float32 (sample seed len -30.0 30.0)
    let fs = [ CanonicalMath.Function.Exp, (fun (v: float32) -> CanonicalMath.Exp v)
               CanonicalMath.Function.Tanh, (fun v -> CanonicalMath.Tanh v)
               CanonicalMath.Function.Sigmoid, (fun v -> CanonicalMath.Sigmoid v)
               CanonicalMath.Function.Log, (fun v -> CanonicalMath.Log v) ]
    fs |> List.forall (fun (f, scalar) ->
        let y = Array.zeroCreate<float32> len
        CanonicalMath.Map(f, ReadOnlySpan x32, Span y)
        Array.forall2 (fun a b -> bits32 a = bits32 b || (Single.IsNaN a && Single.IsNaN b)) y (Array.map scalar x32))
