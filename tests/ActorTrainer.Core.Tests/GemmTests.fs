module ActorTrainer.Core.Tests.GemmTests

open System
open Xunit
open FsCheck.Xunit
open MathNet.Numerics.LinearAlgebra
open ActorTrainer.Kernels

/// One GEMM test case: C(m×n) = alpha·op(A)·op(B) + beta·C with row strides padded by PadA/PadB/PadC.
type Case =
    { TA: bool; TB: bool; M: int; N: int; K: int
      Alpha: float; Beta: float; PadA: int; PadB: int; PadC: int; Seed: int }

/// Stored operands as float64 values that are exactly representable in float32.
type Data = { A: float[]; Lda: int; B: float[]; Ldb: int; C: float[]; Ldc: int }

let private lenOf rows cols ld = if rows = 0 || cols = 0 then 0 else (rows - 1) * ld + cols

let private makeData (c: Case) =
    let rng = Random(c.Seed)
    let ar, ac = if c.TA then c.K, c.M else c.M, c.K
    let br, bc = if c.TB then c.N, c.K else c.K, c.N
    let lda, ldb, ldc = max 1 ac + c.PadA, max 1 bc + c.PadB, max 1 c.N + c.PadC
    let fill len = Array.init len (fun _ -> float (float32 (rng.NextDouble() * 2.0 - 1.0)))
    { A = fill (lenOf ar ac lda); Lda = lda; B = fill (lenOf br bc ldb); Ldb = ldb
      C = fill (lenOf c.M c.N ldc); Ldc = ldc }

/// Expected C (float64, via MathNet Matrix<double>) and the error scale |alpha|·|op(A)|·|op(B)| + |beta|·|C|.
let private reference (c: Case) (d: Data) =
    let opA i p = if c.TA then d.A[p * d.Lda + i] else d.A[i * d.Lda + p]
    let opB p j = if c.TB then d.B[j * d.Ldb + p] else d.B[p * d.Ldb + j]
    let c0 i j = if c.Beta = 0.0 then 0.0 else c.Beta * d.C[i * d.Ldc + j]
    let expected, scale =
        if c.M = 0 || c.N = 0 then Array2D.zeroCreate c.M c.N, Array2D.zeroCreate c.M c.N
        elif c.K = 0 then Array2D.init c.M c.N c0, Array2D.init c.M c.N (fun i j -> abs (c0 i j))
        else
            let a = Matrix<float>.Build.Dense(c.M, c.K, fun i p -> opA i p)
            let b = Matrix<float>.Build.Dense(c.K, c.N, fun p j -> opB p j)
            let prod = a * b
            let absProd = a.PointwiseAbs() * b.PointwiseAbs()
            Array2D.init c.M c.N (fun i j -> c.Alpha * prod[i, j] + c0 i j),
            Array2D.init c.M c.N (fun i j -> abs c.Alpha * absProd[i, j] + abs (c0 i j))
    expected, scale

/// Checks got against the reference within relTol·max(1,k)·scale, and that padding of C is untouched.
let private check (c: Case) (d: Data) (got: int -> float) relTol =
    let expected, scale = reference c d
    for i in 0 .. c.M - 1 do
        for j in 0 .. c.N - 1 do
            let g = got (i * d.Ldc + j)
            let tol = relTol * float (max 1 c.K) * scale[i, j] + 1e-300
            if not (abs (g - expected[i, j]) <= tol) then
                failwithf "%A: C[%d,%d] = %g, expected %g (tol %g)" c i j g expected[i, j] tol
        for j in c.N .. d.Ldc - 1 do
            let idx = i * d.Ldc + j
            if idx < d.C.Length && not ((got idx).Equals(d.C[idx])) then failwithf "%A: padding C[%d] (row %d) was modified" c idx i

let private run32 (g: IGemm) (c: Case) =
    let d = makeData c
    let a, b = Array.map float32 d.A, Array.map float32 d.B
    let cc = Array.map float32 d.C
    g.Gemm(c.TA, c.TB, c.M, c.N, c.K, float32 c.Alpha, ReadOnlySpan<float32>(a), d.Lda,
           ReadOnlySpan<float32>(b), d.Ldb, float32 c.Beta, Span<float32>(cc), d.Ldc)
    check c d (fun i -> float cc[i]) 1e-6

let private run64 (g: IGemm) (c: Case) =
    let d = makeData c
    let cc = Array.copy d.C
    g.Gemm(c.TA, c.TB, c.M, c.N, c.K, c.Alpha, ReadOnlySpan<float>(d.A), d.Lda,
           ReadOnlySpan<float>(d.B), d.Ldb, c.Beta, Span<float>(cc), d.Ldc)
    check c d (fun i -> cc[i]) 1e-14

/// Every provider under test: managed (best ISA), forced AVX2 and scalar managed kernels, MathNet.
let backends : IGemm list =
    [ yield GemmBackends.Managed
      if ManagedGemm(SimdLevel.Auto).Level <> SimdLevel.Avx2 && ManagedGemm(SimdLevel.Auto).Level <> SimdLevel.Scalar then
          yield ManagedGemm(SimdLevel.Avx2) :> IGemm
      yield ManagedGemm(SimdLevel.Scalar) :> IGemm
      yield GemmBackends.MathNet ]

let private backendNamed name = backends |> List.find (fun g -> g.Name = name)

let backendNames () : obj[] seq = backends |> Seq.map (fun g -> [| box g.Name |])

let private case ta tb m n k alpha beta = 
    { TA = ta; TB = tb; M = m; N = n; K = k; Alpha = alpha; Beta = beta; PadA = 0; PadB = 0; PadC = 0; Seed = m * 7919 + n * 31 + k }

let private allTrans = [ for ta in [ false; true ] do for tb in [ false; true ] -> ta, tb ]

[<Theory; MemberData(nameof backendNames)>]
let ``fixed shapes (1x1, primes, MLP) match the float64 MathNet reference for all transposes`` (name: string) =
    let g = backendNamed name
    let shapes = [ 1, 1, 1; 7, 13, 31; 127, 257, 509; 33, 10, 784; 128, 10, 512; 17, 48, 3; 37, 13, 203; 6, 16, 64 ]
    for (m, n, k) in shapes do
        for (ta, tb) in allTrans do
            let c = case ta tb m n k 1.0 0.0
            run32 g c
            run64 g c
            run32 g { c with Alpha = -0.5; Beta = 2.0; PadA = 3; PadB = 1; PadC = 5 }
            run64 g { c with Alpha = 1.5; Beta = -1.0; PadA = 2; PadB = 4; PadC = 1 }

[<Property(MaxTest = 120)>]
let ``random shapes, strides, alpha and beta match the reference on every backend``
        (ta: bool) (tb: bool) (m0: int) (n0: int) (k0: int) (pads: int) (ab: int) (seed: int) =
    let m, n, k = abs (m0 % 41), abs (n0 % 75), abs (k0 % 300)
    let alphas, betas = [| 1.0; -0.5; 2.0; 0.0 |], [| 0.0; 1.0; -0.75 |]
    let ab = abs ab
    let c = { TA = ta; TB = tb; M = m; N = n; K = k; Alpha = alphas[ab % 4]; Beta = betas[(ab / 4) % 3]
              PadA = abs pads % 3; PadB = abs (pads / 3) % 3; PadC = abs (pads / 9) % 3; Seed = seed }
    for g in backends do
        run32 g c
        run64 g c

[<Theory; MemberData(nameof backendNames)>]
let ``empty dimensions: C unchanged for m or n = 0, beta*C for k = 0`` (name: string) =
    let g = backendNamed name
    for (ta, tb) in allTrans do
        // m = 0 or n = 0: nothing is written (spans may be empty).
        let c = Array.create 6 3.0f
        g.Gemm(ta, tb, 0, 6, 4, 1.0f, ReadOnlySpan<float32>.Empty, 4, ReadOnlySpan<float32>(Array.zeroCreate 24), (if tb then 4 else 6), 0.0f, Span<float32>(c), 6)
        Assert.Equal<float32[]>(Array.create 6 3.0f, c)
        g.Gemm(ta, tb, 2, 0, 4, 1.0f, ReadOnlySpan<float32>(Array.zeroCreate 8), (if ta then 2 else 4), ReadOnlySpan<float32>.Empty, 4, 0.0f, Span<float32>(c), 1)
        Assert.Equal<float32[]>(Array.create 6 3.0f, c)
        // k = 0: C = beta·C; with beta = 1 unchanged, with beta = 0 zeroed (even NaN).
        let c1 = Array.init 6 (fun i -> float i)
        g.Gemm(ta, tb, 2, 3, 0, 1.0, ReadOnlySpan<float>.Empty, (if ta then 2 else 1), ReadOnlySpan<float>.Empty, (if tb then 1 else 3), 1.0, Span<float>(c1), 3)
        Assert.Equal<float[]>(Array.init 6 (fun i -> float i), c1)
        let c0 = Array.create 6 nan
        g.Gemm(ta, tb, 2, 3, 0, 1.0, ReadOnlySpan<float>.Empty, (if ta then 2 else 1), ReadOnlySpan<float>.Empty, (if tb then 1 else 3), 0.0, Span<float>(c0), 3)
        Assert.Equal<float[]>(Array.zeroCreate 6, c0)
        let c2 = Array.create 6 2.0f
        g.Gemm(ta, tb, 2, 3, 0, 1.0f, ReadOnlySpan<float32>.Empty, (if ta then 2 else 1), ReadOnlySpan<float32>.Empty, (if tb then 1 else 3), 0.5f, Span<float32>(c2), 3)
        Assert.Equal<float32[]>(Array.create 6 1.0f, c2)

[<Theory; MemberData(nameof backendNames)>]
let ``beta = 0 ignores NaN in C`` (name: string) =
    let g = backendNamed name
    for (ta, tb) in allTrans do
        let c = { case ta tb 19 37 23 1.0 0.0 with PadC = 2 }
        let d = makeData c
        let a, b = Array.map float32 d.A, Array.map float32 d.B
        let c32 = Array.create d.C.Length nanf
        g.Gemm(ta, tb, c.M, c.N, c.K, 1.0f, ReadOnlySpan<float32>(a), d.Lda, ReadOnlySpan<float32>(b), d.Ldb, 0.0f, Span<float32>(c32), d.Ldc)
        check c { d with C = Array.create d.C.Length nan } (fun i -> if i % d.Ldc < c.N then float c32[i] else nan) 1e-6
        let c64 = Array.create d.C.Length nan
        g.Gemm(ta, tb, c.M, c.N, c.K, 1.0, ReadOnlySpan<float>(d.A), d.Lda, ReadOnlySpan<float>(d.B), d.Ldb, 0.0, Span<float>(c64), d.Ldc)
        for i in 0 .. c.M - 1 do
            for j in 0 .. c.N - 1 do
                Assert.False(Double.IsNaN c64[i * d.Ldc + j], sprintf "%s: NaN leaked into C[%d,%d]" name i j)

let private bits32 (x: float32[]) = x |> Array.map BitConverter.SingleToInt32Bits
let private bits64 (x: float[]) = x |> Array.map BitConverter.DoubleToInt64Bits

[<Fact>]
let ``managed results are bit-identical for MaxDegreeOfParallelism 1 and 2`` () =
    let saved = KernelSettings.MaxDegreeOfParallelism
    try
        let shapes = [ 128, 512, 784; 784, 512, 128; 128, 784, 512; 128, 10, 512; 512, 10, 128; 127, 257, 509; 300, 20, 700 ]
        for (m, n, k) in shapes do
            for (ta, tb) in allTrans do
                for beta in [ 0.0; 0.5 ] do
                    let c = { case ta tb m n k 0.75 beta with PadC = 3 }
                    let d = makeData c
                    let a, b, c0 = Array.map float32 d.A, Array.map float32 d.B, Array.map float32 d.C
                    let go dop =
                        KernelSettings.MaxDegreeOfParallelism <- dop
                        let r32 = Array.copy c0
                        GemmBackends.Managed.Gemm(ta, tb, m, n, k, 0.75f, ReadOnlySpan<float32>(a), d.Lda, ReadOnlySpan<float32>(b), d.Ldb, float32 beta, Span<float32>(r32), d.Ldc)
                        let r64 = Array.copy d.C
                        GemmBackends.Managed.Gemm(ta, tb, m, n, k, 0.75, ReadOnlySpan<float>(d.A), d.Lda, ReadOnlySpan<float>(d.B), d.Ldb, beta, Span<float>(r64), d.Ldc)
                        r32, r64
                    let s32, s64 = go 1
                    let p32, p64 = go 2
                    Assert.True((bits32 s32 = bits32 p32), sprintf "float32 %A differs between 1 and 2 threads" c)
                    Assert.True((bits64 s64 = bits64 p64), sprintf "float64 %A differs between 1 and 2 threads" c)
                    check c d (fun i -> float p32[i]) 1e-6
    finally
        KernelSettings.MaxDegreeOfParallelism <- saved

[<Theory; MemberData(nameof backendNames)>]
let ``bad arguments throw ArgumentException naming the argument`` (name: string) =
    let g = backendNamed name
    let a, b, c = Array.zeroCreate<float32> 12, Array.zeroCreate<float32> 12, Array.zeroCreate<float32> 9
    // Valid call: C(3×3) = A(3×4)·B(4×3).
    let call ta tb m n k (a: float32[]) lda (b: float32[]) ldb (c: float32[]) ldc =
        g.Gemm(ta, tb, m, n, k, 1.0f, ReadOnlySpan<float32>(a), lda, ReadOnlySpan<float32>(b), ldb, 0.0f, Span<float32>(c), ldc)
    call false false 3 3 4 a 4 b 3 c 3
    let expect (param: string) (f: unit -> unit) =
        let ex = Assert.ThrowsAny<ArgumentException>(Action f)
        Assert.Equal(param, ex.ParamName)
    expect "m" (fun () -> call false false -1 3 4 a 4 b 3 c 3)
    expect "n" (fun () -> call false false 3 -2 4 a 4 b 3 c 3)
    expect "k" (fun () -> call false false 3 3 -4 a 4 b 3 c 3)
    expect "lda" (fun () -> call false false 3 3 4 a 3 b 3 c 3)
    expect "lda" (fun () -> call true false 3 3 4 a 2 b 3 c 3)
    expect "ldb" (fun () -> call false false 3 3 4 a 4 b 2 c 3)
    expect "ldb" (fun () -> call false true 3 3 4 a 4 b 3 c 3)
    expect "ldc" (fun () -> call false false 3 3 4 a 4 b 3 c 2)
    expect "a" (fun () -> call false false 3 3 4 (Array.zeroCreate 11) 4 b 3 c 3)
    expect "a" (fun () -> call false false 3 3 4 a 5 b 3 c 3)
    expect "b" (fun () -> call false false 3 3 4 a 4 (Array.zeroCreate 11) 3 c 3)
    expect "b" (fun () -> call false true 3 3 4 a 4 b 5 c 3)
    expect "c" (fun () -> call false false 3 3 4 a 4 b 3 (Array.zeroCreate 8) 3)
    expect "c" (fun () -> call false false 3 3 4 a 4 b 3 c 4)
    let ex = Assert.ThrowsAny<ArgumentException>(Action(fun () ->
        g.Gemm(false, false, 3, 3, 4, 1.0, ReadOnlySpan<float>(Array.zeroCreate 12), 4, ReadOnlySpan<float>(Array.zeroCreate 5), 3, 0.0, Span<float>(Array.zeroCreate 9), 3)))
    Assert.Equal("b", ex.ParamName)
    Assert.Contains("12", ex.Message)

[<Fact>]
let ``default backend is the managed kernel and rejects null`` () =
    Assert.Same(GemmBackends.Managed, GemmBackends.Default)
    Assert.Equal("managed", GemmBackends.Managed.Name)
    Assert.Equal("mathnet", GemmBackends.MathNet.Name)
    Assert.Throws<ArgumentNullException>(Action(fun () -> GemmBackends.Default <- Unchecked.defaultof<IGemm>)) |> ignore
    Assert.Throws<ArgumentOutOfRangeException>(Action(fun () -> KernelSettings.MaxDegreeOfParallelism <- 0)) |> ignore

[<Fact>]
let ``managed GEMM does not allocate on the calling thread in steady state`` () =
    let saved = KernelSettings.MaxDegreeOfParallelism
    try
        let m, n, k = 128, 512, 784
        let a, b, c = Array.create (m * k) 0.5f, Array.create (k * n) 0.25f, Array.zeroCreate<float32> (m * n)
        let a64, b64, c64 = Array.create (m * k) 0.5, Array.create (k * n) 0.25, Array.zeroCreate<float> (m * n)
        for dop in [ 1; 2 ] do
            KernelSettings.MaxDegreeOfParallelism <- dop
            let call () =
                for (ta, tb) in allTrans do
                    GemmBackends.Managed.Gemm(ta, tb, m, n, k, 1.0f, ReadOnlySpan<float32>(a), (if ta then m else k), ReadOnlySpan<float32>(b), (if tb then k else n), 0.0f, Span<float32>(c), n)
                    GemmBackends.Managed.Gemm(ta, tb, m, n, k, 1.0, ReadOnlySpan<float>(a64), (if ta then m else k), ReadOnlySpan<float>(b64), (if tb then k else n), 0.0, Span<float>(c64), n)
            call ()
            call ()
            let before = GC.GetAllocatedBytesForCurrentThread()
            call ()
            call ()
            let allocated = GC.GetAllocatedBytesForCurrentThread() - before
            Assert.True((allocated = 0L), sprintf "MaxDegreeOfParallelism=%d: %d bytes allocated by 16 GEMM calls" dop allocated)
            Assert.Equal(0.5f * 0.25f * float32 k, c[0])
    finally
        KernelSettings.MaxDegreeOfParallelism <- saved

[<Fact>]
let ``concurrent callers get the same bits as sequential calls`` () =
    // Actors may call GEMM from several threads at once: each call gets its share of the helper threads.
    let cases =
        [ for i in 0 .. 7 ->
            let ta, tb = allTrans[i % 4]
            { case ta tb (96 + 8 * i) (200 + 16 * i) (300 + i) 1.0 0.5 with Seed = i } ]
    let run (c: Case) =
        let d = makeData c
        let a, b, cc = Array.map float32 d.A, Array.map float32 d.B, Array.map float32 d.C
        GemmBackends.Managed.Gemm(c.TA, c.TB, c.M, c.N, c.K, 1.0f, ReadOnlySpan<float32>(a), d.Lda, ReadOnlySpan<float32>(b), d.Ldb, 0.5f, Span<float32>(cc), d.Ldc)
        bits32 cc
    let sequential = cases |> List.map run
    for _ in 1 .. 3 do
        let concurrent = cases |> List.toArray |> Array.Parallel.map run
        for i in 0 .. cases.Length - 1 do
            Assert.True((concurrent[i] = sequential[i]), sprintf "%A: concurrent result differs" cases[i])

[<Property(MaxTest = 40)>]
let ``random shapes give bit-identical managed results for 1, 2 and 3 threads`` (ta: bool) (tb: bool) (m0: int) (n0: int) (k0: int) (seed: int) =
    let c = { case ta tb (1 + abs (m0 % 200)) (1 + abs (n0 % 300)) (1 + abs (k0 % 600)) 1.0 0.25 with Seed = seed; PadC = 1 }
    let d = makeData c
    let a, b = Array.map float32 d.A, Array.map float32 d.B
    let saved = KernelSettings.MaxDegreeOfParallelism
    try
        let results =
            [ for dop in [ 1; 2; 3 ] ->
                KernelSettings.MaxDegreeOfParallelism <- dop
                let cc = Array.map float32 d.C
                GemmBackends.Managed.Gemm(ta, tb, c.M, c.N, c.K, 1.0f, ReadOnlySpan<float32>(a), d.Lda, ReadOnlySpan<float32>(b), d.Ldb, 0.25f, Span<float32>(cc), d.Ldc)
                bits32 cc ]
        Assert.True((results[0] = results[1] && results[0] = results[2]), sprintf "%A: results depend on the thread count" c)
    finally
        KernelSettings.MaxDegreeOfParallelism <- saved
