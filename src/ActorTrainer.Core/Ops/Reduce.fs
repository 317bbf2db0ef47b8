namespace ActorTrainer.Core

/// Reductions and softmax-family ops with their derivatives.
module internal ReduceOps =
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

    /// Numerically stable softmax along a normalised axis: e^(x-max)/Σe^(x-max); d/dx = s·(g - Σ g·s).
    let softmax (axis: int) =
        mk "softmax"
            (fun i ->
                let x = i.[0]
                let ax = [| axis |]
                let e = Elementwise.unary Exp (x .- RawOps.reduce RMax x ax true)
                e ./ RawOps.reduce RSum e ax true)
            (fun _ o g -> [| o .* (g .- RawOps.reduce RSum (g .* o) [| axis |] true) |])

    /// Numerically stable log-softmax along a normalised axis: x - max - log Σe^(x-max); d/dx = g - softmax·Σg.
    let logSoftmax (axis: int) =
        mk "log_softmax"
            (fun i ->
                let x = i.[0]
                let ax = [| axis |]
                let sh = x .- RawOps.reduce RMax x ax true
                sh .- Elementwise.unary Log (RawOps.reduce RSum (Elementwise.unary Exp sh) ax true))
            (fun _ o g -> [| g .- Elementwise.unary Exp o .* RawOps.reduce RSum g [| axis |] true |])
