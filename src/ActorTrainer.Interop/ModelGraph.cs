namespace ActorTrainer.Interop;

/// <summary>A named float32 tensor, row-major: Data.Length == product(Shape) (an empty Shape is a scalar with one element).</summary>
public sealed record NamedTensor(string Name, int[] Shape, float[] Data);

/// <summary>One layer of a neutral (framework-independent) sequential model description: a plain data carrier with no
/// behaviour of its own. ActorTrainer fills these in one place (<c>Onnx.ToLayerSpec</c>, ModelExport.cs) from the
/// model's layers; activation names are Core's (linear, relu, sigmoid, tanh, softmax).</summary>
public abstract record LayerSpec(string Name);

/// <summary>Dense layer: y = activation(x · Kernel + Bias); Kernel is [InputDim, Units] row-major, Bias is [Units] or null (no bias).</summary>
public sealed record DenseSpec(string Name, int InputDim, int Units, float[] Kernel, float[]? Bias, string Activation) : LayerSpec(Name);

/// <summary>Flatten layer: [N, d1, …, dk] → [N, d1·…·dk].</summary>
public sealed record FlattenSpec(string Name) : LayerSpec(Name);

/// <summary>Dropout layer with drop probability Rate in [0, 1); identity at inference (omitted by exporters).</summary>
public sealed record DropoutSpec(string Name, double Rate) : LayerSpec(Name);

/// <summary>Standalone activation layer: y = activation(x), elementwise (softmax over the last axis).</summary>
public sealed record ActivationSpec(string Name, string Activation) : LayerSpec(Name);

/// <summary>A sequential model: InputShape excludes the batch dimension (e.g. [784] or [28, 28]); Layers run in order.</summary>
public sealed record ModelGraph(string Name, int[] InputShape, IReadOnlyList<LayerSpec> Layers);
