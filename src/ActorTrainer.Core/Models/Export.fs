namespace ActorTrainer.Core

open System
open ActorTrainer.Interop

/// ONNX export of Sequential models (Dense, Flatten, Dropout (inference: omitted), Activation).
module Onnx =

    /// The model as the interop layer's neutral graph (weights copied).
    let toGraph (m: Sequential) : ModelGraph =
        if not m.Built then raise (InvalidOperationException(sprintf "export: model '%s' is not built yet" m.Name))
        let mutable shape = m.InputShape
        let specs = ResizeArray<LayerSpec>()
        for l in m.Layers do
            match l with
            | :? Dense as d ->
                let w = d.Kernel.Value
                specs.Add(DenseSpec(d.Name, w.Shape.[0], d.Units, w.ToFloat32Array(),
                                    (if d.UseBias then d.Bias.Value.ToFloat32Array() else null), d.Activation.Name))
            | :? Flatten -> specs.Add(FlattenSpec(l.Name))
            | :? Dropout as dr -> specs.Add(DropoutSpec(l.Name, dr.Rate))
            | :? ActivationLayer -> specs.Add(ActivationSpec(l.Name, l.OutputActivation.Name))
            | other -> raise (NotSupportedException(sprintf "export: layer '%s' of class %s has no ONNX form" other.Name other.ClassName))
            shape <- l.ComputeOutputShape shape
        ModelGraph(m.Name, Array.copy m.InputShape, specs)

    /// Writes an ONNX (opset 13) file that ONNX Runtime can run: input "input" [N, ...input shape].
    let export (m: Sequential) (path: string) = OnnxExporter.Export(path, toGraph m)
