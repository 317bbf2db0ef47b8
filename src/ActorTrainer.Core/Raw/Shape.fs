namespace ActorTrainer.Core

open System

/// Raised for incompatible shapes; the message names the op and the shapes at fault.
type ShapeException(message: string) =
    inherit ArgumentException(message)

/// Shape arithmetic: sizes, strides, NumPy broadcasting, axis normalisation.
module Shape =
    /// NumPy-style text of a shape: (3,2), (4,), ().
    let str (s: int[]) =
        match s.Length with
        | 0 -> "()"
        | 1 -> sprintf "(%d,)" s.[0]
        | _ -> "(" + String.Join(",", s) + ")"

    /// Number of elements: product of the dims (1 for rank 0).
    let size (s: int[]) =
        let mutable p = 1
        for d in s do p <- p * d
        p

    /// Row-major (C-order) strides in elements.
    let strides (s: int[]) =
        let st = Array.zeroCreate s.Length
        let mutable acc = 1
        for i in s.Length - 1 .. -1 .. 0 do
            st.[i] <- acc
            acc <- acc * s.[i]
        st

    /// Checks every dim is non-negative; the message names the op and the shape.
    let internal validate (op: string) (s: int[]) =
        if isNull s then raise (ArgumentNullException("shape", sprintf "%s: shape is null" op))
        for d in s do
            if d < 0 then raise (ShapeException(sprintf "%s: negative dimension %d in shape %s" op d (str s)))

    /// NumPy broadcast of two shapes (align right; dims equal or 1); error names op and both shapes.
    let internal broadcast (op: string) (a: int[]) (b: int[]) =
        let r = max a.Length b.Length
        Array.init r (fun i ->
            let da = let j = i - (r - a.Length) in if j < 0 then 1 else a.[j]
            let db = let j = i - (r - b.Length) in if j < 0 then 1 else b.[j]
            if da = db then da
            elif da = 1 then db
            elif db = 1 then da
            else raise (ShapeException(sprintf "%s: operands could not be broadcast together with shapes %s %s" op (str a) (str b))))

    /// Normalises a possibly negative axis into [0, ndim); error names the op, axis and ndim.
    let internal normAxis (op: string) (ndim: int) (axis: int) =
        let a = if axis < 0 then axis + ndim else axis
        if a < 0 || a >= ndim then
            raise (ArgumentOutOfRangeException("axis", sprintf "%s: axis %d is out of bounds for array of dimension %d" op axis ndim))
        a

    /// Normalised, sorted, duplicate-checked axes; None means all axes.
    let internal normAxes (op: string) (ndim: int) (axes: int[] option) =
        match axes with
        | None -> Array.init ndim id
        | Some ax ->
            let n = ax |> Array.map (normAxis op ndim) |> Array.sort
            for i in 1 .. n.Length - 1 do
                if n.[i] = n.[i - 1] then invalidArg "axes" (sprintf "%s: repeated axis %d in axes [%s]" op n.[i] (String.Join(",", ax)))
            n

    /// Strides of `a` (row-major) expanded to broadcast into `outShape` (stride 0 on broadcast dims).
    let internal broadcastStrides (a: int[]) (outShape: int[]) =
        let st = strides a
        let r = outShape.Length
        Array.init r (fun i ->
            let j = i - (r - a.Length)
            if j < 0 || a.[j] = 1 then 0 else st.[j])

    /// Resolves a reshape target with at most one -1 against a total size; error names both shapes.
    let internal resolveReshape (op: string) (src: int[]) (target: int[]) =
        let total = size src
        let negs = target |> Array.filter (fun d -> d = -1) |> Array.length
        if negs > 1 then raise (ShapeException(sprintf "%s: can only specify one unknown dimension (-1) in %s" op (str target)))
        for d in target do
            if d < -1 then raise (ShapeException(sprintf "%s: invalid dimension %d in %s" op d (str target)))
        if negs = 1 then
            let known = target |> Array.filter (fun d -> d <> -1) |> size
            if known = 0 || total % known <> 0 then
                raise (ShapeException(sprintf "%s: cannot reshape array of size %d (shape %s) into shape %s" op total (str src) (str target)))
            target |> Array.map (fun d -> if d = -1 then total / known else d)
        else
            if size target <> total then
                raise (ShapeException(sprintf "%s: cannot reshape array of size %d (shape %s) into shape %s" op total (str src) (str target)))
            Array.copy target
