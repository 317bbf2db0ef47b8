using ActorTrainer.Interop;

namespace ActorTrainer.Core;

/// <summary>ONNX export of Sequential models (Dense, Flatten, Dropout (inference: omitted), Activation). The interop
/// layer's LayerSpec records are plain data carriers: they are filled here, and only here, from the model's own layers
/// (the objects whose get_config() is config.json and whose variables are model.safetensors), so the export cannot
/// describe a layer differently from the model that trained it.</summary>
public static class Onnx
{
    /// <summary>The data carrier of one built layer: its name, class, Core activation name and weights (copied).
    /// Raises NotSupportedException for a layer class that has no ONNX form.</summary>
    public static LayerSpec ToLayerSpec(Layer layer) => layer switch
    {
        Dense d => new DenseSpec(d.Name, d.Kernel.Value.Shape[0], d.Units, d.Kernel.Value.ToFloat32Array(),
                                 d.UseBias ? d.Bias.Value.ToFloat32Array() : null, d.Activation.Name),
        Flatten => new FlattenSpec(layer.Name),
        Dropout dr => new DropoutSpec(layer.Name, dr.Rate),
        ActivationLayer => new ActivationSpec(layer.Name, layer.OutputActivation.Name),
        _ => throw new NotSupportedException($"export: layer '{layer.Name}' of class {layer.ClassName} has no ONNX form"),
    };

    /// <summary>The model as the interop layer's neutral graph: input shape without the batch axis, one LayerSpec per
    /// layer. Throws InvalidOperationException when the model is not built.</summary>
    public static ModelGraph ToGraph(Sequential model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!model.Built) throw new InvalidOperationException($"export: model '{model.Name}' is not built yet");
        return new ModelGraph(model.Name, (int[])model.InputShape.Clone(), model.Layers.Select(ToLayerSpec).ToArray());
    }

    /// <summary>Writes an ONNX (opset 13) file that ONNX Runtime can run: input "input" [N, ...input shape].</summary>
    public static void Export(Sequential model, string path) => OnnxExporter.Export(path, ToGraph(model));
}
