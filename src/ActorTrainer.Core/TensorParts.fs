namespace ActorTrainer.Core

open System

/// The parts of Tensor's members that need no Tensor (kept here so that Tensor's own file holds all its members).
module internal TensorParts =
    /// Records op's application on every active tape that tracks an input (float outputs only: int/bool results are
    /// not differentiable).
    let record (op: Op) (inputIds: int64[]) (inputs: NDArray[]) (outputId: int64) (output: NDArray) =
        if DType.isFloat output.DType then
            let tapes = TapeStack.active ()
            for k in 0 .. tapes.Count - 1 do
                let tape = tapes.[k]
                if inputIds |> Array.exists tape.Tracks then
                    tape.Record { Op = op; InputIds = inputIds; Inputs = inputs; OutputId = outputId; Output = output }

    /// A float32 matrix as a (rows, cols) array.
    let of2D (data: float32[,]) : NDArray =
        let r, c = Array2D.length1 data, Array2D.length2 data
        NDArray.Raw(Array.init (r * c) (fun i -> data.[i / c, i % c]), [| r; c |])

    /// start, start+step, … (< stop for step > 0, > stop for step < 0) in dtype, shape (ceil((stop-start)/step),).
    let arange (start: float) (stop: float) (step: float) (dtype: DType) : NDArray =
        if step = 0.0 || Double.IsNaN step then invalidArg "step" (sprintf "arange: step must be nonzero, got %g" step)
        let n = max 0 (int (Math.Ceiling((stop - start) / step)))
        Elementwise.cast dtype (NDArray.Raw(Array.init n (fun i -> start + float i * step), [| n |]))

    /// A C# range `a..b` of the first axis as NumPy's `a:b` (`^k` counts from the end; out of range is clamped).
    let ofRange (r: Range) : SliceSpec =
        let s, e = r.Start, r.End
        let start = if not s.IsFromEnd then s.Value elif s.Value = 0 then Int32.MaxValue else -s.Value
        let stop = if not e.IsFromEnd then Nullable e.Value elif e.Value = 0 then Nullable() else Nullable(-e.Value)
        SliceSpec.Range(Nullable start, stop, 1)
