namespace ActorTrainer.Core

open System
open System.Runtime.InteropServices

/// Immutable differentiable n-d tensor wrapping an NDArray; ops applied via Tensor.Apply are recorded on the
/// active GradientTapes that track any input.
[<Sealed; AllowNullLiteral>]
type Tensor private (value: NDArray) =
    let tid = TensorId.next ()

    /// The raw array (immutable by contract).
    member _.Value : NDArray = value
    /// Shape (copy).
    member _.Shape : int[] = value.Shape
    /// Element type.
    member _.DType = value.DType
    /// Rank.
    member _.NDim = value.NDim
    /// Number of elements.
    member _.Size = value.Size
    /// Unique id (used by tapes).
    member _.Id : int64 = tid
    /// Shape without copying (internal).
    member internal _.Dims = value.Dims

    /// Wraps an NDArray (no copy).
    static member OfNDArray(nd: NDArray) : Tensor =
        if isNull nd then raise (ArgumentNullException("nd"))
        Tensor(nd)

    /// Runs op.Forward on the input values and records the application on every active tape tracking an input
    /// (float outputs only; int/bool results are not differentiable).
    static member Apply(op: Op, inputs: Tensor[]) : Tensor =
        if isNull (box op) then raise (ArgumentNullException("op"))
        if isNull inputs then raise (ArgumentNullException("inputs"))
        inputs |> Array.iteri (fun i t -> if isNull t then raise (ArgumentNullException("inputs", sprintf "%s: input %d is null" op.Name i)))
        let vals = inputs |> Array.map (fun t -> t.Value)
        let out = Tensor(op.Forward.Invoke vals)
        TensorParts.record op (inputs |> Array.map (fun t -> t.Id)) vals out.Id out.Value
        out
    // ---------------- construction ----------------
    static member private ShapeOr(n: int, shape: int[]) = TensorShapeRules.shapeOr n (Option.ofObj shape)
    /// From float32 data (copied); no shape → 1-D.
    static member FromArray(data: float32[], [<Optional; DefaultParameterValue(null: int[])>] shape: int[]) = Tensor(NDArray.Create(data, Tensor.ShapeOr(data.Length, shape)))
    /// From float64 data (copied); no shape → 1-D.
    static member FromArray(data: float[], [<Optional; DefaultParameterValue(null: int[])>] shape: int[]) = Tensor(NDArray.Create(data, Tensor.ShapeOr(data.Length, shape)))
    /// From int32 data (copied); no shape → 1-D.
    static member FromArray(data: int[], [<Optional; DefaultParameterValue(null: int[])>] shape: int[]) = Tensor(NDArray.Create(data, Tensor.ShapeOr(data.Length, shape)))
    /// From bool data (copied); no shape → 1-D.
    static member FromArray(data: bool[], [<Optional; DefaultParameterValue(null: int[])>] shape: int[]) = Tensor(NDArray.Create(data, Tensor.ShapeOr(data.Length, shape)))
    /// From a float32 matrix (rows, cols).
    static member FromArray2D(data: float32[,]) = Tensor(TensorParts.of2D data)
    /// Rank-0 tensor holding v (default float32).
    static member Scalar(v: float, dtype: DType) = Tensor(Elementwise.scalar dtype v)
    /// A float32 rank-0 tensor.
    static member Scalar(v: float) = Tensor.Scalar(v, Float32)
    /// Zeros of the shape (default float32).
    static member Zeros(shape: int[], dtype: DType) = Tensor(Elementwise.full dtype shape 0.0)
    /// float32 zeros of the shape (C#: `Tensor.Zeros(300, 20)`).
    static member Zeros([<ParamArray>] shape: int[]) = Tensor.Zeros(shape, Float32)
    /// Ones of the shape (default float32).
    static member Ones(shape: int[], dtype: DType) = Tensor(Elementwise.full dtype shape 1.0)
    /// float32 ones of the shape (C#: `Tensor.Ones(3, 4)`).
    static member Ones([<ParamArray>] shape: int[]) = Tensor.Ones(shape, Float32)
    /// Shape filled with value (default float32).
    static member Full(shape: int[], value: float, dtype: DType) = Tensor(Elementwise.full dtype shape value)
    /// float32 filled with value.
    static member Full(shape: int[], value: float) = Tensor.Full(shape, value, Float32)
    /// [0, 1, …, n-1] as float32, shape (n,).
    static member Arange(n: int) =
        if n < 0 then invalidArg "n" (sprintf "arange: n must be >= 0, got %d" n)
        Tensor(NDArray.Raw(Array.init n float32, [| n |]))
    /// start, start+step, … (< stop for step > 0, > stop for step < 0), shape (ceil((stop-start)/step),).
    static member Arange(start: float, stop: float, step: float) = Tensor.Arange(start, stop, step, Float32)
    /// start, start+step, … with the given dtype.
    static member Arange(start: float, stop: float, step: float, dtype: DType) = Tensor(TensorParts.arange start stop step dtype)
    /// Uniform samples in [low, high), seeded (same seed ⇒ same values).
    static member RandomUniform(shape: int[], low: float, high: float, seed: int, dtype: DType) =
        Tensor(RawRandom.uniform shape low high seed dtype)
    /// float32 uniform samples in [low, high), seeded.
    static member RandomUniform(shape: int[], low: float, high: float, seed: int) = Tensor.RandomUniform(shape, low, high, seed, Float32)
    /// Normal samples N(mean, std²), seeded (same seed ⇒ same values).
    static member RandomNormal(shape: int[], mean: float, std: float, seed: int, dtype: DType) =
        Tensor(RawRandom.normal shape mean std seed dtype)
    /// float32 normal samples, seeded.
    static member RandomNormal(shape: int[], mean: float, std: float, seed: int) = Tensor.RandomNormal(shape, mean, std, seed, Float32)
    // ---------------- data out ----------------
    /// Copy as float32[] (converting).
    member _.ToFloat32Array() : float32[] = Array.copy (Elementwise.cast Float32 value).F32
    /// Copy as float[] (converting).
    member _.ToFloat64Array() : float[] = Array.copy (Elementwise.cast Float64 value).F64
    /// Copy as int[] (float → int truncates).
    member _.ToInt32Array() : int[] = Array.copy (Elementwise.cast DType.Int32 value).I32
    /// Copy as bool[] (nonzero → true).
    member _.ToBoolArray() : bool[] = Array.copy (Elementwise.cast Bool value).B
    /// The single value of a rank-0 or size-1 tensor.
    member _.ToScalar() : float =
        if value.Size <> 1 then invalidArg "this" (sprintf "ToScalar: tensor of shape %s has %d elements (need exactly 1)" (Shape.str value.Dims) value.Size)
        value.GetFlat 0
    /// One element by full index (negative indices count from the end).
    member _.Get([<ParamArray>] indices: int[]) : float = value.GetFlat(TensorShapeRules.flatOffset value.Dims indices)
    /// Converts dtype (differentiable between float dtypes).
    member this.AsType(dtype: DType) : Tensor =
        if dtype = value.DType then this
        elif DType.isFloat dtype && DType.isFloat value.DType then Tensor.Apply(ElementwiseOps.cast dtype, [| this |])
        else Tensor(Elementwise.cast dtype value)

    /// NumPy-like text: nested brackets (long axes summarised with ...), shape and dtype.
    override _.ToString() = TensorFormat.format value
    // ---------------- elementwise ----------------
    static member private Un(op: Op, x: Tensor) = Tensor.Apply(op, [| x |])
    static member private Bin(op: Op, a: Tensor, b: Tensor) = Tensor.Apply(op, [| a; b |])
    static member private Like(a: Tensor, v: float) = Tensor(Elementwise.scalar a.DType v)
    /// a + b (broadcast).
    static member Add(a: Tensor, b: Tensor) = Tensor.Bin(ElementwiseOps.add, a, b)
    /// a - b (broadcast).
    static member Sub(a: Tensor, b: Tensor) = Tensor.Bin(ElementwiseOps.sub, a, b)
    /// a * b (broadcast).
    static member Mul(a: Tensor, b: Tensor) = Tensor.Bin(ElementwiseOps.mul, a, b)
    /// a / b (broadcast).
    static member Div(a: Tensor, b: Tensor) = Tensor.Bin(ElementwiseOps.div, a, b)
    /// -x.
    static member Neg(x: Tensor) = Tensor.Un(ElementwiseOps.neg, x)
    /// max(x, 0).
    static member Relu(x: Tensor) = Tensor.Un(ElementwiseOps.relu, x)
    /// eˣ.
    static member Exp(x: Tensor) = Tensor.Un(ElementwiseOps.exp, x)
    /// ln x.
    static member Log(x: Tensor) = Tensor.Un(ElementwiseOps.log, x)
    /// √x.
    static member Sqrt(x: Tensor) = Tensor.Un(ElementwiseOps.sqrt, x)
    /// x².
    static member Square(x: Tensor) = Tensor.Un(ElementwiseOps.square, x)
    /// xᵖ (scalar p).
    static member Pow(x: Tensor, p: float) = Tensor.Un(ElementwiseOps.powScalar p, x)
    /// xʸ (broadcast).
    static member Pow(x: Tensor, y: Tensor) = Tensor.Bin(ElementwiseOps.pow, x, y)
    /// Elementwise maximum (broadcast).
    static member Maximum(a: Tensor, b: Tensor) = Tensor.Bin(ElementwiseOps.maximum, a, b)
    /// Elementwise minimum (broadcast).
    static member Minimum(a: Tensor, b: Tensor) = Tensor.Bin(ElementwiseOps.minimum, a, b)
    /// max(a, b) elementwise with b in a's dtype (refused when it cannot hold b exactly); `Maximum(z, 0.0)` is relu.
    static member Maximum(a: Tensor, b: float) = Tensor.Maximum(a, Tensor.Like(a, b))
    /// max(a, b) elementwise with a in b's dtype (refused when it cannot hold a exactly).
    static member Maximum(a: float, b: Tensor) = Tensor.Maximum(Tensor.Like(b, a), b)
    /// min(a, b) elementwise with b in a's dtype (refused when it cannot hold b exactly).
    static member Minimum(a: Tensor, b: float) = Tensor.Minimum(a, Tensor.Like(a, b))
    /// min(a, b) elementwise with a in b's dtype (refused when it cannot hold a exactly).
    static member Minimum(a: float, b: Tensor) = Tensor.Minimum(Tensor.Like(b, a), b)
    /// |x|.
    static member Abs(x: Tensor) = Tensor.Un(ElementwiseOps.abs, x)
    /// 1/(1+e⁻ˣ).
    static member Sigmoid(x: Tensor) = Tensor.Un(ElementwiseOps.sigmoid, x)
    /// tanh x.
    static member Tanh(x: Tensor) = Tensor.Un(ElementwiseOps.tanh, x)
    /// min(max(x, lo), hi).
    static member Clip(x: Tensor, lo: float, hi: float) = Tensor.Un(ElementwiseOps.clip lo hi, x)
    /// where(cond, a, b) (three-way broadcast; differentiable in a and b).
    static member Where(cond: Tensor, a: Tensor, b: Tensor) = Tensor.Apply(ElementwiseOps.where, [| cond; a; b |])
    /// where(cond, a, b) with b in a's dtype (refused when it cannot hold b exactly); differentiable in a.
    static member Where(cond: Tensor, a: Tensor, b: float) = Tensor.Where(cond, a, Tensor.Like(a, b))
    /// where(cond, a, b) with a in b's dtype (refused when it cannot hold a exactly); differentiable in b.
    static member Where(cond: Tensor, a: float, b: Tensor) = Tensor.Where(cond, Tensor.Like(b, a), b)
    /// a == b → Bool (broadcast).
    static member Equal(a: Tensor, b: Tensor) = Tensor(Elementwise.compare Eq a.Value b.Value)
    /// a != b → Bool (broadcast).
    static member NotEqual(a: Tensor, b: Tensor) = Tensor(Elementwise.compare Ne a.Value b.Value)
    /// a > b → Bool (broadcast).
    static member Greater(a: Tensor, b: Tensor) = Tensor(Elementwise.compare Gt a.Value b.Value)
    /// a >= b → Bool (broadcast).
    static member GreaterEqual(a: Tensor, b: Tensor) = Tensor(Elementwise.compare Ge a.Value b.Value)
    /// a < b → Bool (broadcast).
    static member Less(a: Tensor, b: Tensor) = Tensor(Elementwise.compare Lt a.Value b.Value)
    /// a <= b → Bool (broadcast).
    static member LessEqual(a: Tensor, b: Tensor) = Tensor(Elementwise.compare Le a.Value b.Value)

    /// a + b (broadcast).
    static member (+) (a: Tensor, b: Tensor) = Tensor.Add(a, b)
    /// a + scalar (in a's dtype).
    static member (+) (a: Tensor, b: float) = Tensor.Add(a, Tensor.Like(a, b))
    /// scalar + b (in b's dtype).
    static member (+) (a: float, b: Tensor) = Tensor.Add(Tensor.Like(b, a), b)
    /// a - b (broadcast).
    static member (-) (a: Tensor, b: Tensor) = Tensor.Sub(a, b)
    /// a - scalar (in a's dtype).
    static member (-) (a: Tensor, b: float) = Tensor.Sub(a, Tensor.Like(a, b))
    /// scalar - b (in b's dtype).
    static member (-) (a: float, b: Tensor) = Tensor.Sub(Tensor.Like(b, a), b)
    /// a * b (broadcast).
    static member (*) (a: Tensor, b: Tensor) = Tensor.Mul(a, b)
    /// a * scalar (in a's dtype).
    static member (*) (a: Tensor, b: float) = Tensor.Mul(a, Tensor.Like(a, b))
    /// scalar * b (in b's dtype).
    static member (*) (a: float, b: Tensor) = Tensor.Mul(Tensor.Like(b, a), b)
    /// a / b (broadcast).
    static member (/) (a: Tensor, b: Tensor) = Tensor.Div(a, b)
    /// a / scalar (in a's dtype).
    static member (/) (a: Tensor, b: float) = Tensor.Div(a, Tensor.Like(a, b))
    /// scalar / b (in b's dtype).
    static member (/) (a: float, b: Tensor) = Tensor.Div(Tensor.Like(b, a), b)
    /// -x.
    static member (~-) (x: Tensor) = Tensor.Neg x
    // ---------------- shape ops ----------------
    /// Reshape to shape (one -1 allowed; size must match; C#: `Tensor.Reshape(x, 6, 1)`).
    static member Reshape(x: Tensor, [<ParamArray>] shape: int[]) =
        let s = Shape.resolveReshape "reshape" x.Dims shape
        if s = x.Dims then x else Tensor.Un(StructureOps.reshape s, x)
    /// Axis permutation: out.shape[k] = x.shape[perm[k]]; perm must be a permutation of 0..ndim-1.
    static member Transpose(x: Tensor, perm: int[]) =
        let p = TensorShapeRules.permutation x.Dims perm
        if TensorShapeRules.isIdentity p then x else Tensor.Un(StructureOps.permute p, x)
    /// Reverses the axes (matrix transpose for rank 2).
    static member Transpose(x: Tensor) = Tensor.Transpose(x, Array.init x.NDim (fun i -> x.NDim - 1 - i))
    /// Same as Transpose(x, perm).
    static member Permute(x: Tensor, perm: int[]) = Tensor.Transpose(x, perm)
    /// Inserts a size-1 axis at `axis` (in [-(ndim+1), ndim]).
    static member ExpandDims(x: Tensor, axis: int) =
        let a = Shape.normAxis "expand_dims" (x.NDim + 1) axis
        let s = Array.concat [ x.Dims.[.. a - 1]; [| 1 |]; x.Dims.[a ..] ]
        Tensor.Un(StructureOps.reshape s, x)
    /// Removes size-1 axes (all, or the given one, which must have size 1).
    static member Squeeze(x: Tensor) = Tensor.SqueezeOpt(x, None)
    /// Removes the size-1 axis `axis`.
    static member Squeeze(x: Tensor, axis: int) = Tensor.SqueezeOpt(x, Some axis)
    static member private SqueezeOpt(x: Tensor, axis: int option) =
        let s = TensorShapeRules.squeezed x.Dims axis
        if s = x.Dims then x else Tensor.Un(StructureOps.reshape s, x)
    /// NumPy broadcast_to.
    static member BroadcastTo(x: Tensor, shape: int[]) =
        TensorShapeRules.checkBroadcastTo x.Dims shape
        if shape = x.Dims then x else Tensor.Un(StructureOps.broadcastTo (Array.copy shape), x)
    /// Joins tensors along an existing axis (same dtype; other dims equal).
    static member Concatenate(xs: Tensor[], axis: int) =
        if isNull xs || xs.Length = 0 then invalidArg "xs" "concatenate: need at least one array to concatenate"
        let a = TensorShapeRules.concatAxis (xs |> Array.map (fun x -> x.Dims)) (xs |> Array.map (fun x -> x.DType)) axis
        if xs.Length = 1 then xs.[0] else Tensor.Apply(StructureOps.concat a, xs)
    /// Joins equal-shaped tensors along a new axis.
    static member Stack(xs: Tensor[], axis: int) =
        if isNull xs || xs.Length = 0 then invalidArg "xs" "stack: need at least one array to stack"
        let a = TensorShapeRules.stackAxis (xs |> Array.map (fun x -> x.Dims)) axis
        Tensor.Concatenate(xs |> Array.map (fun x -> Tensor.ExpandDims(x, a)), a)
    // ---------------- slicing ----------------
    /// NumPy basic slicing with structured specs (missing trailing axes = All); differentiable.
    static member Slice(x: Tensor, specs: SliceSpec[]) =
        let off, st, dims = SliceSpec.resolve specs x.Dims
        Tensor.Un(StructureOps.slice off st dims, x)
    /// NumPy basic slicing from text, e.g. ":, 7:-7, 7:-7", "10:100", "3", "::-1"; differentiable.
    static member Slice(x: Tensor, text: string) = Tensor.Slice(x, SliceSpec.parse text)
    /// Rows along axis 0 where the 1-D Bool mask (length shape[0]) is true; differentiable.
    static member Mask(x: Tensor, mask: Tensor) =
        TensorShapeRules.checkMask x.Dims mask.Dims mask.DType
        Tensor.Un(StructureOps.mask (Array.copy mask.Value.B), x)
    // ---------------- reductions ----------------
    static member private FloatForMean(x: Tensor) = if DType.isFloat x.DType then x else x.AsType Float64
    /// Σ over axes (default all); keepdims keeps reduced axes as size 1.
    static member Sum(x: Tensor, [<Optional; DefaultParameterValue(null: int[])>] axes: int[], [<Optional; DefaultParameterValue(false)>] keepdims: bool) =
        let ax = Shape.normAxes "sum" x.NDim (Option.ofObj axes)
        Tensor.Un(ReduceOps.sum ax keepdims, x)
    /// Mean over axes (default all); int/bool inputs give float64.
    static member Mean(x: Tensor, [<Optional; DefaultParameterValue(null: int[])>] axes: int[], [<Optional; DefaultParameterValue(false)>] keepdims: bool) =
        let xf = Tensor.FloatForMean x
        let ax = Shape.normAxes "mean" x.NDim (Option.ofObj axes)
        let count = ax |> Array.fold (fun acc a -> acc * x.Dims.[a]) 1
        let s = Tensor.Un(ReduceOps.sum ax keepdims, xf)
        Tensor.Div(s, Tensor.Like(s, float count))       // NumPy: sum / n (not sum · (1/n): an ulp apart)
    /// Max over axes (default all).
    static member Max(x: Tensor, [<Optional; DefaultParameterValue(null: int[])>] axes: int[], [<Optional; DefaultParameterValue(false)>] keepdims: bool) =
        Tensor.Un(ReduceOps.extreme true (Shape.normAxes "max" x.NDim (Option.ofObj axes)) keepdims, x)
    /// Min over axes (default all).
    static member Min(x: Tensor, [<Optional; DefaultParameterValue(null: int[])>] axes: int[], [<Optional; DefaultParameterValue(false)>] keepdims: bool) =
        Tensor.Un(ReduceOps.extreme false (Shape.normAxes "min" x.NDim (Option.ofObj axes)) keepdims, x)
    /// Index of the max along axis → Int32 (axis removed).
    static member ArgMax(x: Tensor, axis: int) = Tensor(RawOps.argReduce true x.Value (Shape.normAxis "argmax" x.NDim axis))
    /// Index of the min along axis → Int32 (axis removed).
    static member ArgMin(x: Tensor, axis: int) = Tensor(RawOps.argReduce false x.Value (Shape.normAxis "argmin" x.NDim axis))
    /// NumPy argmax without axis: index of the (first) max in the flattened tensor → rank-0 Int32.
    static member ArgMax(x: Tensor) = Tensor.ArgMax(Tensor.Reshape(x, [| -1 |]), 0)
    /// NumPy argmin without axis: index of the (first) min in the flattened tensor → rank-0 Int32.
    static member ArgMin(x: Tensor) = Tensor.ArgMin(Tensor.Reshape(x, [| -1 |]), 0)
    /// Numerically stable softmax along axis (default -1).
    static member Softmax(x: Tensor, [<Optional; DefaultParameterValue(-1)>] axis: int) =
        Tensor.Un(ReduceOps.softmax (Shape.normAxis "softmax" x.NDim axis), x)
    /// Numerically stable log-softmax along axis (default -1).
    static member LogSoftmax(x: Tensor, [<Optional; DefaultParameterValue(-1)>] axis: int) =
        Tensor.Un(ReduceOps.logSoftmax (Shape.normAxis "log_softmax" x.NDim axis), x)
    /// One-hot encoding of int32 labels → labels.shape + (depth,) (default float32; not differentiable).
    static member OneHot(labels: Tensor, depth: int, dtype: DType) =
        Tensor(RawOps.oneHot labels.Value depth dtype)
    /// float32 one-hot encoding.
    static member OneHot(labels: Tensor, depth: int) = Tensor.OneHot(labels, depth, Float32)
    // ---------------- linear algebra ----------------
    /// NumPy matmul: batched over leading dims (broadcast); 1-D operands are promoted and the axis removed.
    static member MatMul(a: Tensor, b: Tensor) =
        let ka = TensorShapeRules.matmulInner a.Dims b.Dims
        let a2 = if a.NDim = 1 then Tensor.Reshape(a, [| 1; ka |]) else a
        let b2 = if b.NDim = 1 then Tensor.Reshape(b, [| ka; 1 |]) else b
        let c = Tensor.Bin(LinalgOps.matmul, a2, b2)
        match TensorShapeRules.matmulOut a.NDim b.NDim c.Dims with
        | None -> c
        | Some s -> Tensor.Reshape(c, s)
    /// NumPy dot: scalar·x, vector·vector → scalar, (…,k)·(k,) → (…), (…,k)·(…,k,n) → (…)+(…)+(n,).
    static member Dot(a: Tensor, b: Tensor) =
        if a.NDim = 0 || b.NDim = 0 then Tensor.Mul(a, b)
        else
            let k = TensorShapeRules.innerLength "dot" a.Dims b.Dims
            let lead = a.Dims.[.. a.NDim - 2]
            let a2 = if a.NDim = 2 then a else Tensor.Reshape(a, [| Shape.size lead; k |])
            if b.NDim = 1 then Tensor.Reshape(Tensor.Bin(LinalgOps.matmul, a2, Tensor.Reshape(b, [| k; 1 |])), lead)
            else
                let n, bBatch = b.Dims.[b.NDim - 1], b.Dims.[.. b.NDim - 3]
                let b2 =
                    if b.NDim = 2 then b
                    else Tensor.Reshape(Tensor.Transpose(b, TensorShapeRules.dotPermB b.NDim), [| k; Shape.size bBatch * n |])
                Tensor.Reshape(Tensor.Bin(LinalgOps.matmul, a2, b2), Array.concat [ lead; bBatch; [| n |] ])
    // ---------------- instance sugar ----------------
    /// NumPy basic slicing from text (see Tensor.Slice).
    member this.Slice(text: string) = Tensor.Slice(this, text)
    /// NumPy basic slicing with structured specs.
    member this.Slice(specs: SliceSpec[]) = Tensor.Slice(this, specs)
    /// Boolean-mask rows along axis 0.
    member this.Mask(mask: Tensor) = Tensor.Mask(this, mask)
    /// Row i (axis 0; negative counts from the end), dropping the axis.
    member this.Item with get (i: int) = Tensor.Slice(this, [| SliceSpec.Index i |])
    /// Rows a..b of axis 0 (C# `t[10..100]`, `t[^5..]`), NumPy's `t[10:100]` (clamped, axis kept); differentiable.
    member this.Item with get (r: Range) = Tensor.Slice(this, [| TensorParts.ofRange r |])
    /// Reshape (one -1 allowed; C#: `z.Reshape(6, 1)`).
    member this.Reshape([<ParamArray>] shape: int[]) = Tensor.Reshape(this, shape)
    /// Reverse-axes transpose.
    member this.T = Tensor.Transpose(this)
    /// Σ over axes (default all).
    member this.Sum([<Optional; DefaultParameterValue(null: int[])>] axes: int[], [<Optional; DefaultParameterValue(false)>] keepdims: bool) = Tensor.Sum(this, axes, keepdims)
    /// Mean over axes (default all).
    member this.Mean([<Optional; DefaultParameterValue(null: int[])>] axes: int[], [<Optional; DefaultParameterValue(false)>] keepdims: bool) = Tensor.Mean(this, axes, keepdims)
    /// Max over axes (default all).
    member this.Max([<Optional; DefaultParameterValue(null: int[])>] axes: int[], [<Optional; DefaultParameterValue(false)>] keepdims: bool) = Tensor.Max(this, axes, keepdims)
    /// Min over axes (default all).
    member this.Min([<Optional; DefaultParameterValue(null: int[])>] axes: int[], [<Optional; DefaultParameterValue(false)>] keepdims: bool) = Tensor.Min(this, axes, keepdims)
    /// argmax along axis (Int32).
    member this.ArgMax(axis: int) = Tensor.ArgMax(this, axis)
    /// argmax of the flattened tensor (NumPy `x.argmax()`) → rank-0 Int32.
    member this.ArgMax() = Tensor.ArgMax(this)
    /// NumPy dot with b.
    member this.Dot(b: Tensor) = Tensor.Dot(this, b)
    /// NumPy matmul with b.
    member this.MatMul(b: Tensor) = Tensor.MatMul(this, b)
    /// Axis permutation.
    member this.Transpose(perm: int[]) = Tensor.Transpose(this, perm)
