namespace ActorTrainer.Core

open System

/// Argument checks and result shapes of Tensor's construction, indexing, structure and linear-algebra ops: pure
/// functions of dims (NumPy's error texts), so that Tensor itself only wires ops together.
module internal TensorShapeRules =
    /// FromArray's shape: the given one (must hold n elements, no negative dims) or (n,).
    let shapeOr (n: int) (shape: int[] option) =
        match shape with
        | Some s ->
            if Shape.size s <> n || Array.exists (fun d -> d < 0) s then
                raise (ShapeException(sprintf "FromArray: data length %d does not match shape %s" n (Shape.str s)))
            s
        | None -> [| n |]

    /// Flat offset of a full index into a C-contiguous array of dims d (negative indices count from the end).
    let flatOffset (d: int[]) (indices: int[]) =
        if indices.Length <> d.Length then
            raise (IndexOutOfRangeException(sprintf "Get: %d indices given for tensor of shape %s" indices.Length (Shape.str d)))
        let st = Shape.strides d
        let mutable off = 0
        for i in 0 .. d.Length - 1 do
            let k = if indices.[i] < 0 then indices.[i] + d.[i] else indices.[i]
            if k < 0 || k >= d.[i] then
                raise (IndexOutOfRangeException(sprintf "Get: index %d is out of bounds for axis %d with size %d" indices.[i] i d.[i]))
            off <- off + k * st.[i]
        off

    /// transpose's permutation with negative axes normalised; must be a permutation of 0..ndim-1.
    let permutation (dims: int[]) (perm: int[]) =
        let n = dims.Length
        let p = perm |> Array.map (fun a -> if a < 0 then a + n else a)
        if p.Length <> n || (Array.sort p) <> Array.init n (fun i -> i) then
            invalidArg "perm" (sprintf "transpose: axes [%s] don't match array of shape %s" (String.Join(",", perm)) (Shape.str dims))
        p

    /// True when p is 0, 1, …, n-1.
    let isIdentity (p: int[]) = p = Array.init p.Length (fun i -> i)

    /// squeeze's result: all size-1 axes removed, or the given axis (which must have size 1).
    let squeezed (dims: int[]) (axis: int option) =
        match axis with
        | None -> dims |> Array.filter (fun d -> d <> 1)
        | Some ax ->
            let a = Shape.normAxis "squeeze" dims.Length ax
            if dims.[a] <> 1 then
                raise (ShapeException(sprintf "squeeze: cannot select an axis to squeeze out which has size not equal to one (axis %d of shape %s)" ax (Shape.str dims)))
            Array.append dims.[.. a - 1] dims.[a + 1 ..]

    /// broadcast_to's check: dims must broadcast to exactly shape.
    let checkBroadcastTo (dims: int[]) (shape: int[]) =
        Shape.validate "broadcast_to" shape
        let ok =
            shape.Length >= dims.Length
            && (try Shape.broadcast "broadcast_to" dims shape = shape with :? ShapeException -> false)
        if not ok then
            raise (ShapeException(sprintf "broadcast_to: operands could not be broadcast together with shapes %s %s" (Shape.str dims) (Shape.str shape)))

    /// concatenate's checks (same dtype, same rank, equal dims off the axis); returns the normalised axis.
    let concatAxis (dims: int[][]) (dtypes: DType[]) (axis: int) =
        let d0 = dims.[0]
        if d0.Length = 0 then raise (ShapeException("concatenate: zero-dimensional arrays cannot be concatenated"))
        let a = Shape.normAxis "concatenate" d0.Length axis
        for i in 0 .. dims.Length - 1 do
            let d = dims.[i]
            if dtypes.[i] <> dtypes.[0] then
                invalidArg "xs" (sprintf "concatenate: dtype mismatch between %s (array 0) and %s (array %d)" (DType.name dtypes.[0]) (DType.name dtypes.[i]) i)
            if d.Length <> d0.Length then
                raise (ShapeException(sprintf "concatenate: all the input arrays must have same number of dimensions, but the array at index 0 has shape %s and the array at index %d has shape %s" (Shape.str d0) i (Shape.str d)))
            for k in 0 .. d0.Length - 1 do
                if k <> a && d.[k] <> d0.[k] then
                    raise (ShapeException(sprintf "concatenate: all the input array dimensions except for the concatenation axis must match exactly, but along dimension %d, the array at index 0 has shape %s and the array at index %d has shape %s" k (Shape.str d0) i (Shape.str d)))
        a

    /// stack's check (all shapes equal); returns the normalised new axis.
    let stackAxis (dims: int[][]) (axis: int) =
        dims |> Array.iteri (fun i d ->
            if d <> dims.[0] then
                raise (ShapeException(sprintf "stack: all input arrays must have the same shape, but the array at index 0 has shape %s and the array at index %d has shape %s" (Shape.str dims.[0]) i (Shape.str d))))
        Shape.normAxis "stack" (dims.[0].Length + 1) axis

    /// mask's check: a 1-D Bool mask as long as axis 0.
    let checkMask (dims: int[]) (maskDims: int[]) (maskDType: DType) =
        if maskDType <> Bool then invalidArg "mask" (sprintf "mask: mask must be bool, got %s" (DType.name maskDType))
        if dims.Length = 0 || maskDims.Length <> 1 || maskDims.[0] <> dims.[0] then
            raise (ShapeException(sprintf "mask: a 1-D boolean mask as long as axis 0 (shape (%s,)) selects rows; got a mask of shape %s for a tensor of shape %s (an element-wise mask of the tensor's own shape is not supported: use Where)"
                                    (if dims.Length = 0 then "n" else string dims.[0]) (Shape.str maskDims) (Shape.str dims)))

    /// The contracted length of matmul/dot (last axis of a = first (1-D) or second-to-last axis of b).
    let innerLength (op: string) (a: int[]) (b: int[]) =
        let ka = a.[a.Length - 1]
        let kbDim = if b.Length = 1 then 0 else b.Length - 2
        if ka <> b.[kbDim] then
            raise (ShapeException(sprintf "%s: shapes %s and %s not aligned: %d (dim %d) != %d (dim %d)" op (Shape.str a) (Shape.str b) ka (a.Length - 1) b.[kbDim] kbDim))
        ka

    /// matmul's check: both operands at least 1-D and aligned; returns the contracted length.
    let matmulInner (a: int[]) (b: int[]) =
        if a.Length = 0 || b.Length = 0 then
            raise (ShapeException(sprintf "matmul: input operand does not have enough dimensions (shapes %s and %s)" (Shape.str a) (Shape.str b)))
        innerLength "matmul" a b

    /// matmul's result shape once the promoted axes of 1-D operands are removed (None: keep the product's shape).
    let matmulOut (aRank: int) (bRank: int) (cd: int[]) =
        if aRank > 1 && bRank > 1 then None
        else
            let r = cd.Length
            if aRank = 1 && bRank = 1 then Some [||]
            elif aRank = 1 then Some (Array.append cd.[.. r - 3] [| cd.[r - 1] |])
            else Some cd.[.. r - 2]

    /// dot's permutation of an N-d b (N > 2): the contracted axis first, then the batch axes, then the last axis.
    let dotPermB (r: int) = Array.concat [ [| r - 2 |]; Array.init (r - 2) (fun i -> i); [| r - 1 |] ]
