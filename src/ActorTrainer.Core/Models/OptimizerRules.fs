namespace ActorTrainer.Core

open System
open System.Numerics
open System.Runtime.InteropServices
open System.Runtime.Intrinsics

/// The element rules of the vectorised optimizer updates, each written once and run at every width — 16 lanes
/// (Vector512, where the hardware accelerates it), then Vector<float32>, then one element at a time — with the same
/// IEEE operations in the same order (no fused multiply-add), so every width gives the same bits. The updates are
/// bound by their square root and division: 512-bit lanes run them 1.6× faster than 256-bit ones on Zen 5.
/// The slots are flushed to zero below the smallest normal float32 (|s| < 2⁻¹²⁶), as TensorFlow's CPU kernels run
/// (flush-to-zero): a slot decaying towards zero (a pixel no longer seen) would otherwise stay subnormal for ~150
/// steps, and every vector operation on a subnormal lane takes a microcode assist on Intel cores (RMSprop's update
/// 1.2–1.5× slower late in the reference run). The weights do not change: such a slot is below half an ulp of ε.
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

    /// w and v (same length as g) updated in place by the RMSprop rule.
    let rmspropSpan (w: Span<float32>) (g: ReadOnlySpan<float32>) (v: Span<float32>) (r: float32) (c: float32) (eps: float32) (lr: float32) =
        let mutable head = 0
        if Vector512.IsHardwareAccelerated then
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
        if Vector512.IsHardwareAccelerated then
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
