namespace ActorTrainer.Core

open System
open System.Numerics.Tensors
open ActorTrainer.Kernels

/// Binary arithmetic kinds (NumPy ufunc names in messages).
type internal BinOp =
    | Add | Sub | Mul | Div | Pow | Maximum | Minimum
    member this.Name =
        match this with
        | Add -> "add" | Sub -> "subtract" | Mul -> "multiply" | Div -> "divide"
        | Pow -> "power" | Maximum -> "maximum" | Minimum -> "minimum"

/// Comparison kinds (result dtype Bool).
type internal CmpOp =
    | Eq | Ne | Gt | Ge | Lt | Le
    member this.Name =
        match this with
        | Eq -> "equal" | Ne -> "not_equal" | Gt -> "greater" | Ge -> "greater_equal" | Lt -> "less" | Le -> "less_equal"

/// Unary kinds. Step is 1 where x > 0 else 0 (relu derivative); Sign is -1/0/1.
type internal UnOp =
    | Neg | Exp | Log | Sqrt | Square | Abs | Relu | Sigmoid | Tanh | Step | Sign | Reciprocal
    member this.Name =
        match this with
        | Neg -> "negative" | Exp -> "exp" | Log -> "log" | Sqrt -> "sqrt" | Square -> "square" | Abs -> "abs"
        | Relu -> "relu" | Sigmoid -> "sigmoid" | Tanh -> "tanh" | Step -> "step" | Sign -> "sign" | Reciprocal -> "reciprocal"

/// Elementwise raw kernels with NumPy broadcasting, vectorised with TensorPrimitives (exact IEEE operations) and
/// CanonicalMath (exp/log/tanh/sigmoid/pow), so every result is the same bits on every instruction set.
module internal Elementwise =
    /// Same dtype required (no implicit promotion); the message names the op and both dtypes.
    let checkSameDType (op: string) (a: NDArray) (b: NDArray) =
        if a.DType <> b.DType then
            invalidArg "b" (sprintf "%s: dtype mismatch between %s and %s (no implicit promotion; use AsType)" op (DType.name a.DType) (DType.name b.DType))

    let private unsupported (op: string) (d: DType) : 'a =
        invalidArg "x" (sprintf "%s: unsupported dtype %s" op (DType.name d))

    // ---- span kernels (vector∘vector, vector∘scalar, scalar∘vector) ----
    let private vv32 (op: BinOp, x: ReadOnlySpan<float32>, y: ReadOnlySpan<float32>, d: Span<float32>) =
        match op with
        | Add -> TensorPrimitives.Add(x, y, d) | Sub -> TensorPrimitives.Subtract(x, y, d)
        | Mul -> TensorPrimitives.Multiply(x, y, d) | Div -> TensorPrimitives.Divide(x, y, d)
        | Pow -> CanonicalMath.Pow(x, y, d) | Maximum -> TensorPrimitives.Max(x, y, d) | Minimum -> TensorPrimitives.Min(x, y, d)
    let private vs32 (op: BinOp, x: ReadOnlySpan<float32>, y: float32, d: Span<float32>) =
        match op with
        | Add -> TensorPrimitives.Add(x, y, d) | Sub -> TensorPrimitives.Subtract(x, y, d)
        | Mul -> TensorPrimitives.Multiply(x, y, d) | Div -> TensorPrimitives.Divide(x, y, d)
        | Pow -> CanonicalMath.PowScalarExponent(x, y, d) | Maximum -> TensorPrimitives.Max(x, y, d) | Minimum -> TensorPrimitives.Min(x, y, d)
    let private sv32 (op: BinOp, x: float32, y: ReadOnlySpan<float32>, d: Span<float32>) =
        match op with
        | Add -> TensorPrimitives.Add(y, x, d) | Sub -> TensorPrimitives.Subtract(x, y, d)
        | Mul -> TensorPrimitives.Multiply(y, x, d) | Div -> TensorPrimitives.Divide(x, y, d)
        | Pow -> CanonicalMath.PowScalarBase(x, y, d) | Maximum -> TensorPrimitives.Max(y, x, d) | Minimum -> TensorPrimitives.Min(y, x, d)
    let private vv64 (op: BinOp, x: ReadOnlySpan<float>, y: ReadOnlySpan<float>, d: Span<float>) =
        match op with
        | Add -> TensorPrimitives.Add(x, y, d) | Sub -> TensorPrimitives.Subtract(x, y, d)
        | Mul -> TensorPrimitives.Multiply(x, y, d) | Div -> TensorPrimitives.Divide(x, y, d)
        | Pow -> CanonicalMath.Pow(x, y, d) | Maximum -> TensorPrimitives.Max(x, y, d) | Minimum -> TensorPrimitives.Min(x, y, d)
    let private vs64 (op: BinOp, x: ReadOnlySpan<float>, y: float, d: Span<float>) =
        match op with
        | Add -> TensorPrimitives.Add(x, y, d) | Sub -> TensorPrimitives.Subtract(x, y, d)
        | Mul -> TensorPrimitives.Multiply(x, y, d) | Div -> TensorPrimitives.Divide(x, y, d)
        | Pow -> CanonicalMath.PowScalarExponent(x, y, d) | Maximum -> TensorPrimitives.Max(x, y, d) | Minimum -> TensorPrimitives.Min(x, y, d)
    let private sv64 (op: BinOp, x: float, y: ReadOnlySpan<float>, d: Span<float>) =
        match op with
        | Add -> TensorPrimitives.Add(y, x, d) | Sub -> TensorPrimitives.Subtract(x, y, d)
        | Mul -> TensorPrimitives.Multiply(y, x, d) | Div -> TensorPrimitives.Divide(x, y, d)
        | Pow -> CanonicalMath.PowScalarBase(x, y, d) | Maximum -> TensorPrimitives.Max(y, x, d) | Minimum -> TensorPrimitives.Min(y, x, d)

    /// Walks the broadcast output by rows (last axis): row(aOff, aStep, bOff, bStep, outOff, len), steps 0 or 1.
    let inline private forRows2 (aDims: int[]) (bDims: int[]) (outDims: int[]) ([<InlineIfLambda>] row: int -> int -> int -> int -> int -> int -> unit) =
        let n = Shape.size outDims
        if n > 0 then
            let r = outDims.Length
            if r = 0 then row 0 0 0 0 0 1
            else
                let sa = Shape.broadcastStrides aDims outDims
                let sb = Shape.broadcastStrides bDims outDims
                let inner = outDims.[r - 1]
                let outer = n / inner
                let idx = Array.zeroCreate (r - 1)
                let mutable aOff = 0
                let mutable bOff = 0
                for o in 0 .. outer - 1 do
                    row aOff sa.[r - 1] bOff sb.[r - 1] (o * inner) inner
                    let mutable d = r - 2
                    let mutable carry = true
                    while carry && d >= 0 do
                        idx.[d] <- idx.[d] + 1
                        aOff <- aOff + sa.[d]
                        bOff <- bOff + sb.[d]
                        if idx.[d] = outDims.[d] then
                            aOff <- aOff - sa.[d] * outDims.[d]
                            bOff <- bOff - sb.[d] * outDims.[d]
                            idx.[d] <- 0
                            d <- d - 1
                        else carry <- false

    /// Scalar-function broadcast map (int/bool arithmetic, comparisons).
    let inline private mapBin ([<InlineIfLambda>] f: 'T -> 'T -> 'U) (a: 'T[]) (b: 'T[]) aDims bDims (outDims: int[]) : 'U[] =
        let o = Array.zeroCreate<'U> (Shape.size outDims)
        forRows2 aDims bDims outDims (fun aOff aS bOff bS oOff len ->
            for i in 0 .. len - 1 do
                o.[oOff + i] <- f a.[aOff + i * aS] b.[bOff + i * bS])
        o

    let private bin32 (op: BinOp) (a: float32[]) (b: float32[]) (ad: int[]) (bd: int[]) (od: int[]) : float32[] =
        let o = GC.AllocateUninitializedArray<float32> (Shape.size od)
        if ad = od && bd = od then vv32 (op, ReadOnlySpan a, ReadOnlySpan b, Span o)
        elif ad = od && b.Length = 1 then vs32 (op, ReadOnlySpan a, b.[0], Span o)
        elif bd = od && a.Length = 1 then sv32 (op, a.[0], ReadOnlySpan b, Span o)
        else
            forRows2 ad bd od (fun aOff aS bOff bS oOff len ->
                let d = Span<float32>(o, oOff, len)
                if aS = 1 && bS = 1 then vv32 (op, ReadOnlySpan<float32>(a, aOff, len), ReadOnlySpan<float32>(b, bOff, len), d)
                elif aS = 1 then vs32 (op, ReadOnlySpan<float32>(a, aOff, len), b.[bOff], d)
                elif bS = 1 then sv32 (op, a.[aOff], ReadOnlySpan<float32>(b, bOff, len), d)
                else
                    vs32 (op, ReadOnlySpan<float32>(a, aOff, 1), b.[bOff], Span<float32>(o, oOff, 1))
                    d.Fill(o.[oOff]))
        o

    let private bin64 (op: BinOp) (a: float[]) (b: float[]) (ad: int[]) (bd: int[]) (od: int[]) : float[] =
        let o = GC.AllocateUninitializedArray<float> (Shape.size od)
        if ad = od && bd = od then vv64 (op, ReadOnlySpan a, ReadOnlySpan b, Span o)
        elif ad = od && b.Length = 1 then vs64 (op, ReadOnlySpan a, b.[0], Span o)
        elif bd = od && a.Length = 1 then sv64 (op, a.[0], ReadOnlySpan b, Span o)
        else
            forRows2 ad bd od (fun aOff aS bOff bS oOff len ->
                let d = Span<float>(o, oOff, len)
                if aS = 1 && bS = 1 then vv64 (op, ReadOnlySpan<float>(a, aOff, len), ReadOnlySpan<float>(b, bOff, len), d)
                elif aS = 1 then vs64 (op, ReadOnlySpan<float>(a, aOff, len), b.[bOff], d)
                elif bS = 1 then sv64 (op, a.[aOff], ReadOnlySpan<float>(b, bOff, len), d)
                else
                    vs64 (op, ReadOnlySpan<float>(a, aOff, 1), b.[bOff], Span<float>(o, oOff, 1))
                    d.Fill(o.[oOff]))
        o

    let private intPow (x: int) (p: int) =
        if p < 0 then invalidArg "p" (sprintf "power: integers to negative integer powers are not allowed (exponent %d)" p)
        let mutable r = 1
        for _ in 1 .. p do r <- r * x
        r

    /// Broadcast binary arithmetic a∘b (NumPy semantics); dtypes must match; int32 supports all but divide.
    let binary (op: BinOp) (a: NDArray) (b: NDArray) : NDArray =
        checkSameDType op.Name a b
        let od = Shape.broadcast op.Name a.Dims b.Dims
        match a.DType with
        | Float32 -> NDArray.Raw(bin32 op a.F32 b.F32 a.Dims b.Dims od, od)
        | Float64 -> NDArray.Raw(bin64 op a.F64 b.F64 a.Dims b.Dims od, od)
        | Int32 ->
            let f : int -> int -> int =
                match op with
                | Add -> (+) | Sub -> (-) | Mul -> (*) | Maximum -> max | Minimum -> min
                | Pow -> intPow
                | Div -> invalidArg "b" "divide: unsupported dtype int32 (cast to float32 or float64 with AsType first)"
            NDArray.Raw(mapBin f a.I32 b.I32 a.Dims b.Dims od, od)
        | Bool -> unsupported op.Name Bool

    /// Broadcast comparison → Bool array; bool supports only equal/not_equal.
    let compare (op: CmpOp) (a: NDArray) (b: NDArray) : NDArray =
        checkSameDType op.Name a b
        let od = Shape.broadcast op.Name a.Dims b.Dims
        let inline cmp (x: 'T) (y: 'T) =
            match op with
            | Eq -> x = y | Ne -> x <> y | Gt -> x > y | Ge -> x >= y | Lt -> x < y | Le -> x <= y
        let res : bool[] =
            match a.DType with
            | Float32 -> mapBin cmp a.F32 b.F32 a.Dims b.Dims od
            | Float64 -> mapBin cmp a.F64 b.F64 a.Dims b.Dims od
            | Int32 -> mapBin cmp a.I32 b.I32 a.Dims b.Dims od
            | Bool ->
                match op with
                | Eq | Ne -> mapBin cmp a.B b.B a.Dims b.Dims od
                | _ -> unsupported op.Name Bool
        NDArray.Raw(res, od)

    let private un32 (op: UnOp, x: ReadOnlySpan<float32>, d: Span<float32>) =
        match op with
        | Neg -> TensorPrimitives.Negate(x, d) | Exp -> CanonicalMath.Map(CanonicalMath.Function.Exp, x, d) | Log -> CanonicalMath.Map(CanonicalMath.Function.Log, x, d)
        | Sqrt -> TensorPrimitives.Sqrt(x, d) | Square -> TensorPrimitives.Multiply(x, x, d) | Abs -> TensorPrimitives.Abs(x, d)
        | Relu -> TensorPrimitives.Max(x, 0.0f, d) | Sigmoid -> CanonicalMath.Map(CanonicalMath.Function.Sigmoid, x, d) | Tanh -> CanonicalMath.Map(CanonicalMath.Function.Tanh, x, d)
        | Reciprocal -> TensorPrimitives.Divide(1.0f, x, d)
        | Step -> for i in 0 .. x.Length - 1 do d.[i] <- (if x.[i] > 0.0f then 1.0f else 0.0f)
        | Sign -> for i in 0 .. x.Length - 1 do d.[i] <- (if x.[i] > 0.0f then 1.0f elif x.[i] < 0.0f then -1.0f else x.[i])

    let private un64 (op: UnOp, x: ReadOnlySpan<float>, d: Span<float>) =
        match op with
        | Neg -> TensorPrimitives.Negate(x, d) | Exp -> CanonicalMath.Map(CanonicalMath.Function.Exp, x, d) | Log -> CanonicalMath.Map(CanonicalMath.Function.Log, x, d)
        | Sqrt -> TensorPrimitives.Sqrt(x, d) | Square -> TensorPrimitives.Multiply(x, x, d) | Abs -> TensorPrimitives.Abs(x, d)
        | Relu -> TensorPrimitives.Max(x, 0.0, d) | Sigmoid -> CanonicalMath.Map(CanonicalMath.Function.Sigmoid, x, d) | Tanh -> CanonicalMath.Map(CanonicalMath.Function.Tanh, x, d)
        | Reciprocal -> TensorPrimitives.Divide(1.0, x, d)
        | Step -> for i in 0 .. x.Length - 1 do d.[i] <- (if x.[i] > 0.0 then 1.0 else 0.0)
        | Sign -> for i in 0 .. x.Length - 1 do d.[i] <- (if x.[i] > 0.0 then 1.0 elif x.[i] < 0.0 then -1.0 else x.[i])

    /// Elementwise unary op; int32 supports negative/abs/square/relu/sign/step.
    let unary (op: UnOp) (x: NDArray) : NDArray =
        match x.DType with
        | Float32 ->
            let o = GC.AllocateUninitializedArray<float32> x.Size
            un32 (op, ReadOnlySpan x.F32, Span o)
            NDArray.Raw(o, x.Dims)
        | Float64 ->
            let o = GC.AllocateUninitializedArray<float> x.Size
            un64 (op, ReadOnlySpan x.F64, Span o)
            NDArray.Raw(o, x.Dims)
        | Int32 ->
            let f : int -> int =
                match op with
                | Neg -> (~-) | Abs -> abs | Square -> (fun v -> v * v) | Relu -> (fun v -> max v 0)
                | Sign -> sign | Step -> (fun v -> if v > 0 then 1 else 0)
                | _ -> unsupported op.Name DType.Int32
            NDArray.Raw(Array.map f x.I32, x.Dims)
        | Bool -> unsupported op.Name Bool

    /// Converts to another dtype (float→int truncates toward zero, nonzero→true); same dtype returns x.
    let cast (dt: DType) (x: NDArray) : NDArray =
        if x.DType = dt then x
        else
            let n = x.Size
            let s : Array =
                match dt with
                | Float32 ->
                    match x.Storage with
                    | :? (float[]) as a -> Array.map float32 a :> Array
                    | :? (int[]) as a -> Array.map float32 a :> Array
                    | _ -> Array.map (fun b -> if b then 1.0f else 0.0f) x.B :> Array
                | Float64 ->
                    match x.Storage with
                    | :? (float32[]) as a -> Array.map float a :> Array
                    | :? (int[]) as a -> Array.map float a :> Array
                    | _ -> Array.map (fun b -> if b then 1.0 else 0.0) x.B :> Array
                | Int32 ->
                    match x.Storage with
                    | :? (float32[]) as a -> Array.map int a :> Array
                    | :? (float[]) as a -> Array.map int a :> Array
                    | _ -> Array.map (fun b -> if b then 1 else 0) x.B :> Array
                | Bool ->
                    match x.Storage with
                    | :? (float32[]) as a -> Array.map (fun v -> v <> 0.0f) a :> Array
                    | :? (float[]) as a -> Array.map (fun v -> v <> 0.0) a :> Array
                    | _ -> Array.map (fun v -> v <> 0) x.I32 :> Array
            NDArray.Raw(s, x.Dims)

    /// v as an int32, refusing what int32 cannot hold exactly (a fraction, NaN, ±∞, beyond ±2³¹): NumPy would
    /// promote such a mix to float, and this library does no implicit promotion (int32 ∘ 0.5 was silently 0).
    let int32Of (what: string) (v: float) : int =
        if Double.IsNaN v || Math.Floor v <> v || v < float Int32.MinValue || v > float Int32.MaxValue then
            invalidArg "value" (sprintf "%s: %s is not an int32 value (an int32 tensor takes integer values in [%d, %d]; there is no implicit promotion: cast the tensor with AsType(DType.Float32) or AsType(DType.Float64) first)"
                                    what (v.ToString("R", Globalization.CultureInfo.InvariantCulture)) Int32.MinValue Int32.MaxValue)
        int v

    /// A rank-0 array holding v in the given dtype (int32: v must be an integer in range, see int32Of).
    let scalar (dt: DType) (v: float) : NDArray =
        let s : Array =
            match dt with
            | Float32 -> [| float32 v |] :> Array
            | Float64 -> [| v |] :> Array
            | Int32 -> [| int32Of "int32 scalar" v |] :> Array
            | Bool -> [| v <> 0.0 |] :> Array
        NDArray.Raw(s, [||])

    /// An array of the shape filled with v (int32: v must be an integer in range, see int32Of).
    let full (dt: DType) (shape: int[]) (v: float) : NDArray =
        Shape.validate "full" shape
        let n = Shape.size shape
        let s : Array =
            match dt with
            | Float32 -> Array.create n (float32 v) :> Array
            | Float64 -> Array.create n v :> Array
            | Int32 -> Array.create n (int32Of "full" v) :> Array
            | Bool -> Array.create n (v <> 0.0) :> Array
        NDArray.Raw(s, Array.copy shape)

    /// NumPy where(cond, a, b) with three-way broadcasting; a and b must share a dtype.
    let where (cond: NDArray) (a: NDArray) (b: NDArray) : NDArray =
        if cond.DType <> Bool then invalidArg "cond" (sprintf "where: condition must be bool, got %s" (DType.name cond.DType))
        checkSameDType "where" a b
        let od = Shape.broadcast "where" (Shape.broadcast "where" cond.Dims a.Dims) b.Dims
        let c = (Strided.broadcastTo cond od).B
        let aa = Strided.broadcastTo a od
        let bb = Strided.broadcastTo b od
        Strided.dispatch aa { new IArrayFn<NDArray> with
                                 member _.Invoke(av) =
                                     let bv = bb.Storage :?> _[]
                                     NDArray.Raw(Array.init c.Length (fun i -> if c.[i] then av.[i] else bv.[i]), od) }
