namespace ActorTrainer.Core

#nowarn "9" // pointers into pinned spans: the streaming stores need an aligned address

open System
open System.Numerics
open System.Runtime.InteropServices
open System.Runtime.Intrinsics
open System.Runtime.Intrinsics.X86
open Microsoft.FSharp.NativeInterop
open ActorTrainer.Kernels

/// The element rules of the vectorised optimizer updates, each written once and run at every width — 16 lanes
/// (Vector512, where the hardware accelerates it), then Vector<float32>, then one element at a time — with the same
/// IEEE operations in the same order (no fused multiply-add), so every width gives the same bits. The updates are
/// bound by their square root and division: 512-bit lanes run them 1.6× faster than 256-bit ones on Zen 5.
/// The slots are flushed to zero below the smallest normal float32 (|s| < 2⁻¹²⁶), as TensorFlow's CPU kernels run
/// (flush-to-zero): a slot decaying towards zero (a pixel no longer seen) would otherwise stay subnormal for ~150
/// steps, and every vector operation on a subnormal lane takes a microcode assist on Intel cores (RMSprop's update
/// 1.2–1.5× slower late in the reference run). The weights do not change: such a slot is below half an ulp of ε.
/// Large updates write the weights with non-temporal (streaming) stores where KernelSettings.StreamWeights says so:
/// the same values, but the cache lines are not first fetched for ownership from the cores that read them in the step
/// before (bench/RESULTS.md: RMSprop's update 4–5× slower inside a 2-core run than with its arrays in cache).
module internal OptimizerRules =
    /// The smallest normal float32, 2⁻¹²⁶: slots below it in magnitude are stored as +0.
    [<Literal>]
    let SmallestNormal = 1.17549435e-38f

    /// x, or +0 where |x| < 2⁻¹²⁶ (NaN kept).
    let inline flushScalar (x: float32) = if MathF.Abs x < SmallestNormal then 0f else x

    /// Lane-wise flushScalar at 512 bits.
    let inline flush512 (tiny: Vector512<float32>) (x: Vector512<float32>) = Vector512.AndNot(x, Vector512.LessThan(Vector512.Abs x, tiny))

    /// Lane-wise flushScalar at Vector<float32> width.
    let inline flushVector (tiny: Vector<float32>) (x: Vector<float32>) =
        Vector.AndNot(x, Vector.As<int, float32>(Vector.LessThan(Vector.Abs x, tiny)))

    /// Lane-wise flushScalar at 256 bits.
    let inline flush256 (tiny: Vector256<float32>) (x: Vector256<float32>) = Vector256.AndNot(x, Vector256.LessThan(Vector256.Abs x, tiny))

    /// How many elements from p to the first address that is a multiple of `bytes` (a power of two), at most n.
    let alignedFrom (p: nativeptr<float32>) (bytes: nativeint) (n: int) =
        min n (int (((bytes - (NativePtr.toNativeInt p &&& (bytes - 1n))) &&& (bytes - 1n)) / 4n))

    /// Streaming stores for an update of n weights on this thread, at a width this machine runs them.
    let streaming (n: int) =
        KernelSettings.StreamWeights n && (Vector512.IsHardwareAccelerated || (Vector256.IsHardwareAccelerated && Avx.IsSupported))

    /// A streamed update of the n elements at pw: `scalar i` for those before pw's first address aligned for the
    /// widest store, then `wide512 from count` (AVX-512) or `wide256 from count` over whole vectors, then a store fence
    /// (the streamed lines are visible to other cores before the caller reports the update); returns how many leading
    /// elements it updated.
    let inline streamedRange (pw: nativeptr<float32>) (n: int) ([<InlineIfLambda>] scalar: int -> unit)
                             ([<InlineIfLambda>] wide512: int -> int -> unit) ([<InlineIfLambda>] wide256: int -> int -> unit) =
        let wide = Vector512.IsHardwareAccelerated
        let lanes = if wide then 16 else 8
        let a = alignedFrom pw (if wide then 64n else 32n) n
        for i in 0 .. a - 1 do scalar i
        let count = (n - a) / lanes
        if wide then wide512 a count else wide256 a count
        Sse.StoreFence()
        a + count * lanes

    /// RMSprop (no momentum, not centered): v' = flush(ρ·v + (1−ρ)·g²); w' = w − lr·g / √(v' + ε).
    let inline rmsprop ([<InlineIfLambda>] sqrt: ^V -> ^V) ([<InlineIfLambda>] flush: ^V -> ^V) (r: ^V) (c: ^V) (eps: ^V) (lr: ^V)
                       (g: ^V) (v: ^V) (w: ^V) =
        let v' = flush (r * v + c * (g * g))
        struct (v', w - (lr * g) / sqrt (v' + eps))

    /// Adam (no AMSGrad): m' = flush(m + (g − m)·(1−β₁)); v' = flush(v + (g² − v)·(1−β₂)); w' = w − m'·α / (√v' + ε).
    let inline adam ([<InlineIfLambda>] sqrt: ^V -> ^V) ([<InlineIfLambda>] flush: ^V -> ^V) (c1: ^V) (c2: ^V) (alpha: ^V) (eps: ^V)
                    (g: ^V) (m: ^V) (v: ^V) (w: ^V) =
        let m' = flush (m + (g - m) * c1)
        let v' = flush (v + (g * g - v) * c2)
        struct (m', v', w - (m' * alpha) / (sqrt v' + eps))

    /// RMSprop over elements [from, from + lanes·n) with vectors of `lanes` floats; v stored plainly, w through
    /// `stream` (a non-temporal store: w + from must be aligned for it).
    let inline rmspropStreamed lanes ([<InlineIfLambda>] load: nativeptr<float32> -> ^V) ([<InlineIfLambda>] store: ^V -> nativeptr<float32> -> unit)
                               ([<InlineIfLambda>] stream: ^V -> nativeptr<float32> -> unit) ([<InlineIfLambda>] sqrt: ^V -> ^V)
                               ([<InlineIfLambda>] flush: ^V -> ^V) (r: ^V) (c: ^V) (eps: ^V) (lr: ^V)
                               (pw: nativeptr<float32>) (pg: nativeptr<float32>) (pv: nativeptr<float32>) (from: int) (n: int) =
        for i in 0 .. n - 1 do
            let o = from + i * lanes
            let struct (v', w') = rmsprop sqrt flush r c eps lr (load (NativePtr.add pg o)) (load (NativePtr.add pv o)) (load (NativePtr.add pw o))
            store v' (NativePtr.add pv o)
            stream w' (NativePtr.add pw o)

    /// RMSprop over w with the weights written by streaming stores (streamedRange); returns how many leading elements
    /// it updated.
    let rmspropStreaming (w: Span<float32>) (g: ReadOnlySpan<float32>) (v: Span<float32>) (r: float32) (c: float32) (eps: float32) (lr: float32) =
        use pw = fixed w
        use pg = fixed g
        use pv = fixed v
        streamedRange pw w.Length
            (fun i ->
                let struct (v', w') = rmsprop (fun x -> MathF.Sqrt x) flushScalar r c eps lr (NativePtr.get pg i) (NativePtr.get pv i) (NativePtr.get pw i)
                NativePtr.set pv i v'
                NativePtr.set pw i w')
            (fun a n ->
                rmspropStreamed 16 (fun p -> Vector512.Load p) (fun x p -> Vector512.Store(x, p)) (fun x p -> Avx512F.StoreAlignedNonTemporal(p, x))
                    (fun x -> Vector512.Sqrt x) (flush512 (Vector512.Create SmallestNormal)) (Vector512.Create r) (Vector512.Create c)
                    (Vector512.Create eps) (Vector512.Create lr) pw pg pv a n)
            (fun a n ->
                rmspropStreamed 8 (fun p -> Vector256.Load p) (fun x p -> Vector256.Store(x, p)) (fun x p -> Avx.StoreAlignedNonTemporal(p, x))
                    (fun x -> Vector256.Sqrt x) (flush256 (Vector256.Create SmallestNormal)) (Vector256.Create r) (Vector256.Create c)
                    (Vector256.Create eps) (Vector256.Create lr) pw pg pv a n)

    /// Adam over elements [from, from + lanes·n) with vectors of `lanes` floats; m and v stored plainly, w through
    /// `stream` (a non-temporal store: w + from must be aligned for it).
    let inline adamStreamed lanes ([<InlineIfLambda>] load: nativeptr<float32> -> ^V) ([<InlineIfLambda>] store: ^V -> nativeptr<float32> -> unit)
                            ([<InlineIfLambda>] stream: ^V -> nativeptr<float32> -> unit) ([<InlineIfLambda>] sqrt: ^V -> ^V)
                            ([<InlineIfLambda>] flush: ^V -> ^V) (c1: ^V) (c2: ^V) (alpha: ^V) (eps: ^V)
                            (pw: nativeptr<float32>) (pg: nativeptr<float32>) (pm: nativeptr<float32>) (pv: nativeptr<float32>) (from: int) (n: int) =
        for i in 0 .. n - 1 do
            let o = from + i * lanes
            let struct (m', v', w') =
                adam sqrt flush c1 c2 alpha eps (load (NativePtr.add pg o)) (load (NativePtr.add pm o)) (load (NativePtr.add pv o)) (load (NativePtr.add pw o))
            store m' (NativePtr.add pm o)
            store v' (NativePtr.add pv o)
            stream w' (NativePtr.add pw o)

    /// Adam over w with the weights written by streaming stores (streamedRange); returns how many leading elements it
    /// updated.
    let adamStreaming (w: Span<float32>) (g: ReadOnlySpan<float32>) (m: Span<float32>) (v: Span<float32>)
                      (c1: float32) (c2: float32) (alpha: float32) (eps: float32) =
        use pw = fixed w
        use pg = fixed g
        use pm = fixed m
        use pv = fixed v
        streamedRange pw w.Length
            (fun i ->
                let struct (m', v', w') =
                    adam (fun x -> MathF.Sqrt x) flushScalar c1 c2 alpha eps (NativePtr.get pg i) (NativePtr.get pm i) (NativePtr.get pv i) (NativePtr.get pw i)
                NativePtr.set pm i m'
                NativePtr.set pv i v'
                NativePtr.set pw i w')
            (fun a n ->
                adamStreamed 16 (fun p -> Vector512.Load p) (fun x p -> Vector512.Store(x, p)) (fun x p -> Avx512F.StoreAlignedNonTemporal(p, x))
                    (fun x -> Vector512.Sqrt x) (flush512 (Vector512.Create SmallestNormal)) (Vector512.Create c1) (Vector512.Create c2)
                    (Vector512.Create alpha) (Vector512.Create eps) pw pg pm pv a n)
            (fun a n ->
                adamStreamed 8 (fun p -> Vector256.Load p) (fun x p -> Vector256.Store(x, p)) (fun x p -> Avx.StoreAlignedNonTemporal(p, x))
                    (fun x -> Vector256.Sqrt x) (flush256 (Vector256.Create SmallestNormal)) (Vector256.Create c1) (Vector256.Create c2)
                    (Vector256.Create alpha) (Vector256.Create eps) pw pg pm pv a n)

    /// SGD without momentum over w (same length as g), in place: w' = w − g·lr (no fused multiply-add), the weights
    /// written by streaming stores where KernelSettings.StreamWeights says so.
    let sgdSpan (w: Span<float32>) (g: ReadOnlySpan<float32>) (lr: float32) =
        let mutable head = 0
        if streaming w.Length then
            use pw = fixed w
            use pg = fixed g
            head <-
                streamedRange pw w.Length (fun i -> NativePtr.set pw i (NativePtr.get pw i - NativePtr.get pg i * lr))
                    (fun a n ->
                        for i in 0 .. n - 1 do
                            let wp, gp = NativePtr.add pw (a + i * 16), NativePtr.add pg (a + i * 16)
                            Avx512F.StoreAlignedNonTemporal(wp, Vector512.Load wp - Vector512.Load gp * Vector512.Create lr))
                    (fun a n ->
                        for i in 0 .. n - 1 do
                            let wp, gp = NativePtr.add pw (a + i * 8), NativePtr.add pg (a + i * 8)
                            Avx.StoreAlignedNonTemporal(wp, Vector256.Load wp - Vector256.Load gp * Vector256.Create lr))
        let wv = MemoryMarshal.Cast<float32, Vector<float32>> (w.Slice head)
        let gv = MemoryMarshal.Cast<float32, Vector<float32>> (g.Slice head)
        let lrv = Vector<float32>(lr)
        for i in 0 .. wv.Length - 1 do wv.[i] <- wv.[i] - gv.[i] * lrv
        for i in head + wv.Length * Vector<float32>.Count .. w.Length - 1 do w.[i] <- w.[i] - g.[i] * lr

    /// w and v (same length as g) updated in place by the RMSprop rule.
    let rmspropSpan (w: Span<float32>) (g: ReadOnlySpan<float32>) (v: Span<float32>) (r: float32) (c: float32) (eps: float32) (lr: float32) =
        let mutable head = 0
        if streaming w.Length then head <- rmspropStreaming w g v r c eps lr
        elif Vector512.IsHardwareAccelerated then
            let wv = MemoryMarshal.Cast<float32, Vector512<float32>> w
            let gv = MemoryMarshal.Cast<float32, Vector512<float32>> g
            let vv = MemoryMarshal.Cast<float32, Vector512<float32>> v
            let rv, cv, ev, lv = Vector512.Create r, Vector512.Create c, Vector512.Create eps, Vector512.Create lr
            let tiny = Vector512.Create SmallestNormal
            for i in 0 .. wv.Length - 1 do
                let struct (v', w') = rmsprop (fun x -> Vector512.Sqrt x) (flush512 tiny) rv cv ev lv gv.[i] vv.[i] wv.[i]
                vv.[i] <- v'
                wv.[i] <- w'
            head <- wv.Length * Vector512<float32>.Count
        let wv = MemoryMarshal.Cast<float32, Vector<float32>> (w.Slice head)
        let gv = MemoryMarshal.Cast<float32, Vector<float32>> (g.Slice head)
        let vv = MemoryMarshal.Cast<float32, Vector<float32>> (v.Slice head)
        let rv, cv, ev, lv = Vector<float32>(r), Vector<float32>(c), Vector<float32>(eps), Vector<float32>(lr)
        let tiny = Vector<float32>(SmallestNormal)
        for i in 0 .. wv.Length - 1 do
            let struct (v', w') = rmsprop (fun x -> Vector.SquareRoot x) (flushVector tiny) rv cv ev lv gv.[i] vv.[i] wv.[i]
            vv.[i] <- v'
            wv.[i] <- w'
        for i in head + wv.Length * Vector<float32>.Count .. w.Length - 1 do
            let struct (v', w') = rmsprop (fun x -> MathF.Sqrt x) flushScalar r c eps lr g.[i] v.[i] w.[i]
            v.[i] <- v'
            w.[i] <- w'

    /// w, m and v (same length as g) updated in place by the Adam rule at step size alpha.
    let adamSpan (w: Span<float32>) (g: ReadOnlySpan<float32>) (m: Span<float32>) (v: Span<float32>)
                 (c1: float32) (c2: float32) (alpha: float32) (eps: float32) =
        let mutable head = 0
        if streaming w.Length then head <- adamStreaming w g m v c1 c2 alpha eps
        elif Vector512.IsHardwareAccelerated then
            let wv = MemoryMarshal.Cast<float32, Vector512<float32>> w
            let gv = MemoryMarshal.Cast<float32, Vector512<float32>> g
            let mv = MemoryMarshal.Cast<float32, Vector512<float32>> m
            let vv = MemoryMarshal.Cast<float32, Vector512<float32>> v
            let c1v, c2v, av, ev = Vector512.Create c1, Vector512.Create c2, Vector512.Create alpha, Vector512.Create eps
            let tiny = Vector512.Create SmallestNormal
            for i in 0 .. wv.Length - 1 do
                let struct (m', v', w') = adam (fun x -> Vector512.Sqrt x) (flush512 tiny) c1v c2v av ev gv.[i] mv.[i] vv.[i] wv.[i]
                mv.[i] <- m'
                vv.[i] <- v'
                wv.[i] <- w'
            head <- wv.Length * Vector512<float32>.Count
        let wv = MemoryMarshal.Cast<float32, Vector<float32>> (w.Slice head)
        let gv = MemoryMarshal.Cast<float32, Vector<float32>> (g.Slice head)
        let mv = MemoryMarshal.Cast<float32, Vector<float32>> (m.Slice head)
        let vv = MemoryMarshal.Cast<float32, Vector<float32>> (v.Slice head)
        let c1v, c2v, av, ev = Vector<float32>(c1), Vector<float32>(c2), Vector<float32>(alpha), Vector<float32>(eps)
        let tiny = Vector<float32>(SmallestNormal)
        for i in 0 .. wv.Length - 1 do
            let struct (m', v', w') = adam (fun x -> Vector.SquareRoot x) (flushVector tiny) c1v c2v av ev gv.[i] mv.[i] vv.[i] wv.[i]
            mv.[i] <- m'
            vv.[i] <- v'
            wv.[i] <- w'
        for i in head + wv.Length * Vector<float32>.Count .. w.Length - 1 do
            let struct (m', v', w') = adam (fun x -> MathF.Sqrt x) flushScalar c1 c2 alpha eps g.[i] m.[i] v.[i] w.[i]
            m.[i] <- m'
            v.[i] <- v'
            w.[i] <- w'
