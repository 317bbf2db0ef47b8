namespace ActorTrainer.Core

open System

/// A function generic in the element type, applied to a typed storage array.
type internal IArrayFn<'R> =
    abstract Invoke<'T> : 'T[] -> 'R

/// Strided copies on raw arrays: permute, broadcast_to, slicing views and their scatter inverses, concatenation.
module internal Strided =
    /// Applies a generic function to the typed storage of an NDArray.
    let dispatch (x: NDArray) (f: IArrayFn<'R>) : 'R =
        match x.Storage with
        | :? (float32[]) as a -> f.Invoke a
        | :? (float[]) as a -> f.Invoke a
        | :? (int[]) as a -> f.Invoke a
        | :? (bool[]) as a -> f.Invoke a
        | s -> invalidArg "x" (sprintf "unsupported storage %s" (s.GetType().Name))

    /// Walks the rows (last axis) of `dims` in row-major order; calls row(srcOffset, outOffset, rowLength).
    let inline private forRows (offset: int) (strides: int[]) (dims: int[]) ([<InlineIfLambda>] row: int -> int -> int -> unit) =
        let n = Shape.size dims
        if n > 0 then
            let r = dims.Length
            if r = 0 then row offset 0 1
            else
                let inner = dims.[r - 1]
                let outer = n / inner
                let idx = Array.zeroCreate (r - 1)
                let mutable off = offset
                for o in 0 .. outer - 1 do
                    row off (o * inner) inner
                    let mutable d = r - 2
                    let mutable carry = true
                    while carry && d >= 0 do
                        idx.[d] <- idx.[d] + 1
                        off <- off + strides.[d]
                        if idx.[d] = dims.[d] then
                            off <- off - strides.[d] * dims.[d]
                            idx.[d] <- 0
                            d <- d - 1
                        else carry <- false

    /// out[i...] = src[offset + Σ i_d·strides_d] for the multi-index i over outDims (contiguous result).
    let gatherArr (src: 'T[]) (offset: int) (strides: int[]) (outDims: int[]) : 'T[] =
        let o = Array.zeroCreate<'T> (Shape.size outDims)
        let s = if strides.Length = 0 then 1 else strides.[strides.Length - 1]
        forRows offset strides outDims (fun off oOff len ->
            if s = 1 then Array.Copy(src, off, o, oOff, len)
            elif s = 0 then Array.Fill(o, src.[off], oOff, len)
            else
                for i in 0 .. len - 1 do
                    o.[oOff + i] <- src.[off + i * s])
        o

    /// Strided gather of an NDArray into a new contiguous NDArray of shape outDims.
    let gather (x: NDArray) (offset: int) (strides: int[]) (outDims: int[]) : NDArray =
        dispatch x { new IArrayFn<NDArray> with
                        member _.Invoke(a) = NDArray.Raw(gatherArr a offset strides outDims, outDims) }

    /// Inverse of gather into zeros: result (shape dstDims) has src's values at the strided positions, 0 elsewhere.
    let scatter (src: NDArray) (dstDims: int[]) (offset: int) (strides: int[]) : NDArray =
        let srcDims = src.Dims
        dispatch src { new IArrayFn<NDArray> with
                          member _.Invoke(a) =
                              let o = Array.zeroCreate (Shape.size dstDims)
                              let s = if strides.Length = 0 then 1 else strides.[strides.Length - 1]
                              forRows offset strides srcDims (fun off sOff len ->
                                  if s = 1 then Array.Copy(a, sOff, o, off, len)
                                  else
                                      for i in 0 .. len - 1 do
                                          o.[off + i * s] <- a.[sOff + i])
                              NDArray.Raw(o, dstDims) }

    /// Axis permutation: out.shape[i] = x.shape[perm[i]] (contiguous copy; identity returns x).
    let permute (x: NDArray) (perm: int[]) : NDArray =
        if perm |> Array.mapi (fun i p -> i = p) |> Array.forall id then x
        else
            let st = Shape.strides x.Dims
            gather x 0 (perm |> Array.map (fun p -> st.[p])) (perm |> Array.map (fun p -> x.Dims.[p]))

    /// NumPy broadcast_to (shape must be broadcast-compatible, checked by the caller).
    let broadcastTo (x: NDArray) (shape: int[]) : NDArray =
        if x.Dims = shape then x else gather x 0 (Shape.broadcastStrides x.Dims shape) shape

    /// Concatenation along `axis` of arrays with equal dtype and equal dims except `axis` (checked by caller).
    let concat (xs: NDArray[]) (axis: int) : NDArray =
        let d0 = xs.[0].Dims
        let outDims = Array.copy d0
        outDims.[axis] <- xs |> Array.sumBy (fun x -> x.Dims.[axis])
        let outer = Shape.size d0.[.. axis - 1]
        let inner = Shape.size d0.[axis + 1 ..]
        let o = DType.alloc xs.[0].DType (Shape.size outDims)
        let rowOut = outDims.[axis] * inner
        let mutable start = 0
        for x in xs do
            let blk = x.Dims.[axis] * inner
            if blk > 0 then
                for i in 0 .. outer - 1 do
                    Array.Copy(x.Storage, i * blk, o, i * rowOut + start, blk)
            start <- start + blk
        NDArray.Raw(o, outDims)

    /// Rows (along axis 0) of x where mask is true.
    let maskRows (x: NDArray) (mask: bool[]) : NDArray =
        let inner = if x.NDim = 0 then 1 else x.Size / max 1 x.Dims.[0]
        let count = mask |> Array.sumBy (fun b -> if b then 1 else 0)
        let outDims = Array.copy x.Dims
        outDims.[0] <- count
        let o = DType.alloc x.DType (count * inner)
        let mutable j = 0
        for i in 0 .. mask.Length - 1 do
            if mask.[i] then
                Array.Copy(x.Storage, i * inner, o, j * inner, inner)
                j <- j + 1
        NDArray.Raw(o, outDims)

    /// Inverse of maskRows into zeros of shape dstDims.
    let unmaskRows (g: NDArray) (mask: bool[]) (dstDims: int[]) : NDArray =
        let inner = Shape.size dstDims.[1..]
        let o = DType.alloc g.DType (Shape.size dstDims)
        let mutable j = 0
        for i in 0 .. mask.Length - 1 do
            if mask.[i] then
                Array.Copy(g.Storage, j * inner, o, i * inner, inner)
                j <- j + 1
        NDArray.Raw(o, Array.copy dstDims)
