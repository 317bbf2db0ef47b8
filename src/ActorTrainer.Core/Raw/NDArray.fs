namespace ActorTrainer.Core

open System

/// Raw n-d array without autodiff: contiguous row-major storage (float32[]/float[]/int[]/bool[]) and a shape.
/// Immutable by contract: no member mutates the storage, and callers must not mutate `.Storage`.
[<Sealed; AllowNullLiteral>]
type NDArray private (storage: Array, shape: int[], dtype: DType) =
    /// The shape (a copy; length = NDim).
    member _.Shape : int[] = Array.copy shape
    /// The shape without copying (internal hot paths; never mutate).
    member internal _.Dims : int[] = shape
    /// Element type.
    member _.DType = dtype
    /// Rank (number of axes).
    member _.NDim = shape.Length
    /// Number of elements (product of the shape).
    member _.Size = storage.Length
    /// The underlying storage array (no copy; do not mutate).
    member _.Storage : Array = storage
    /// Storage as float32[] (dtype must be Float32).
    member internal _.F32 = storage :?> float32[]
    /// Storage as float[] (dtype must be Float64).
    member internal _.F64 = storage :?> float[]
    /// Storage as int[] (dtype must be Int32).
    member internal _.I32 = storage :?> int[]
    /// Storage as bool[] (dtype must be Bool).
    member internal _.B = storage :?> bool[]

    /// Wraps storage without copying (takes ownership); dtype from the array type; length must equal prod(shape).
    static member Wrap(storage: Array, shape: int[]) : NDArray =
        let dt = DType.ofStorage storage
        Shape.validate "NDArray.Wrap" shape
        let n = Shape.size shape
        if storage.Length <> n then
            raise (ShapeException(sprintf "NDArray.Wrap: storage length %d does not match shape %s (size %d)" storage.Length (Shape.str shape) n))
        NDArray(storage, Array.copy shape, dt)

    /// Internal wrap with no checks and no shape copy (kernel outputs).
    static member internal Raw(storage: Array, shape: int[]) : NDArray =
        NDArray(storage, shape, DType.ofStorage storage)

    /// Copies float32 data into a new array of the given shape.
    static member Create(data: float32[], shape: int[]) = NDArray.Wrap(Array.copy data, shape)
    /// Copies float64 data into a new array of the given shape.
    static member Create(data: float[], shape: int[]) = NDArray.Wrap(Array.copy data, shape)
    /// Copies int32 data into a new array of the given shape.
    static member Create(data: int[], shape: int[]) = NDArray.Wrap(Array.copy data, shape)
    /// Copies bool data into a new array of the given shape.
    static member Create(data: bool[], shape: int[]) = NDArray.Wrap(Array.copy data, shape)

    /// Zero-filled array of the shape and dtype.
    static member Zeros(shape: int[], dtype: DType) =
        Shape.validate "zeros" shape
        NDArray(DType.alloc dtype (Shape.size shape), Array.copy shape, dtype)

    /// Element at a flat (row-major) index, converted to float.
    member _.GetFlat(i: int) : float =
        match storage with
        | :? (float32[]) as a -> float a.[i]
        | :? (float[]) as a -> a.[i]
        | :? (int[]) as a -> float a.[i]
        | :? (bool[]) as a -> if a.[i] then 1.0 else 0.0
        | _ -> nan

    /// Same storage viewed with another shape of equal size (no copy).
    member internal this.WithShape(newShape: int[]) = NDArray(storage, newShape, dtype)
