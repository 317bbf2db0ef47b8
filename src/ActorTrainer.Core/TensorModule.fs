namespace ActorTrainer.Core.FSharp

open ActorTrainer.Core

/// The F# face of ActorTrainer.Core: curried, lowercase functions (`T.relu x`, `Autodiff.grad f x`,
/// `Mnist.loadBundled ()`) in this namespace, which F# code referencing the assembly opens automatically; C# code never
/// imports it and calls the PascalCase members of ActorTrainer.Core instead (`Tensor.Relu(x)`, `Autodiff.Grad(f, x)`).
module internal FSharpFace =
    [<assembly: AutoOpen("ActorTrainer.Core.FSharp")>]
    do ()

/// NumPy-style lowercase curried functions over Tensor (`T.relu x`, `T.dot a b`, `T.sumAxes [|0|] false x`).
[<RequireQualifiedAccess>]
module T =
    /// Float32 tensor from data with a shape.
    let ofArray (shape: int[]) (data: float32[]) = Tensor.FromArray(data, shape)
    /// Float64 tensor from data with a shape.
    let ofArray64 (shape: int[]) (data: float[]) = Tensor.FromArray(data, shape)
    /// Int32 tensor from data with a shape.
    let ofInts (shape: int[]) (data: int[]) = Tensor.FromArray(data, shape)
    /// Rank-0 float32 tensor.
    let scalar (v: float) = Tensor.Scalar v
    /// Float32 zeros.
    let zeros (shape: int[]) = Tensor.Zeros shape
    /// Float32 ones.
    let ones (shape: int[]) = Tensor.Ones shape
    /// Float32 tensor filled with v.
    let full (shape: int[]) (v: float) = Tensor.Full(shape, v)
    /// [0..n-1] float32.
    let arange (n: int) = Tensor.Arange n
    /// Seeded uniform [low, high) float32.
    let randomUniform (shape: int[]) (low: float) (high: float) (seed: int) = Tensor.RandomUniform(shape, low, high, seed)
    /// Seeded normal N(mean, std²) float32.
    let randomNormal (shape: int[]) (mean: float) (std: float) (seed: int) = Tensor.RandomNormal(shape, mean, std, seed)
    /// Shape of x.
    let shape (x: Tensor) = x.Shape
    /// dtype conversion.
    let astype (dt: DType) (x: Tensor) = x.AsType dt
    /// Values as float32[].
    let toArray (x: Tensor) = x.ToFloat32Array()
    /// The single value of a size-1 tensor.
    let item (x: Tensor) = x.ToScalar()

    /// a + b.
    let add a b = Tensor.Add(a, b)
    /// a - b.
    let sub a b = Tensor.Sub(a, b)
    /// a * b.
    let mul a b = Tensor.Mul(a, b)
    /// a / b.
    let div a b = Tensor.Div(a, b)
    /// -x.
    let neg x = Tensor.Neg x
    /// max(x, 0).
    let relu x = Tensor.Relu x
    /// eˣ.
    let exp x = Tensor.Exp x
    /// ln x.
    let log x = Tensor.Log x
    /// √x.
    let sqrt x = Tensor.Sqrt x
    /// x².
    let square x = Tensor.Square x
    /// xᵖ (scalar p).
    let pow (p: float) x = Tensor.Pow(x, p)
    /// xʸ (tensor exponent).
    let powT (x: Tensor) (y: Tensor) = Tensor.Pow(x, y)
    /// Elementwise maximum of two tensors, or of a tensor and a float in its dtype (`T.maximum z 0.0` is relu).
    let inline maximum (a: ^a) (b: ^b) : Tensor = ((^a or ^b) : (static member Maximum: ^a * ^b -> Tensor) (a, b))
    /// Elementwise minimum of two tensors, or of a tensor and a float in its dtype (`T.minimum z 1.0`).
    let inline minimum (a: ^a) (b: ^b) : Tensor = ((^a or ^b) : (static member Minimum: ^a * ^b -> Tensor) (a, b))
    /// |x|.
    let abs x = Tensor.Abs x
    /// Logistic sigmoid.
    let sigmoid x = Tensor.Sigmoid x
    /// tanh.
    let tanh x = Tensor.Tanh x
    /// min(max(x, lo), hi).
    let clip (lo: float) (hi: float) x = Tensor.Clip(x, lo, hi)
    /// where(cond, a, b); a or b may be a float, taken in the other branch's dtype.
    let inline where (cond: Tensor) (a: ^a) (b: ^b) : Tensor = ((^a or ^b) : (static member Where: Tensor * ^a * ^b -> Tensor) (cond, a, b))
    /// a == b (Bool).
    let equal a b = Tensor.Equal(a, b)
    /// a != b (Bool).
    let notEqual a b = Tensor.NotEqual(a, b)
    /// a > b (Bool).
    let greater a b = Tensor.Greater(a, b)
    /// a >= b (Bool).
    let greaterEqual a b = Tensor.GreaterEqual(a, b)
    /// a < b (Bool).
    let less a b = Tensor.Less(a, b)
    /// a <= b (Bool).
    let lessEqual a b = Tensor.LessEqual(a, b)

    /// NumPy dot.
    let dot a b = Tensor.Dot(a, b)
    /// NumPy matmul.
    let matmul a b = Tensor.MatMul(a, b)
    /// Reverse axes.
    let transpose x = Tensor.Transpose x
    /// Axis permutation.
    let permute (perm: int[]) x = Tensor.Transpose(x, perm)
    /// Reshape (one -1 allowed).
    let reshape (shape: int[]) x = Tensor.Reshape(x, shape)
    /// Insert a size-1 axis.
    let expandDims (axis: int) x = Tensor.ExpandDims(x, axis)
    /// Remove all size-1 axes.
    let squeeze x = Tensor.Squeeze x
    /// Remove one size-1 axis.
    let squeezeAxis (axis: int) x = Tensor.Squeeze(x, axis)
    /// Join along an existing axis.
    let concatenate (axis: int) (xs: Tensor[]) = Tensor.Concatenate(xs, axis)
    /// Join along a new axis.
    let stack (axis: int) (xs: Tensor[]) = Tensor.Stack(xs, axis)
    /// broadcast_to.
    let broadcastTo (shape: int[]) x = Tensor.BroadcastTo(x, shape)
    /// NumPy basic slicing from text.
    let slice (text: string) (x: Tensor) = Tensor.Slice(x, text)
    /// Basic slicing with structured specs.
    let sliceSpecs (specs: SliceSpec[]) (x: Tensor) = Tensor.Slice(x, specs)
    /// Boolean-mask rows (axis 0).
    let mask (m: Tensor) (x: Tensor) = Tensor.Mask(x, m)

    /// Σ of all elements (rank 0).
    let sum x = Tensor.Sum x
    /// Σ over axes.
    let sumAxes (axes: int[]) (keepdims: bool) x = Tensor.Sum(x, axes, keepdims)
    /// Mean of all elements.
    let mean x = Tensor.Mean x
    /// Mean over axes.
    let meanAxes (axes: int[]) (keepdims: bool) x = Tensor.Mean(x, axes, keepdims)
    /// Max of all elements.
    let max x = Tensor.Max x
    /// Max over axes.
    let maxAxes (axes: int[]) (keepdims: bool) x = Tensor.Max(x, axes, keepdims)
    /// Min of all elements.
    let min x = Tensor.Min x
    /// Min over axes.
    let minAxes (axes: int[]) (keepdims: bool) x = Tensor.Min(x, axes, keepdims)
    /// argmax along axis (Int32).
    let argmax (axis: int) x = Tensor.ArgMax(x, axis)
    /// argmin along axis (Int32).
    let argmin (axis: int) x = Tensor.ArgMin(x, axis)
    /// softmax along the last axis.
    let softmax x = Tensor.Softmax x
    /// softmax along an axis.
    let softmaxAxis (axis: int) x = Tensor.Softmax(x, axis)
    /// log-softmax along the last axis.
    let logSoftmax x = Tensor.LogSoftmax x
    /// log-softmax along an axis.
    let logSoftmaxAxis (axis: int) x = Tensor.LogSoftmax(x, axis)
    /// One-hot (float32) of int32 labels.
    let oneHot (depth: int) (labels: Tensor) = Tensor.OneHot(labels, depth)
