namespace ActorTrainer.Interop;

/// <summary>A named float32 tensor, row-major: Data.Length == product(Shape) (an empty Shape is a scalar with one element).</summary>
/// <param name="Name">The tensor's name (e.g. "dense/kernel").</param>
/// <param name="Shape">Its dimensions; empty for a scalar.</param>
/// <param name="Data">The values, product(Shape) float32, row-major.</param>
public sealed record NamedTensor(string Name, int[] Shape, float[] Data);

/// <summary>One layer of a neutral (framework-independent) sequential model description: a plain data carrier with no
/// behaviour of its own. ActorTrainer fills these in one place (<c>Onnx.ToLayerSpec</c>, ModelExport.cs) from the
/// model's layers; activation names are Core's (linear, relu, sigmoid, tanh, softmax).</summary>
/// <param name="Name">The layer's name (Keras <c>name</c>, e.g. "dense_1").</param>
public abstract record LayerSpec(string Name);

/// <summary>Dense layer: y = activation(x · Kernel + Bias); Kernel is [InputDim, Units] row-major, Bias is [Units] or null (no bias).</summary>
/// <param name="Name">The layer's name.</param>
/// <param name="InputDim">Values per input sample.</param>
/// <param name="Units">Values per output sample (Keras <c>units</c>).</param>
/// <param name="Kernel">W, (InputDim × Units) float32, row-major.</param>
/// <param name="Bias">b, (Units) float32, or null for no bias.</param>
/// <param name="Activation">Activation name: linear, relu, sigmoid, tanh or softmax.</param>
public sealed record DenseSpec(string Name, int InputDim, int Units, float[] Kernel, float[]? Bias, string Activation) : LayerSpec(Name);

/// <summary>Flatten layer: [N, d1, …, dk] → [N, d1·…·dk].</summary>
/// <param name="Name">The layer's name.</param>
public sealed record FlattenSpec(string Name) : LayerSpec(Name);

/// <summary>Dropout layer with drop probability Rate in [0, 1); identity at inference (omitted by exporters).</summary>
/// <param name="Name">The layer's name.</param>
/// <param name="Rate">Fraction of the inputs dropped in training, in [0, 1) (Keras <c>rate</c>).</param>
public sealed record DropoutSpec(string Name, double Rate) : LayerSpec(Name);

/// <summary>Standalone activation layer: y = activation(x), elementwise (softmax over the last axis).</summary>
/// <param name="Name">The layer's name.</param>
/// <param name="Activation">Activation name: linear, relu, sigmoid, tanh or softmax.</param>
public sealed record ActivationSpec(string Name, string Activation) : LayerSpec(Name);

/// <summary>A sequential model: InputShape excludes the batch dimension (e.g. [784] or [28, 28]); Layers run in order.</summary>
/// <param name="Name">The model's name.</param>
/// <param name="InputShape">Shape of one input sample, without the batch dimension (e.g. [784] or [28, 28]).</param>
/// <param name="Layers">The layers, in the order they run.</param>
public sealed record ModelGraph(string Name, int[] InputShape, IReadOnlyList<LayerSpec> Layers);
