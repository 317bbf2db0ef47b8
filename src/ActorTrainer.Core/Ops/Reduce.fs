namespace ActorTrainer.Core

/// Reductions and softmax-family ops with their derivatives.
module internal ReduceOps =
    open System
    open ActorTrainer.Kernels
    open OpHelpers
    let private ( .* ) a b = Elementwise.binary Mul a b
    let private ( .- ) a b = Elementwise.binary Sub a b
    let private ( ./ ) a b = Elementwise.binary Div a b

    /// Shape of x with the reduced axes kept as 1.
    let private keepShape (x: NDArray) (axes: int[]) =
        x.Dims |> Array.mapi (fun i d -> if Array.contains i axes then 1 else d)

    /// Gradient g of a reduction, broadcast back to x's shape.
    let private expand (x: NDArray) (axes: int[]) (g: NDArray) =
        Strided.broadcastTo (g.WithShape(keepShape x axes)) x.Dims

    /// sum over normalised axes; d/dx = 1 (g broadcast back).
    let sum (axes: int[]) (keepdims: bool) =
        mk "sum" (fun i -> RawOps.reduce RSum i.[0] axes keepdims) (fun i _ g -> [| expand i.[0] axes g |])

    /// max (isMax) or min over normalised axes; gradient shared equally among the tied extreme elements.
    let extreme (isMax: bool) (axes: int[]) (keepdims: bool) =
        let kind = if isMax then RMax else RMin
        mk (if isMax then "max" else "min") (fun i -> RawOps.reduce kind i.[0] axes keepdims)
            (fun i o g ->
                let x = i.[0]
                let ob = expand x axes o
                let m = Elementwise.cast g.DType (Elementwise.compare Eq x ob)
                let cnt = expand x axes (RawOps.reduce RSum m axes true)
                [| expand x axes g .* m ./ cnt |])

    /// Runs a row kernel k(a_lane, b_lane) on every lane along `axis` of a and of a copy of b (same shape as a),
    /// moving the axis last and back when needed; returns the written copy of b. Float32 or float64.
    let private alongAxis (name: string) (k32: Lane32) (k64: Lane64) (axis: int) (a: NDArray) (b: NDArray) : NDArray =
        let nd = a.Dims.Length
        if axis = nd - 1 then rowsKernel name k32 k64 a.Dims.[axis] a b
        else
            let perm = Array.append [| for k in 0 .. nd - 1 do if k <> axis then yield k |] [| axis |]
            let inv = Array.zeroCreate nd
            perm |> Array.iteri (fun k p -> inv.[p] <- k)
            let res = rowsKernel name k32 k64 a.Dims.[axis] (Strided.permute a perm) (Strided.permute (Elementwise.cast a.DType b) perm)
            Strided.permute res inv

    let private softmax32 = Lane32(fun z y -> CanonicalMath.Softmax(z, y))
    let private softmax64 = Lane64(fun z y -> CanonicalMath.Softmax(z, y))
    let private softmaxBack32 = Lane32(fun y g -> CanonicalMath.SoftmaxBackward(y, g))
    let private softmaxBack64 = Lane64(fun y g -> CanonicalMath.SoftmaxBackward(y, g))
    let private logSoftmax32 = Lane32(fun z y -> CanonicalMath.LogSoftmax(z, y))
    let private logSoftmax64 = Lane64(fun z y -> CanonicalMath.LogSoftmax(z, y))
    let private logSoftmaxBack32 = Lane32(fun y g -> CanonicalMath.LogSoftmaxBackward(y, g))
    let private logSoftmaxBack64 = Lane64(fun y g -> CanonicalMath.LogSoftmaxBackward(y, g))

    /// Softmax along a normalised axis, e^(x−max)/Σe^(x−max) per lane (CanonicalMath.Softmax, the engine's kernel);
    /// d/dx = s·(g − Σ g·s) (CanonicalMath.SoftmaxBackward). Shape of x.
    let softmax (axis: int) =
        mk "softmax"
            (fun i -> alongAxis "softmax" softmax32 softmax64 axis i.[0] i.[0])
            (fun _ o g -> [| alongAxis "softmax" softmaxBack32 softmaxBack64 axis o g |])

    /// Log-softmax along a normalised axis, x − logΣeˣ per lane (CanonicalMath.LogSoftmax);
    /// d/dx = g − softmax·Σg (CanonicalMath.LogSoftmaxBackward). Shape of x.
    let logSoftmax (axis: int) =
        mk "log_softmax"
            (fun i -> alongAxis "log_softmax" logSoftmax32 logSoftmax64 axis i.[0] i.[0])
            (fun _ o g -> [| alongAxis "log_softmax" logSoftmaxBack32 logSoftmaxBack64 axis o g |])
