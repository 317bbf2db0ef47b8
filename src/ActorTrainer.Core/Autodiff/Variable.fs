namespace ActorTrainer.Core

open System
open System.Runtime.InteropServices

/// Mutable holder of a tensor (TF tf.Variable): reading `.Value` while a GradientTape is active auto-watches it
/// when trainable; Assign/AssignAdd/AssignSub require the same shape and dtype.
[<Sealed; AllowNullLiteral>]
type Variable(init: Tensor, [<Optional; DefaultParameterValue("Variable")>] name: string,
              [<Optional; DefaultParameterValue(true)>] trainable: bool) =
    do if isNull init then raise (ArgumentNullException("init"))
    let name = if isNull name then "Variable" else name
    let mutable current = Tensor.OfNDArray init.Value
    // `current` may be referenced outside this variable (the init tensor, values handed out by Value): then its
    // storage must not be written in place, and Borrow copies it first.
    let mutable shared = true
    // while fit trains the variable its storage is written in place (Borrow/Return); Value then returns copies
    let mutable lent = false

    let check (op: string) (t: Tensor) =
        if isNull t then raise (ArgumentNullException("t", sprintf "%s: value for variable '%s' is null" op name))
        if t.Value.Dims <> current.Value.Dims then
            raise (ShapeException(sprintf "%s: variable '%s' has shape %s but the value has shape %s" op name (Shape.str current.Value.Dims) (Shape.str t.Value.Dims)))
        if t.DType <> current.DType then
            invalidArg "t" (sprintf "%s: variable '%s' has dtype %s but the value has dtype %s" op name (DType.name current.DType) (DType.name t.DType))

    // replaces the value: written into the lent storage while fit trains it, else a new value
    let set (nd: NDArray) =
        if lent then Array.Copy(nd.Storage, current.Value.Storage, nd.Size)
        else
            current <- Tensor.OfNDArray nd
            shared <- true

    [<ThreadStatic; DefaultValue>] static val mutable private substitutes : Collections.Generic.Dictionary<Variable, Tensor>

    /// The current value; watched on every active tape when trainable. While fit trains the variable, a copy of
    /// the value at this moment.
    member this.Value : Tensor =
        let v =
            match Variable.Substitute this with
            | null ->
                let v = if lent then Tensor.OfNDArray(NDArray.Wrap(Array.copy current.Value.F32, current.Value.Shape)) else current
                if not lent then shared <- true
                v
            | t -> t
        if trainable then
            let tapes = TapeStack.active ()
            for k in 0 .. tapes.Count - 1 do tapes.[k].Watch v.Id
        v
    /// The current value without watching.
    member internal _.Current = current
    /// Replaces the value (same shape and dtype).
    member _.Assign(t: Tensor) =
        check "assign" t
        set t.Value
    /// value ← value + t (same shape and dtype).
    member _.AssignAdd(t: Tensor) =
        check "assign_add" t
        set (Elementwise.binary Add current.Value t.Value)
    /// value ← value - t (same shape and dtype).
    member _.AssignSub(t: Tensor) =
        check "assign_sub" t
        set (Elementwise.binary Sub current.Value t.Value)

    /// The float32 storage of the value, lent to fit, which updates it in place (the one home of the weights: the
    /// engine, the parameter server and checkpoints use it without copying). Copied once first when the current
    /// value is referenced elsewhere, so tensors read before never change. Until Return, Value returns copies.
    member _.Borrow() : float32[] =
        if lent then invalidOp (sprintf "variable '%s' is already being trained (one fit at a time)" name)
        if current.DType <> Float32 then
            invalidOp (sprintf "variable '%s' is %s; training updates float32 variables" name (DType.name current.DType))
        if shared then
            current <- Tensor.OfNDArray(NDArray.Wrap(Array.copy current.Value.F32, current.Value.Shape))
            shared <- false
        lent <- true
        current.Value.F32
    /// Ends a Borrow: the storage, as fit left it, is the value again.
    member _.Return() = lent <- false
    /// True while fit trains this variable (between Borrow and Return).
    member _.IsLent = lent
    /// Name given at construction (default "Variable").
    member _.Name = name
    /// Whether tapes auto-watch it.
    member _.Trainable = trainable
    /// Shape of the value.
    member _.Shape = current.Shape
    /// dtype of the value.
    member _.DType = current.DType
    /// The value `Value` returns on this thread instead of the variable's own while RunWith runs (null: none).
    static member private Substitute(v: Variable) : Tensor =
        let m = Variable.substitutes
        if isNull m then null
        else match m.TryGetValue v with
             | true, t -> t
             | _ -> null
    /// Runs f with Value of vars.[k] returning values.[k] on this thread (the training engine runs a user-defined
    /// layer's Call on the weights it was given, which may be other arrays than the variables' own).
    static member internal RunWith(vars: Variable[], values: Tensor[], f: unit -> 'T) : 'T =
        let saved = Variable.substitutes
        let m = Collections.Generic.Dictionary<Variable, Tensor>(HashIdentity.Reference)
        if not (isNull saved) then for kv in saved do m.[kv.Key] <- kv.Value
        for k in 0 .. vars.Length - 1 do m.[vars.[k]] <- values.[k]
        Variable.substitutes <- m
        try f () finally Variable.substitutes <- saved
    // ---------------- arithmetic (TF: `2 * x + 3` with x a Variable) ----------------
    /// The value of an operand (watched as `.Value` is); null is refused.
    static member private Of(v: Variable, arg: string) : Tensor =
        if isNull v then raise (ArgumentNullException(arg, "variable operand is null"))
        v.Value
    /// a + b on the values (broadcast; recorded on the tape as `a.Value + b.Value`).
    static member (+) (a: Variable, b: Variable) : Tensor = Variable.Of(a, "a") + Variable.Of(b, "b")
    /// a + b on a's value (broadcast; as `a.Value + b`).
    static member (+) (a: Variable, b: Tensor) : Tensor = Variable.Of(a, "a") + b
    /// a + b on b's value (broadcast; as `a + b.Value`).
    static member (+) (a: Tensor, b: Variable) : Tensor = a + Variable.Of(b, "b")
    /// a + b with the number b in a's dtype (refused when it cannot hold b exactly; as `a.Value + b`).
    static member (+) (a: Variable, b: float) : Tensor = Variable.Of(a, "a") + b
    /// a + b with the number a in b's dtype (refused when it cannot hold a exactly; as `a + b.Value`).
    static member (+) (a: float, b: Variable) : Tensor = a + Variable.Of(b, "b")
    /// a - b on the values (broadcast; recorded on the tape as `a.Value - b.Value`).
    static member (-) (a: Variable, b: Variable) : Tensor = Variable.Of(a, "a") - Variable.Of(b, "b")
    /// a - b on a's value (broadcast; as `a.Value - b`).
    static member (-) (a: Variable, b: Tensor) : Tensor = Variable.Of(a, "a") - b
    /// a - b on b's value (broadcast; as `a - b.Value`).
    static member (-) (a: Tensor, b: Variable) : Tensor = a - Variable.Of(b, "b")
    /// a - b with the number b in a's dtype (refused when it cannot hold b exactly; as `a.Value - b`).
    static member (-) (a: Variable, b: float) : Tensor = Variable.Of(a, "a") - b
    /// a - b with the number a in b's dtype (refused when it cannot hold a exactly; as `a - b.Value`).
    static member (-) (a: float, b: Variable) : Tensor = a - Variable.Of(b, "b")
    /// a * b on the values (broadcast; recorded on the tape as `a.Value * b.Value`).
    static member (*) (a: Variable, b: Variable) : Tensor = Variable.Of(a, "a") * Variable.Of(b, "b")
    /// a * b on a's value (broadcast; as `a.Value * b`).
    static member (*) (a: Variable, b: Tensor) : Tensor = Variable.Of(a, "a") * b
    /// a * b on b's value (broadcast; as `a * b.Value`).
    static member (*) (a: Tensor, b: Variable) : Tensor = a * Variable.Of(b, "b")
    /// a * b with the number b in a's dtype (refused when it cannot hold b exactly; as `a.Value * b`).
    static member (*) (a: Variable, b: float) : Tensor = Variable.Of(a, "a") * b
    /// a * b with the number a in b's dtype (refused when it cannot hold a exactly; as `a * b.Value`).
    static member (*) (a: float, b: Variable) : Tensor = a * Variable.Of(b, "b")
    /// a / b on the values (broadcast; recorded on the tape as `a.Value / b.Value`).
    static member (/) (a: Variable, b: Variable) : Tensor = Variable.Of(a, "a") / Variable.Of(b, "b")
    /// a / b on a's value (broadcast; as `a.Value / b`).
    static member (/) (a: Variable, b: Tensor) : Tensor = Variable.Of(a, "a") / b
    /// a / b on b's value (broadcast; as `a / b.Value`).
    static member (/) (a: Tensor, b: Variable) : Tensor = a / Variable.Of(b, "b")
    /// a / b with the number b in a's dtype (refused when it cannot hold b exactly; as `a.Value / b`).
    static member (/) (a: Variable, b: float) : Tensor = Variable.Of(a, "a") / b
    /// a / b with the number a in b's dtype (refused when it cannot hold a exactly; as `a / b.Value`).
    static member (/) (a: float, b: Variable) : Tensor = a / Variable.Of(b, "b")
    /// -x on the value (as `-x.Value`).
    static member (~-) (x: Variable) : Tensor = -(Variable.Of(x, "x"))
    /// "Variable 'name' (shape) dtype".
    override _.ToString() = sprintf "Variable '%s' %s %s" name (Shape.str current.Value.Dims) (DType.name current.DType)
