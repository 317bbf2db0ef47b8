namespace ActorTrainer.Core

open System
open ActorTrainer.Interop

/// ONNX export of Sequential models (Dense, Flatten, Dropout (inference: omitted), Activation). The interop layer's
/// LayerSpec records are plain data carriers: they are filled here, and only here, from the model's own layers (the
/// objects whose get_config() is config.json and whose variables are model.safetensors), so the export cannot
/// describe a layer differently from the model that trained it.
module Onnx =

    /// The data carrier of one built layer: its name, class, Core activation name and weights (copied).
    /// Raises NotSupportedException for a layer class that has no ONNX form.
    let layerSpec (l: Layer) : LayerSpec =
        match l with
        | :? Dense as d ->
            let w = d.Kernel.Value
            DenseSpec(d.Name, w.Shape.[0], d.Units, w.ToFloat32Array(),
                      (if d.UseBias then d.Bias.Value.ToFloat32Array() else null), d.Activation.Name)
        | :? Flatten -> FlattenSpec(l.Name)
        | :? Dropout as dr -> DropoutSpec(l.Name, dr.Rate)
        | :? ActivationLayer -> ActivationSpec(l.Name, l.OutputActivation.Name)
        | other -> raise (NotSupportedException(sprintf "export: layer '%s' of class %s has no ONNX form" other.Name other.ClassName))

    /// The model as the interop layer's neutral graph: input shape without the batch axis, one LayerSpec per layer.
    let toGraph (m: Sequential) : ModelGraph =
        if not m.Built then raise (InvalidOperationException(sprintf "export: model '%s' is not built yet" m.Name))
        ModelGraph(m.Name, Array.copy m.InputShape, m.Layers |> Seq.map layerSpec |> Array.ofSeq)

    /// Writes an ONNX (opset 13) file that ONNX Runtime can run: input "input" [N, ...input shape].
    let export (m: Sequential) (path: string) = OnnxExporter.Export(path, toGraph m)
