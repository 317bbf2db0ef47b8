namespace ActorTrainer.Core

open System
open System.Collections.Generic

/// The derivative of an Op: (inputs, output, ∂L/∂output, needed) → ∂L/∂input per input, each already un-broadcast to
/// that input's shape; needed.[j] = false says input j's gradient will not be used, so it may be null.
type OpBackward = delegate of inputs: NDArray[] * output: NDArray * outputGradient: NDArray * needed: bool[] -> NDArray[]

/// A differentiable primitive: Forward maps inputs to the output; Backward maps (inputs, output, output-gradient,
/// needed) to one gradient per input, each already un-broadcast to that input's shape; needed.[j] = false says
/// input j's gradient will not be used (it is not watched), so the op may skip it and return null there.
/// F#: `Op("cube", (fun xs -> ...), (fun xs y dy needed -> ...))`; C#: `new Op("cube", xs => ..., (xs, y, dy, needed) => ...)`.
[<Sealed>]
type Op(name: string, forward: Func<NDArray[], NDArray>, backward: OpBackward) =
    do
        if isNull forward then raise (ArgumentNullException("forward"))
        if isNull backward then raise (ArgumentNullException("backward"))
    /// Name of the primitive, for messages.
    member _.Name = name
    /// inputs → output.
    member _.Forward = forward
    /// (inputs, output, ∂L/∂output, needed) → ∂L/∂input per input (input's shape; null where not needed).
    member _.Backward = backward

/// One recorded application of an Op (tensor ids and values), as kept by a tape.
type internal TapeNode =
    { Op: Op
      InputIds: int64[]
      Inputs: NDArray[]
      OutputId: int64
      Output: NDArray }

/// What Tensor.Apply and Variable need from an active gradient tape.
type internal ITapeRecorder =
    /// True if the tape tracks the tensor id (watched or computed from watched tensors).
    abstract Tracks: int64 -> bool
    /// Marks a tensor id as watched.
    abstract Watch: int64 -> unit
    /// Records an op application whose output is then tracked.
    abstract Record: TapeNode -> unit
    /// Marks a tensor id as the result of a gradient computed while this tape recorded (its backward pass is not
    /// recorded): it depends on the given ids this tape tracks. Asking this tape for a gradient through it with
    /// respect to one of them (a higher-order gradient) then fails instead of silently giving 0.
    abstract MarkOpaque: int64 * HashSet<int64> -> unit

/// The thread-local stack of active tapes (innermost last).
module internal TapeStack =
    let private stack = new System.Threading.ThreadLocal<List<ITapeRecorder>>(fun () -> List<ITapeRecorder>())
    /// Active tapes on this thread.
    let active () : List<ITapeRecorder> = stack.Value
    /// Pushes a tape.
    let push (t: ITapeRecorder) = stack.Value.Add t
    /// Removes a tape (wherever it is in the stack).
    let remove (t: ITapeRecorder) = stack.Value.Remove t |> ignore

/// Shared helpers for op derivatives.
module internal OpHelpers =
    /// Row kernel over float32 lanes: reads a, reads and writes b (the CanonicalMath span kernels' shape).
    type Lane32 = delegate of System.ReadOnlySpan<float32> * System.Span<float32> -> unit
    /// Row kernel over float64 lanes: reads a, reads and writes b.
    type Lane64 = delegate of System.ReadOnlySpan<float> * System.Span<float> -> unit

    /// Runs k(a_row, b_row) on each row of width w of a and of a copy of b (cast to a's dtype, same size as a);
    /// returns the written copy, shaped like a. Float32 or float64 (others: ArgumentException naming the op).
    let rowsKernel (name: string) (k32: Lane32) (k64: Lane64) (w: int) (a: NDArray) (b: NDArray) : NDArray =
        let rows = if w = 0 then 0 else a.Size / w
        let b = Elementwise.cast a.DType b
        match a.DType with
        | Float32 ->
            let o = Array.copy b.F32
            for r in 0 .. rows - 1 do k32.Invoke(System.ReadOnlySpan(a.F32, r * w, w), System.Span(o, r * w, w))
            NDArray.Raw(o, Array.copy a.Dims)
        | Float64 ->
            let o = Array.copy b.F64
            for r in 0 .. rows - 1 do k64.Invoke(System.ReadOnlySpan(a.F64, r * w, w), System.Span(o, r * w, w))
            NDArray.Raw(o, Array.copy a.Dims)
        | d -> invalidArg "x" (sprintf "%s: unsupported dtype %s (float32 or float64 required)" name (DType.name d))

    /// Sums g down to `shape` (reverse of NumPy broadcasting): sums leading extra axes and axes where shape has 1.
    let unbroadcast (g: NDArray) (shape: int[]) : NDArray =
        let gd = g.Dims
        if gd = shape then g
        else
            let extra = gd.Length - shape.Length
            if extra < 0 then raise (ShapeException(sprintf "unbroadcast: gradient shape %s has lower rank than input shape %s" (Shape.str gd) (Shape.str shape)))
            let axes = [| for i in 0 .. gd.Length - 1 do if i < extra || (shape.[i - extra] = 1 && gd.[i] <> 1) then i |]
            let s = RawOps.reduce RSum g axes true
            s.WithShape(Array.copy shape)

    /// Zeros shaped like x, in the dtype of g (gradient for a non-differentiable input).
    let zerosLike (x: NDArray) (g: NDArray) = NDArray.Zeros(x.Dims, g.DType)

    /// Builds an Op whose derivative computes every input's gradient (cheap ops).
    let mk (name: string) (fwd: NDArray[] -> NDArray) (bwd: NDArray[] -> NDArray -> NDArray -> NDArray[]) : Op =
        Op(name, Func<_, _>(fwd), OpBackward(fun i o g _ -> bwd i o g))

    /// Builds an Op whose derivative computes only the needed inputs' gradients (expensive ops such as matmul).
    let mkSel (name: string) (fwd: NDArray[] -> NDArray) (bwd: NDArray[] -> NDArray -> NDArray -> bool[] -> NDArray[]) : Op =
        Op(name, Func<_, _>(fwd), OpBackward(fun i o g needed -> bwd i o g needed))
