namespace ActorTrainer.Core

open System

/// Mutable holder of a tensor (TF tf.Variable): reading `.Value` while a GradientTape is active auto-watches it
/// when trainable; Assign/AssignAdd/AssignSub require the same shape and dtype.
[<Sealed; AllowNullLiteral>]
type Variable(init: Tensor, ?name: string, ?trainable: bool) =
    do if isNull init then raise (ArgumentNullException("init"))
    let name = defaultArg name "Variable"
    let trainable = defaultArg trainable true
    let mutable current = Tensor.OfNDArray init.Value

    let check (op: string) (t: Tensor) =
        if isNull t then raise (ArgumentNullException("t", sprintf "%s: value for variable '%s' is null" op name))
        if t.Value.Dims <> current.Value.Dims then
            raise (ShapeException(sprintf "%s: variable '%s' has shape %s but the value has shape %s" op name (Shape.str current.Value.Dims) (Shape.str t.Value.Dims)))
        if t.DType <> current.DType then
            invalidArg "t" (sprintf "%s: variable '%s' has dtype %s but the value has dtype %s" op name (DType.name current.DType) (DType.name t.DType))

    /// The current value; watched on every active tape when trainable.
    member _.Value : Tensor =
        if trainable then
            let tapes = TapeStack.active ()
            for k in 0 .. tapes.Count - 1 do tapes.[k].Watch current.Id
        current
    /// The current value without watching.
    member internal _.Current = current
    /// Replaces the value (same shape and dtype).
    member _.Assign(t: Tensor) =
        check "assign" t
        current <- Tensor.OfNDArray t.Value
    /// value ← value + t (same shape and dtype).
    member _.AssignAdd(t: Tensor) =
        check "assign_add" t
        current <- Tensor.OfNDArray(Elementwise.binary Add current.Value t.Value)
    /// value ← value - t (same shape and dtype).
    member _.AssignSub(t: Tensor) =
        check "assign_sub" t
        current <- Tensor.OfNDArray(Elementwise.binary Sub current.Value t.Value)
    /// Name given at construction (default "Variable").
    member _.Name = name
    /// Whether tapes auto-watch it.
    member _.Trainable = trainable
    /// Shape of the value.
    member _.Shape = current.Shape
    /// dtype of the value.
    member _.DType = current.DType
    /// "Variable 'name' (shape) dtype".
    override _.ToString() = sprintf "Variable '%s' %s %s" name (Shape.str current.Value.Dims) (DType.name current.DType)
