module ActorTrainer.Core.Tests.SparseGemmTests

// The sparse-operand GEMM path (KernelSettings.SparseOperands): for a left operand that is mostly exact zeros it
// computes only the nonzeros' products and must give the dense path's bits on every instruction set, for any
// thread count, alpha/beta, transposed A, partial panels and several k-blocks.

open System
open Xunit
open ActorTrainer.Kernels
open ActorTrainer.Core.Data

let private bits (c: float32[]) = Array.map BitConverter.SingleToInt32Bits c

let private levels =
    [ yield SimdLevel.Scalar
      if ManagedGemm(SimdLevel.Auto).Level <> SimdLevel.Scalar then yield SimdLevel.Avx2
      if ManagedGemm(SimdLevel.Auto).Level = SimdLevel.Avx512 then yield SimdLevel.Avx512 ]

/// op(A) m×k with about `density` nonzeros, row 1 and column 2 of op(A) all zero (when they exist), and a NaN-free mix
/// of signs and magnitudes; B and C dense.
let private operands (m: int) (n: int) (k: int) (density: float) (ta: bool) (seed: int) =
    let rng = Random(seed)
    let opA = Array2D.init m k (fun r p -> if r = 1 || p = 2 || rng.NextDouble() >= density then 0.0f
                                           else float32 ((rng.NextDouble() * 2.0 - 1.0) * Math.Pow(10.0, float (rng.Next(-3, 3)))))
    let a = if ta then Array.init (k * m) (fun i -> opA.[i % m, i / m]) else Array.init (m * k) (fun i -> opA.[i / k, i % k])
    let b = Array.init (k * n) (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))
    let c = Array.init (m * n) (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))
    a, b, c

/// C after alpha·op(A)·B + beta·C on `level` with at most `threads` threads; `dense` forces the dense path; returns C
/// and whether this call took the sparse path.
let private run level dense threads ta m n k (alpha: float32) (beta: float32) (a: float32[], b: float32[], c0: float32[]) =
    let c = Array.copy c0
    let before = SparseGemm.Taken
    SparseGemm.DenseOnly <- dense
    try
        use _ = KernelSettings.UseParallelism threads
        ManagedGemm(level).Gemm(ta, false, m, n, k, alpha, ReadOnlySpan a, (if ta then m else k), ReadOnlySpan b, n, beta, Span c, n)
    finally SparseGemm.DenseOnly <- false
    c, SparseGemm.Taken > before

[<Fact>]
let ``sparse path: same bits as the dense path on every instruction set, thread count, alpha/beta and transposition`` () =
    // (7, 33, 300): odd rows (a last single row), a partial 32-column panel, two k-blocks; (5, 64, 1000): four k-blocks;
    // k ≤ 64 with n ≥ 128 takes the AVX-512 four-panel pass — (784, 512, 64) is xᵀ·dh of a 64-row shard (with 2 threads
    // two parts of eight panels each), (9, 200, 40) leaves a two-panel pass and a partial panel after the four-panel one;
    // a long k-block is packed in passes of 16 panels (one part) or 4 (several): (20, 600, 200) on one thread packs
    // 16 panels, then two and a partial one, (128, 512, 784) on two threads two passes of four per part
    let shapes = [ 128, 512, 784; 64, 512, 128; 7, 33, 300; 5, 64, 1000; 33, 40, 16; 1, 32, 5; 784, 512, 64; 9, 200, 40; 20, 600, 200 ]
    for (m, n, k) in shapes do
        for ta in [ false; true ] do
            for (alpha, beta) in [ 1.0f, 0.0f; -0.7f, 0.75f; 1.3f, 1.0f ] do
                let ops = operands m n k 0.12 ta (m * 7 + n * 3 + k)
                let reference, _ = run SimdLevel.Scalar true 1 ta m n k alpha beta ops
                for level in levels do
                    for threads in [ 1; 2 ] do
                        let c, taken = run level false threads ta m n k alpha beta ops
                        Assert.True(taken, sprintf "%A ta=%b: the sparse path was not taken" (m, n, k) ta)
                        Assert.True((bits c = bits reference), sprintf "%A %A ta=%b alpha=%g beta=%g threads=%d: bits differ from the dense path" level (m, n, k) ta alpha beta threads)

[<Fact>]
let ``sparse path: a real MNIST batch, x·W and xᵀ·g as the first layer computes them, same bits as dense`` () =
    let train, _ = Mnist.loadBundled ()
    let rows, k, n = 128, 784, 512
    let x = Array.sub train.Images (300 * k) (rows * k)
    let rng = Random(5)
    let w = Array.init (k * n) (fun _ -> float32 (rng.NextDouble() * 0.1 - 0.05))
    let g = Array.init (rows * n) (fun i -> if i % 3 = 0 then 0.0f else float32 (rng.NextDouble() - 0.5))
    for level in levels do
        let fwd, taken = run level false 2 false rows n k 1.0f 0.0f (x, w, Array.zeroCreate (rows * n))
        let fwdDense, _ = run level true 2 false rows n k 1.0f 0.0f (x, w, Array.zeroCreate (rows * n))
        Assert.True(taken, "x·W: the sparse path was not taken on an MNIST batch")
        Assert.True((bits fwd = bits fwdDense), sprintf "%A x·W: bits differ" level)
        let bwd, takenT = run level false 2 true k n rows 1.0f 0.0f (x, g, Array.zeroCreate (k * n))
        let bwdDense, _ = run level true 2 true k n rows 1.0f 0.0f (x, g, Array.zeroCreate (k * n))
        Assert.True(takenT, "xᵀ·g: the sparse path was not taken on an MNIST batch")
        Assert.True((bits bwd = bits bwdDense), sprintf "%A xᵀ·g: bits differ" level)

[<Fact>]
let ``sparse path: a dense operand, a narrow n and a NaN in A go where they should`` () =
    // dense A: the dense path; n < 32: the dense (or narrow dot) path
    let _, takenDense = run SimdLevel.Scalar false 1 false 16 64 64 1.0f 0.0f (operands 16 64 64 0.9 false 1)
    Assert.False(takenDense, "a 90 % dense operand took the sparse path")
    let _, takenNarrow = run SimdLevel.Scalar false 1 false 16 10 64 1.0f 0.0f (operands 16 10 64 0.1 false 2)
    Assert.False(takenNarrow, "n = 10 took the sparse path")
    // a NaN is a nonzero: it reaches its row of C on both paths
    let a, b, c = operands 8 32 64 0.1 false 3
    a.[3 * 64 + 10] <- nanf
    let sparse, taken = run SimdLevel.Scalar false 1 false 8 32 64 1.0f 0.0f (a, b, c)
    Assert.True(taken)
    Assert.True(Array.forall Single.IsNaN sparse.[3 * 32 .. 3 * 32 + 31], "NaN in row 3 of A must reach row 3 of C")
    Assert.True(Array.forall (fun v -> not (Single.IsNaN v)) sparse.[0 .. 3 * 32 - 1], "rows without NaN stay finite")

[<Fact>]
let ``ACTORTRAINER_SPARSE_GEMM: the usual on/off spellings, a clear error for anything else`` () =
    let v = KernelSettings.SparseGemmVariable
    for on in [ "1"; "true"; "ON"; " yes " ] do Assert.True(KernelSettings.ParseSwitch(v, on, false), on)
    for off in [ "0"; "false"; "Off"; "no" ] do Assert.False(KernelSettings.ParseSwitch(v, off, true), off)
    Assert.True(KernelSettings.ParseSwitch(v, null, true))
    Assert.False(KernelSettings.ParseSwitch(v, "", false))
    let e = Assert.Throws<KernelSettingException>(fun () -> KernelSettings.ParseSwitch(v, "sparse", true) |> ignore)
    Assert.Contains("ACTORTRAINER_SPARSE_GEMM = 'sparse'", e.Message)

#nowarn "9" // fixed/nativeptr: the builder reads op(A) through a pointer, as the GEMM does

/// The rows of op(A) as built (by the counting scatter when `scatter`): RowStart, the entries (offset, value bits) and the
/// used-column bits, None when none are recorded (copied, then the builder's reused instance poisoned); None when refused.
let private built (a: float32[]) (lda: int) ta m k scatter =
    use p = fixed a
    SparseRows.ScatterOnly <- scatter
    let sr = try SparseRows.TryBuild(p, nativeint lda, ta, m, k, 0.3, 32) finally SparseRows.ScatterOnly <- false
    if isNull sr then None
    else
        let n = sr.RowStart.[m]
        let entries = Array.init n (fun i -> sr.Entries.[i].Offset, BitConverter.SingleToInt32Bits sr.Entries.[i].Value)
        let used = if isNull sr.UsedColumns then None else Some (Array.init k (fun c -> (sr.UsedColumns.[c >>> 3] >>> (c &&& 7)) &&& 1uy))
        let start = Array.sub sr.RowStart 0 (m + 1)
        // poison the reused instance, so that a build leaving anything unwritten cannot pass on the last one's values
        Array.Fill(sr.Entries, SparseRows.Entry(Offset = -1, Value = nanf))
        Array.Fill(sr.RowStart, -1)
        if not (isNull sr.UsedColumns) then Array.Fill(sr.UsedColumns, 0xA5uy)
        Some (start, entries, used)

[<Fact>]
let ``transposed sparse operand: the masks' build gives the counting scatter's rows and entries, and the used columns`` () =
    // k ≤ 256 takes the per-row masks (k = 200: a partial last word; k = 128: xᵀ of a 128-image batch; m not a multiple
    // of eight: the masks' scalar tail), the scatter is the oracle for rows and entries; it records no used columns, so
    // those are checked against a direct scan of A
    let shapes = [ 784, 128, 0.19; 301, 200, 0.12; 1000, 64, 0.05; 13, 256, 0.25; 5, 3, 0.2; 784, 65, 0.29 ]
    for (m, k, density) in shapes do
        let a, _, _ = operands m 32 k density true (m + k)
        match built a m true m k false, built a m true m k true with
        | Some (start, entries, Some used), Some (start', entries', None) ->
            Assert.True((start = start'), sprintf "%A: row starts differ" (m, k))
            Assert.True((entries = entries'), sprintf "%A: entries differ" (m, k))
            let expected = Array.init k (fun p -> if Array.exists (fun r -> a.[p * m + r] <> 0.0f) [| 0 .. m - 1 |] then 1uy else 0uy)
            Assert.True((used = expected), sprintf "%A: used columns differ from a scan of A" (m, k))
        | masks, scatter -> failwithf "%A: unexpected builds %A / %A" (m, k) (Option.isSome masks) (Option.isSome scatter)
    // over the density budget (the sample lets it through at 0.33): refused by both, also past 256 rows
    for (density, k) in [ 0.33, 200; 0.33, 300; 0.8, 200 ] do
        let a, _, _ = operands 256 32 k density true 11
        Assert.True((built a 256 true 256 k false).IsNone && (built a 256 true 256 k true).IsNone, sprintf "density %g k=%d: not refused" density k)

[<Fact>]
let ``row-major sparse operand: rows, entries and used columns as a direct scan of A`` () =
    // k = 784 (an MNIST row: 16-wide groups with AVX-512), 300 (a 16-wide run, then 8-wide, then a scalar tail), 5 (scalar
    // only); −0 is a zero, NaN and ±∞ are nonzeros
    for (m, k) in [ 128, 784; 37, 300; 9, 5; 64, 16 ] do
        let a, _, _ = operands m 32 k 0.15 false (m * k)
        a.[k + 3] <- -0.0f
        if k > 7 then
            a.[2 * k + 7] <- nanf
            a.[3 * k] <- infinityf
        let direct =
            [| for r in 0 .. m - 1 do
                 for c in 0 .. k - 1 do
                     if a.[r * k + c] <> 0.0f || Single.IsNaN a.[r * k + c] then yield c * 32, BitConverter.SingleToInt32Bits a.[r * k + c] |]
        let starts = Array.scan (fun acc r -> acc + (Array.sumBy (fun c -> if a.[r * k + c] <> 0.0f || Single.IsNaN a.[r * k + c] then 1 else 0) [| 0 .. k - 1 |])) 0 [| 0 .. m - 1 |]
        let used = Array.init k (fun c -> if Array.exists (fun r -> a.[r * k + c] <> 0.0f || Single.IsNaN a.[r * k + c]) [| 0 .. m - 1 |] then 1uy else 0uy)
        match built a k false m k false with
        | Some (start, entries, Some u) ->
            Assert.True((start = starts), sprintf "%A: row starts differ from a scan" (m, k))
            Assert.True((entries = direct), sprintf "%A: entries differ from a scan" (m, k))
            Assert.True((u = used), sprintf "%A: used columns differ from a scan" (m, k))
        | other -> failwithf "%A: unexpected build %A" (m, k) (Option.isSome other)
