namespace ActorTrainer.Core

open System
open System.Numerics.Tensors
open ActorTrainer.Kernels

/// Keras activation functions by name: linear, relu, sigmoid, tanh, softmax.
[<RequireQualifiedAccess>]
type Activation =
    /// y = x (Keras "linear", also for no activation).
    | Linear
    /// y = max(x, 0) (Keras "relu").
    | Relu
    /// y = 1/(1 + e⁻ˣ) (Keras "sigmoid").
    | Sigmoid
    /// y = tanh x (Keras "tanh").
    | Tanh
    /// y = eˣ/Σeˣ along the last axis, max-subtracted for stability (Keras "softmax").
    | Softmax

    /// Keras name ("linear", "relu", "sigmoid", "tanh", "softmax").
    member a.Name =
        match a with
        | Linear -> "linear" | Relu -> "relu" | Sigmoid -> "sigmoid" | Tanh -> "tanh" | Softmax -> "softmax"

    override a.ToString() = a.Name

    /// All supported names, for error messages.
    static member Names = [| "linear"; "relu"; "sigmoid"; "tanh"; "softmax" |]

    /// Parses a Keras activation name (case-insensitive; null/""/"none" = linear). Unknown names throw, listing the allowed ones.
    static member Parse(name: string) =
        match (if isNull name then "" else name.Trim().ToLowerInvariant()) with
        | "" | "none" | "linear" -> Linear
        | "relu" -> Relu
        | "sigmoid" -> Sigmoid
        | "tanh" -> Tanh
        | "softmax" -> Softmax
        | other ->
            raise (ArgumentException(sprintf "unknown activation '%s' (allowed: %s)" other (String.Join(", ", Activation.Names)), "activation"))

/// Span helpers.
module SpanUtil =
    /// Read-only view of a span.
    let inline ro (s: Span<'T>) : ReadOnlySpan<'T> = Span<'T>.op_Implicit s

/// Raw in-place activation kernels on row-major (rows × width) float32 buffers; used by the training engine.
module internal ActivationKernels =

    /// y = act(z) row-wise (softmax along the last axis, max-subtracted for stability). z and y may alias.
    let forward (act: Activation) (z: ReadOnlySpan<float32>) (y: Span<float32>) (rows: int) (width: int) =
        match act with
        | Activation.Linear -> if not (z.Overlaps y) then z.CopyTo y
        | Activation.Relu -> TensorPrimitives.Max(z, 0.0f, y)
        | Activation.Sigmoid -> CanonicalMath.Map(CanonicalMath.Function.Sigmoid, z, y)
        | Activation.Tanh -> CanonicalMath.Map(CanonicalMath.Function.Tanh, z, y)
        | Activation.Softmax ->
            for r in 0 .. rows - 1 do
                CanonicalMath.Softmax(z.Slice(r * width, width), y.Slice(r * width, width))

    /// g ← g ⊙ act'(z), given the activation output y = act(z) (in place on g). Softmax uses the
    /// Jacobian-vector product y ⊙ (g − Σ g⊙y) per row.
    let backward (act: Activation) (y: ReadOnlySpan<float32>) (g: Span<float32>) (rows: int) (width: int) =
        match act with
        | Activation.Linear -> ()
        | Activation.Relu -> CanonicalMath.ReluBackward(y, g)
        | Activation.Sigmoid -> CanonicalMath.SigmoidBackward(y, g)
        | Activation.Tanh -> CanonicalMath.TanhBackward(y, g)
        | Activation.Softmax ->
            for r in 0 .. rows - 1 do
                CanonicalMath.SoftmaxBackward(y.Slice(r * width, width), g.Slice(r * width, width))
