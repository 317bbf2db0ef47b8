namespace ActorTrainer.Core

/// Element type of an NDArray / Tensor (NumPy dtype names: float32, float64, int32, bool).
type DType =
    /// 32-bit IEEE float (NumPy float32; storage float32[]).
    | Float32
    /// 64-bit IEEE float (NumPy float64; storage float[]).
    | Float64
    /// 32-bit signed integer (NumPy int32; storage int[]).
    | Int32
    /// Boolean (NumPy bool; storage bool[]).
    | Bool
    /// NumPy name of the dtype ("float32", "float64", "int32", "bool").
    member d.Name =
        match d with
        | Float32 -> "float32"
        | Float64 -> "float64"
        | Int32 -> "int32"
        | Bool -> "bool"
    /// The NumPy name (DType.Name), so `$"{t.DType}"` prints "float32" as NumPy's `str(x.dtype)` does.
    override d.ToString() = d.Name

/// Helpers on DType: names, float test, dtype of a storage array.
module internal DType =
    /// NumPy name of the dtype (DType.Name).
    let name (d: DType) = d.Name

    /// True for Float32 and Float64.
    let isFloat (d: DType) = (d = Float32 || d = Float64)

    /// dtype of a storage array (float32[], float[], int[], bool[]); other array types are rejected.
    let ofStorage (a: System.Array) : DType =
        match a with
        | :? (float32[]) -> Float32
        | :? (float[]) -> Float64
        | :? (int[]) -> Int32
        | :? (bool[]) -> Bool
        | null -> raise (System.ArgumentNullException("storage"))
        | _ -> invalidArg "storage" (sprintf "unsupported storage array type %s (expected float32[], float[], int[] or bool[])" (a.GetType().Name))

    /// A new zero-filled storage array of the dtype and length.
    let alloc (d: DType) (n: int) : System.Array =
        match d with
        | Float32 -> box (Array.zeroCreate<float32> n) :?> System.Array
        | Float64 -> box (Array.zeroCreate<float> n) :?> System.Array
        | Int32 -> box (Array.zeroCreate<int> n) :?> System.Array
        | Bool -> box (Array.zeroCreate<bool> n) :?> System.Array
