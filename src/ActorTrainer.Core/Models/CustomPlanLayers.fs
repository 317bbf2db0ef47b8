namespace ActorTrainer.Core

open System

/// The training engine's side of a CustomPlanLayer: copies the engine's rows in and out of the layer's arrays and
/// checks the lengths the layer's code returns, naming the layer.
module internal CustomLayerRows =

    let private check (c: CustomPlanLayer) (what: string) (got: float32[]) (want: int) =
        if isNull got || got.Length <> want then
            raise (ShapeException(sprintf "%s: %s returned %s values, expected %d" (string c) what
                                      (if isNull got then "no" else string got.Length) want))

    /// y (rows × OutputDim) ← the layer's forward pass on x (rows × InputDim).
    let forward (c: CustomPlanLayer) (weights: float32[][]) (x: ReadOnlySpan<float32>) (y: Span<float32>) (rows: int) (training: bool) =
        if rows > 0 then
            let out = c.Forward(weights, x.Slice(0, rows * c.InputDim).ToArray(), rows, training)
            check c "Forward" out (rows * c.OutputDim)
            ReadOnlySpan<float32>(out).CopyTo y

    /// grads ← ∂L/∂weights and dx ← ∂L/∂x (skipped when empty) from dy = ∂L/∂y, in training mode.
    let backward (c: CustomPlanLayer) (weights: float32[][]) (x: ReadOnlySpan<float32>) (dy: ReadOnlySpan<float32>)
                 (grads: float32[][]) (dx: Span<float32>) (rows: int) =
        if rows = 0 then
            for g in grads do Array.Clear g
        else
            let d = c.Backward(weights, x.Slice(0, rows * c.InputDim).ToArray(), dy.Slice(0, rows * c.OutputDim).ToArray(), rows, true, grads)
            if not dx.IsEmpty then
                check c "Backward" d (rows * c.InputDim)
                ReadOnlySpan<float32>(d).CopyTo dx

/// One training forward pass of a TapePlanLayer, recorded for the backward pass that follows it on the same thread.
[<NoEquality; NoComparison>]
type private RecordedCall =
    { Weights: float32[][]; X: float32[]; Rows: int; Tape: GradientTape; Xt: Tensor; Y: Tensor; Values: Tensor[] }

/// A layer's own differentiable Call run for the training engine: the forward pass is Call on the engine's rows
/// (reshaped to (rows, inputShape)) with the layer's variables reading the engine's weights. In training the forward
/// pass records Call on a GradientTape, and the backward pass that follows it (same thread, same weight arrays, the
/// same rows bit for bit) differentiates that record: Call runs once per training step, and a Call that draws random
/// numbers gets the gradient of the sample it drew. A backward pass without a matching record on its thread (called
/// on its own, or for other rows or weights) records Call again.
/// What Sequential plans for a layer that does not override Plan (a user-defined layer, from F# or C#).
[<Sealed>]
type TapePlanLayer(name: string, inputShape: int[], outputShape: int[], variables: Variable[], call: Func<Tensor, bool, Tensor>) =
    inherit CustomPlanLayer()
    do if isNull call then raise (ArgumentNullException("call"))
    let variables = if isNull variables then [||] else Array.copy variables
    let inDim = Array.fold (*) 1 inputShape
    let outDim = Array.fold (*) 1 outputShape
    let shapes = variables |> Array.map (fun v -> Array.copy v.Shape)
    // the training forward pass on each thread, awaiting its backward pass (engines run shards on several threads)
    let recorded = new System.Threading.ThreadLocal<RecordedCall option>(fun () -> None)

    // trainable variables read on a recording tape are watched by Value (a non-trainable one gets a zero gradient)
    let run (weights: float32[][]) (x: Tensor) (training: bool) =
        if weights.Length <> shapes.Length then
            raise (ArgumentException(sprintf "layer '%s': %d weight arrays given for %d variables" name weights.Length shapes.Length))
        let values = Array.init shapes.Length (fun k -> Tensor.FromArray(weights.[k], shapes.[k]))
        let y = Variable.RunWith(variables, values, fun () -> call.Invoke(x, training))
        let rows = x.Shape.[0]
        if isNull y || y.Shape <> Array.append [| rows |] outputShape then
            raise (ShapeException(sprintf "layer '%s': Call returned shape %s for input shape %s, but ComputeOutputShape says %s"
                                      name (if isNull y then "null" else Shape.str y.Shape) (Shape.str x.Shape)
                                      (Shape.str (Array.append [| rows |] outputShape))))
        y, values

    /// Call on a tape watching x and the weights (the tape stops recording before this returns).
    let record (weights: float32[][]) (x: float32[]) (rows: int) =
        let tape = new GradientTape()
        let xt = Tensor.FromArray(x, Array.append [| rows |] inputShape)
        tape.Watch xt
        let y, values = try run weights xt true finally tape.Dispose()
        { Weights = Array.copy weights; X = x; Rows = rows; Tape = tape; Xt = xt; Y = y; Values = values }

    /// The recorded forward pass of these weights and rows on this thread (taken: it serves one backward pass).
    let take (weights: float32[][]) (x: float32[]) (rows: int) =
        let r = recorded.Value
        recorded.Value <- None
        match r with
        | Some c when c.Rows = rows && c.Weights.Length = weights.Length
                      && Array.forall2 (fun a b -> Object.ReferenceEquals(a, b)) c.Weights weights
                      && MemoryExtensions.SequenceEqual(Runtime.InteropServices.MemoryMarshal.Cast<float32, int>(ReadOnlySpan<float32>(c.X, 0, rows * inDim)),
                                                         Runtime.InteropServices.MemoryMarshal.Cast<float32, int>(ReadOnlySpan<float32>(x, 0, rows * inDim))) -> c
        | _ -> record weights x rows

    /// The layer's name.
    member _.Name = name
    override _.InputDim = inDim
    override _.OutputDim = outDim
    override _.WeightShapes = shapes |> Array.map Array.copy
    override _.Forward(weights, x, rows, training) =
        if training then
            let c = record weights x rows
            recorded.Value <- Some c
            c.Y.ToFloat32Array()
        else
            let y, _ = run weights (Tensor.FromArray(x, Array.append [| rows |] inputShape)) training
            y.ToFloat32Array()
    override _.Backward(weights, x, dy, rows, _training, grads) =
        let c = take weights x rows
        let g = c.Tape.Gradient(c.Y, Array.append [| c.Xt |] c.Values, Tensor.FromArray(dy, c.Y.Shape))
        for k in 0 .. c.Values.Length - 1 do
            let gk = g.[k + 1].ToFloat32Array()
            Array.Copy(gk, grads.[k], gk.Length)
        g.[0].ToFloat32Array()
    override _.ToString() = sprintf "layer '%s' (its own Call)" name
