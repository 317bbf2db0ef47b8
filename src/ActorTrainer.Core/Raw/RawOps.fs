namespace ActorTrainer.Core

open System
open System.Numerics.Tensors
open ActorTrainer.Kernels

/// Reduction kinds.
type internal RedOp =
    | RSum | RMax | RMin
    member this.Name = match this with RSum -> "sum" | RMax -> "maximum" | RMin -> "minimum"

/// Raw reductions (sum/max/min over axes, argmax/argmin along one axis) and one_hot.
module internal RawOps =
    let private red32 (op: RedOp) (x: ReadOnlySpan<float32>) =
        match op with RSum -> CanonicalReduce.Sum x | RMax -> TensorPrimitives.Max x | RMin -> TensorPrimitives.Min x
    let private red64 (op: RedOp) (x: ReadOnlySpan<float>) =
        match op with RSum -> CanonicalReduce.Sum x | RMax -> TensorPrimitives.Max x | RMin -> TensorPrimitives.Min x
    let private acc32 (op: RedOp) (a: float32[]) (off: int) (o: float32[]) =
        let x = ReadOnlySpan<float32>(a, off, o.Length)
        match op with
        | RSum -> TensorPrimitives.Add(ReadOnlySpan o, x, Span o)
        | RMax -> TensorPrimitives.Max(ReadOnlySpan o, x, Span o)
        | RMin -> TensorPrimitives.Min(ReadOnlySpan o, x, Span o)
    let private acc64 (op: RedOp) (a: float[]) (off: int) (o: float[]) =
        let x = ReadOnlySpan<float>(a, off, o.Length)
        match op with
        | RSum -> TensorPrimitives.Add(ReadOnlySpan o, x, Span o)
        | RMax -> TensorPrimitives.Max(ReadOnlySpan o, x, Span o)
        | RMin -> TensorPrimitives.Min(ReadOnlySpan o, x, Span o)
    /// An int32 sum computed in int64, refused when int32 cannot hold it (NumPy sums int32 into int64, a dtype this
    /// library does not have; a wrapped sum would be silently wrong).
    let private int32Sum (v: int64) =
        if v < int64 Int32.MinValue || v > int64 Int32.MaxValue then
            invalidArg "x" (sprintf "sum: the int32 sum %d overflows int32 (NumPy would sum into int64, which this library does not have): cast with AsType(DType.Float64) first" v)
        int v
    let private redInt (op: RedOp) (a: int[]) (off: int) (len: int) =
        match op with
        | RSum ->
            let mutable r = 0L
            for i in off .. off + len - 1 do r <- r + int64 a.[i]
            int32Sum r
        | _ ->
            let mutable r = a.[off]
            for i in off + 1 .. off + len - 1 do
                r <- match op with RMax -> max r a.[i] | _ -> min r a.[i]
            r

    /// Reduces x over the given normalised sorted axes (sum/max/min); keepdims keeps them as size 1.
    /// Bool sums are counted as int32. Max/min of an empty reduction raises an error naming the op.
    let reduce (op: RedOp) (x0: NDArray) (axes: int[]) (keepdims: bool) : NDArray =
        let x = if x0.DType = Bool then Elementwise.cast DType.Int32 x0 else x0
        if x0.DType = Bool && op <> RSum then invalidArg "x" (sprintf "%s: unsupported dtype bool" op.Name)
        let dims = x.Dims
        let r = dims.Length
        let isRed = Array.init r (fun i -> Array.contains i axes)
        let keptDims = [| for i in 0 .. r - 1 do if not isRed.[i] then dims.[i] |]
        let outDims = if keepdims then Array.init r (fun i -> if isRed.[i] then 1 else dims.[i]) else keptDims
        let redCount = Shape.size [| for i in axes -> dims.[i] |]
        let outer = Shape.size keptDims
        if redCount = 0 && op <> RSum && outer > 0 then
            invalidArg "x" (sprintf "%s: zero-size array (shape %s) to reduction operation which has no identity" op.Name (Shape.str dims))
        let nRed = axes.Length
        let isPrefix = axes |> Array.mapi (fun i a -> i = a) |> Array.forall id
        if nRed = 0 then NDArray.Raw(x.Storage, outDims)
        elif isPrefix && nRed < r && redCount > 0 then
            // reduce leading axes: accumulate contiguous rows of length `outer`
            let s : Array =
                match x.DType with
                | Float32 ->
                    let a = x.F32
                    let o = Array.sub a 0 outer
                    for i in 1 .. redCount - 1 do acc32 op a (i * outer) o
                    o :> Array
                | Float64 ->
                    let a = x.F64
                    let o = Array.sub a 0 outer
                    for i in 1 .. redCount - 1 do acc64 op a (i * outer) o
                    o :> Array
                | _ ->
                    let a = x.I32
                    Array.init outer (fun j ->
                        if op = RSum then
                            let mutable v = 0L
                            for i in 0 .. redCount - 1 do v <- v + int64 a.[i * outer + j]
                            int32Sum v
                        else
                            let mutable v = a.[j]
                            for i in 1 .. redCount - 1 do
                                let w = a.[i * outer + j]
                                v <- if op = RMax then max v w else min v w
                            v) :> Array
            NDArray.Raw(s, outDims)
        else
            // move reduced axes last, then reduce contiguous blocks
            let perm = Array.append [| for i in 0 .. r - 1 do if not isRed.[i] then i |] axes
            let p = Strided.permute x perm
            let s : Array =
                match x.DType with
                | Float32 ->
                    let a = p.F32
                    Array.init outer (fun j -> if redCount = 0 then 0.0f else red32 op (ReadOnlySpan<float32>(a, j * redCount, redCount))) :> Array
                | Float64 ->
                    let a = p.F64
                    Array.init outer (fun j -> if redCount = 0 then 0.0 else red64 op (ReadOnlySpan<float>(a, j * redCount, redCount))) :> Array
                | _ ->
                    let a = p.I32
                    Array.init outer (fun j -> if redCount = 0 then 0 else redInt op a (j * redCount) redCount) :> Array
            NDArray.Raw(s, outDims)

    /// Index of the max (isMax) or min along a normalised axis (first occurrence) → Int32, axis removed.
    let argReduce (isMax: bool) (x: NDArray) (axis: int) : NDArray =
        let name = if isMax then "argmax" else "argmin"
        let dims = x.Dims
        let n = dims.[axis]
        let outDims = [| for i in 0 .. dims.Length - 1 do if i <> axis then dims.[i] |]
        let outer = Shape.size outDims
        if n = 0 && outer > 0 then invalidArg "x" (sprintf "%s: attempt to get %s of an empty sequence (shape %s, axis %d)" name name (Shape.str dims) axis)
        let perm = Array.append [| for i in 0 .. dims.Length - 1 do if i <> axis then i |] [| axis |]
        let p = Strided.permute x perm
        let res =
            match x.DType with
            | Float32 ->
                let a = p.F32
                Array.init outer (fun j ->
                    let s = ReadOnlySpan<float32>(a, j * n, n)
                    if isMax then TensorPrimitives.IndexOfMax s else TensorPrimitives.IndexOfMin s)
            | Float64 ->
                let a = p.F64
                Array.init outer (fun j ->
                    let s = ReadOnlySpan<float>(a, j * n, n)
                    if isMax then TensorPrimitives.IndexOfMax s else TensorPrimitives.IndexOfMin s)
            | Int32 ->
                let a = p.I32
                Array.init outer (fun j ->
                    let mutable best = 0
                    for i in 1 .. n - 1 do
                        let v, b = a.[j * n + i], a.[j * n + best]
                        if (isMax && v > b) || (not isMax && v < b) then best <- i
                    best)
            | Bool -> invalidArg "x" (sprintf "%s: unsupported dtype bool" name)
        NDArray.Raw(res, outDims)

    /// one_hot: labels (int32, any shape) → labels.shape + (depth,), 1 at the label, 0 elsewhere; label range checked.
    let oneHot (labels: NDArray) (depth: int) (dt: DType) : NDArray =
        if labels.DType <> DType.Int32 then invalidArg "labels" (sprintf "one_hot: labels must be int32, got %s" (DType.name labels.DType))
        if depth <= 0 then invalidArg "depth" (sprintf "one_hot: depth must be positive, got %d" depth)
        let l = labels.I32
        for i in 0 .. l.Length - 1 do
            if l.[i] < 0 || l.[i] >= depth then
                invalidArg "labels" (sprintf "one_hot: label %d at flat index %d is out of range [0, %d)" l.[i] i depth)
        let outDims = Array.append labels.Dims [| depth |]
        let o = Elementwise.full dt outDims 0.0
        let one = Elementwise.scalar dt 1.0
        for i in 0 .. l.Length - 1 do
            Array.Copy(one.Storage, 0, o.Storage, i * depth + l.[i], 1)
        o
