namespace ActorTrainer.Core

/// Elementwise differentiable ops: forward and derivative side by side (gradients un-broadcast to input shapes).
module internal ElementwiseOps =
    open OpHelpers
    let private bin op a b = Elementwise.binary op a b
    let private ( .+ ) a b = bin Add a b
    let private ( .- ) a b = bin Sub a b
    let private ( .* ) a b = bin Mul a b
    let private ( ./ ) a b = bin Div a b
    let private sc (like: NDArray) (v: float) = Elementwise.scalar like.DType v
    let private un op x = Elementwise.unary op x
    let private mask (m: NDArray) (like: NDArray) = Elementwise.cast like.DType m
    let private floatOnly (name: string) (x: NDArray) =
        if not (DType.isFloat x.DType) then
            invalidArg "x" (sprintf "%s: unsupported dtype %s (float32 or float64 required)" name (DType.name x.DType))

    /// a + b (broadcast); d/da = 1, d/db = 1.
    let add = mk "add" (fun i -> i.[0] .+ i.[1]) (fun i _ g -> [| unbroadcast g i.[0].Dims; unbroadcast g i.[1].Dims |])
    /// a - b (broadcast); d/da = 1, d/db = -1.
    let sub = mk "subtract" (fun i -> i.[0] .- i.[1]) (fun i _ g -> [| unbroadcast g i.[0].Dims; unbroadcast (un Neg g) i.[1].Dims |])
    /// a * b (broadcast); d/da = b, d/db = a.
    let mul = mk "multiply" (fun i -> i.[0] .* i.[1]) (fun i _ g -> [| unbroadcast (g .* i.[1]) i.[0].Dims; unbroadcast (g .* i.[0]) i.[1].Dims |])
    /// a / b (broadcast); d/da = 1/b, d/db = -a/b² = -out/b.
    let div =
        mk "divide" (fun i -> i.[0] ./ i.[1])
            (fun i o g -> [| unbroadcast (g ./ i.[1]) i.[0].Dims; unbroadcast (un Neg (g .* o ./ i.[1])) i.[1].Dims |])
    /// -x; d/dx = -1.
    let neg = mk "negative" (fun i -> un Neg i.[0]) (fun _ _ g -> [| un Neg g |])
    let private whole (name: string) (k32: Lane32) (k64: Lane64) (y: NDArray) (g: NDArray) = rowsKernel name k32 k64 y.Size y g
    let private reluBack32 = Lane32(fun y g -> ActorTrainer.Kernels.CanonicalMath.ReluBackward(y, g))
    let private reluBack64 = Lane64(fun y g -> ActorTrainer.Kernels.CanonicalMath.ReluBackward(y, g))
    let private sigmoidBack32 = Lane32(fun y g -> ActorTrainer.Kernels.CanonicalMath.SigmoidBackward(y, g))
    let private sigmoidBack64 = Lane64(fun y g -> ActorTrainer.Kernels.CanonicalMath.SigmoidBackward(y, g))
    let private tanhBack32 = Lane32(fun y g -> ActorTrainer.Kernels.CanonicalMath.TanhBackward(y, g))
    let private tanhBack64 = Lane64(fun y g -> ActorTrainer.Kernels.CanonicalMath.TanhBackward(y, g))

    /// max(x, 0); d/dx = 1 where x > 0 else 0 (CanonicalMath.ReluBackward, from the output).
    let relu = mk "relu" (fun i -> un Relu i.[0]) (fun _ o g -> [| whole "relu" reluBack32 reluBack64 o g |])
    /// eˣ; d/dx = eˣ.
    let exp = mk "exp" (fun i -> floatOnly "exp" i.[0]; un Exp i.[0]) (fun _ o g -> [| g .* o |])
    /// ln x; d/dx = 1/x.
    let log = mk "log" (fun i -> floatOnly "log" i.[0]; un Log i.[0]) (fun i _ g -> [| g ./ i.[0] |])
    /// √x; d/dx = 1/(2√x).
    let sqrt = mk "sqrt" (fun i -> floatOnly "sqrt" i.[0]; un Sqrt i.[0]) (fun _ o g -> [| g ./ (o .* sc o 2.0) |])
    /// x²; d/dx = 2x.
    let square = mk "square" (fun i -> un Square i.[0]) (fun i _ g -> [| g .* i.[0] .* sc i.[0] 2.0 |])
    /// |x|; d/dx = sign(x).
    let abs = mk "abs" (fun i -> un Abs i.[0]) (fun i _ g -> [| g .* un Sign i.[0] |])
    /// 1/(1+e⁻ˣ); d/dx = s(1-s) (CanonicalMath.SigmoidBackward).
    let sigmoid = mk "sigmoid" (fun i -> floatOnly "sigmoid" i.[0]; un Sigmoid i.[0]) (fun _ o g -> [| whole "sigmoid" sigmoidBack32 sigmoidBack64 o g |])
    /// tanh x; d/dx = 1 - tanh² (CanonicalMath.TanhBackward).
    let tanh = mk "tanh" (fun i -> floatOnly "tanh" i.[0]; un Tanh i.[0]) (fun _ o g -> [| whole "tanh" tanhBack32 tanhBack64 o g |])
    /// xᵖ for a scalar exponent p; d/dx = p·xᵖ⁻¹.
    let powScalar (p: float) =
        mk "power" (fun i -> bin Pow i.[0] (sc i.[0] p))
            (fun i _ g -> [| g .* sc g p .* bin Pow i.[0] (sc i.[0] (p - 1.0)) |])
    /// xʸ (broadcast); d/dx = y·xʸ⁻¹, d/dy = xʸ·ln x where x > 0 and 0 elsewhere (TensorFlow's rule: 0ʸ has no
    /// finite slope in y, and xʸ·ln x would be 0·(−∞) = NaN there).
    let pow =
        mk "power" (fun i -> bin Pow i.[0] i.[1])
            (fun i o g ->
                let x, y = i.[0], i.[1]
                let zero = sc x 0.0
                let lnPositive = Elementwise.where (Elementwise.compare Gt x zero) (un Log (bin Maximum x zero)) zero
                [| unbroadcast (g .* y .* bin Pow x (y .- sc y 1.0)) x.Dims
                   unbroadcast (g .* o .* lnPositive) y.Dims |])
    /// maximum(a, b) (broadcast); gradient to a where a ≥ b, else to b.
    let maximum =
        mk "maximum" (fun i -> bin Maximum i.[0] i.[1])
            (fun i _ g ->
                let m = mask (Elementwise.compare Ge i.[0] i.[1]) g
                [| unbroadcast (g .* m) i.[0].Dims; unbroadcast (g .* (sc m 1.0 .- m)) i.[1].Dims |])
    /// minimum(a, b) (broadcast); gradient to a where a ≤ b, else to b.
    let minimum =
        mk "minimum" (fun i -> bin Minimum i.[0] i.[1])
            (fun i _ g ->
                let m = mask (Elementwise.compare Le i.[0] i.[1]) g
                [| unbroadcast (g .* m) i.[0].Dims; unbroadcast (g .* (sc m 1.0 .- m)) i.[1].Dims |])
    /// clip(x, lo, hi) = min(max(x, lo), hi); d/dx = 1 where lo ≤ x ≤ hi else 0.
    let clip (lo: float) (hi: float) =
        if lo > hi then invalidArg "hi" (sprintf "clip: lo (%g) must be <= hi (%g)" lo hi)
        mk "clip" (fun i -> bin Minimum (bin Maximum i.[0] (sc i.[0] lo)) (sc i.[0] hi))
            (fun i _ g ->
                let x = i.[0]
                let inside = Elementwise.binary Mul (mask (Elementwise.compare Ge x (sc x lo)) g) (mask (Elementwise.compare Le x (sc x hi)) g)
                [| g .* inside |])
    /// where(cond, a, b) (broadcast); gradient to a where cond, to b elsewhere, none to cond.
    let where =
        mk "where" (fun i -> Elementwise.where i.[0] i.[1] i.[2])
            (fun i _ g ->
                let z = sc g 0.0
                [| zerosLike i.[0] g
                   unbroadcast (Elementwise.where i.[0] g z) i.[1].Dims
                   unbroadcast (Elementwise.where i.[0] z g) i.[2].Dims |])
    /// Conversion between float dtypes (differentiable: gradient cast back to the input dtype).
    let cast (dt: DType) =
        mk "cast" (fun i -> Elementwise.cast dt i.[0]) (fun i _ g -> [| Elementwise.cast i.[0].DType g |])
