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

/// A layer's own differentiable Call run for the training engine: the forward pass is Call on the engine's rows
/// (reshaped to (rows, inputShape)) with the layer's variables reading the engine's weights, and the backward pass
/// records Call again on a GradientTape (so Call must give the same result for the same input and weights).
/// What Sequential plans for a layer that does not override Plan (a user-defined layer, from F# or C#).
[<Sealed>]
type TapePlanLayer(name: string, inputShape: int[], outputShape: int[], variables: Variable[], call: Func<Tensor, bool, Tensor>) =
    inherit CustomPlanLayer()
    do if isNull call then raise (ArgumentNullException("call"))
    let variables = if isNull variables then [||] else Array.copy variables
    let inDim = Array.fold (*) 1 inputShape
    let outDim = Array.fold (*) 1 outputShape
    let shapes = variables |> Array.map (fun v -> Array.copy v.Shape)

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

    /// The layer's name.
    member _.Name = name
    override _.InputDim = inDim
    override _.OutputDim = outDim
    override _.WeightShapes = shapes |> Array.map Array.copy
    override _.Forward(weights, x, rows, training) =
        let y, _ = run weights (Tensor.FromArray(x, Array.append [| rows |] inputShape)) training
        y.ToFloat32Array()
    override _.Backward(weights, x, dy, rows, training, grads) =
        use tape = new GradientTape()
        let xt = Tensor.FromArray(x, Array.append [| rows |] inputShape)
        tape.Watch xt
        let y, values = run weights xt training
        let g = tape.Gradient(y * Tensor.FromArray(dy, y.Shape), Array.append [| xt |] values)
        for k in 0 .. values.Length - 1 do
            let gk = g.[k + 1].ToFloat32Array()
            Array.Copy(gk, grads.[k], gk.Length)
        g.[0].ToFloat32Array()
    override _.ToString() = sprintf "layer '%s' (its own Call)" name
