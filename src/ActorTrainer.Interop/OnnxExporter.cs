using System.Runtime.InteropServices;

namespace ActorTrainer.Interop;

/// <summary>
/// Exports a <see cref="ModelGraph"/> as an ONNX model (IR version 8, default-domain opset 13), hand-encoded protobuf.
/// Input "input": float [N, ...InputShape] with symbolic batch "N"; output "probabilities" when the last activation is
/// softmax, else "output". Flatten → Flatten(axis=1); Dense → MatMul (+ Add); activations → Relu/Sigmoid/Tanh/Softmax(axis=-1);
/// Dropout is omitted (inference).
/// </summary>
public static class OnnxExporter
{
    /// <summary>ONNX IR version written into ModelProto.ir_version.</summary>
    public const long IrVersion = 8;

    /// <summary>Default-domain operator set version written into ModelProto.opset_import.</summary>
    public const long OpsetVersion = 13;

    /// <summary>Name of the graph input.</summary>
    public const string InputName = "input";

    // onnx.proto TensorProto.DataType.FLOAT, AttributeProto.AttributeType.INT.
    private const int ElemFloat = 1;
    private const int AttrInt = 2;

    private sealed record Node(string OpType, string Name, string[] Inputs, string Output, (string Name, long Value)? IntAttr = null);

    private sealed record Initializer(string Name, int[] Dims, float[] Data);

    /// <summary>Writes <paramref name="graph"/> as an ONNX model file at <paramref name="path"/> atomically.</summary>
    public static void Export(string path, ModelGraph graph)
    {
        var bytes = ToBytes(graph);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>Encodes <paramref name="graph"/> as serialized ONNX ModelProto bytes; throws ArgumentException naming the bad layer.</summary>
    public static byte[] ToBytes(ModelGraph graph)
    {
        CheckGraph(graph);
        var nodes = new List<Node>();
        var inits = new List<Initializer>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var shape = (int[])graph.InputShape.Clone();
        var current = InputName;
        var lastActivation = "linear";

        for (var li = 0; li < graph.Layers.Count; li++)
        {
            var layer = CheckLayer(graph, li, names);
            string Where() => $"layer '{layer.Name}' (#{li}, {layer.GetType().Name})";

            switch (layer)
            {
                case FlattenSpec:
                {
                    var outName = $"{layer.Name}/Flatten:0";
                    nodes.Add(new Node("Flatten", $"{layer.Name}/Flatten", [current], outName, ("axis", 1)));
                    current = outName;
                    shape = [Product(shape, Where)];
                    break;
                }
                case DropoutSpec dropout:
                    if (!(dropout.Rate >= 0.0 && dropout.Rate < 1.0))
                        throw new ArgumentException($"{Where()}: dropout rate {dropout.Rate} is not in [0, 1).", nameof(graph));
                    break;
                case DenseSpec dense:
                    lastActivation = AddDense(nodes, inits, dense, ref shape, ref current, Where);
                    break;
                case ActivationSpec activation:
                {
                    var act = NormalizeActivation(activation.Activation, Where);
                    current = AddActivation(nodes, layer.Name, act, current);
                    lastActivation = act;
                    break;
                }
                default:
                    throw new ArgumentException($"{Where()}: unsupported layer type.", nameof(graph));
            }
        }

        var outputName = lastActivation == "softmax" ? "probabilities" : "output";
        if (nodes.Count == 0)
            nodes.Add(new Node("Identity", "Identity", [InputName], outputName));
        else
            nodes[^1] = nodes[^1] with { Output = outputName };

        return WriteModel(graph, nodes, inits, shape, outputName);
    }

    /// <summary>Throws naming the model when the graph, its layer list or its input shape (non-empty, all positive) is bad.</summary>
    private static void CheckGraph(ModelGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(graph.Layers, "graph.Layers");
        if (graph.InputShape is null || graph.InputShape.Length == 0)
            throw new ArgumentException($"Model '{graph.Name}' InputShape must have at least one dimension.", nameof(graph));
        foreach (var d in graph.InputShape)
            if (d <= 0)
                throw new ArgumentException($"Model '{graph.Name}' InputShape [{string.Join(", ", graph.InputShape)}] must be all positive.", nameof(graph));
    }

    /// <summary>Layer #<paramref name="li"/>, after checking it is not null and has a non-empty name not used before.</summary>
    private static LayerSpec CheckLayer(ModelGraph graph, int li, HashSet<string> names)
    {
        var layer = graph.Layers[li] ?? throw new ArgumentException($"Model '{graph.Name}' layer #{li} is null.", nameof(graph));
        if (string.IsNullOrWhiteSpace(layer.Name))
            throw new ArgumentException($"Model '{graph.Name}' layer #{li} ({layer.GetType().Name}) has an empty name.", nameof(graph));
        if (!names.Add(layer.Name))
            throw new ArgumentException($"Model '{graph.Name}' has duplicate layer name '{layer.Name}' (layer #{li}).", nameof(graph));
        return layer;
    }

    /// <summary>ModelProto bytes: IR version, producer, the graph, and the default-domain opset import.</summary>
    private static byte[] WriteModel(ModelGraph graph, List<Node> nodes, List<Initializer> inits, int[] outShape, string outputName)
    {
        var w = new ProtoWriter();
        w.Int64(1, IrVersion);                                  // ModelProto.ir_version
        w.String(2, "ActorTrainer");                            // ModelProto.producer_name
        w.String(3, "1.0");                                     // ModelProto.producer_version
        w.Message(7, g => WriteGraph(g, graph, nodes, inits, outShape, outputName)); // ModelProto.graph
        w.Message(8, o =>                                       // ModelProto.opset_import
        {
            o.String(1, "");                                    // OperatorSetIdProto.domain
            o.Int64(2, OpsetVersion);                           // OperatorSetIdProto.version
        });
        return w.ToArray();
    }

    /// <summary>Dense → MatMul (+ Add) (+ activation), after checking the kernel [InputDim, Units] and bias [Units]
    /// against the incoming shape; updates <paramref name="shape"/> and <paramref name="current"/>, returns the activation.</summary>
    private static string AddDense(List<Node> nodes, List<Initializer> inits, DenseSpec dense, ref int[] shape, ref string current, Func<string> Where)
    {
        var act = NormalizeActivation(dense.Activation, Where);
        var last = shape[^1];
        if (dense.InputDim != last)
            throw new ArgumentException($"{Where()}: InputDim {dense.InputDim} does not match the previous output shape [N, {string.Join(", ", shape)}] (last dim {last}).", "graph");
        if (dense.Units <= 0)
            throw new ArgumentException($"{Where()}: Units {dense.Units} must be positive.", "graph");
        if (dense.Kernel is null || dense.Kernel.Length != (long)dense.InputDim * dense.Units)
            throw new ArgumentException($"{Where()}: kernel length {dense.Kernel?.Length.ToString() ?? "null"} != InputDim·Units = {dense.InputDim}·{dense.Units} = {(long)dense.InputDim * dense.Units}.", "graph");
        if (dense.Bias is not null && dense.Bias.Length != dense.Units)
            throw new ArgumentException($"{Where()}: bias length {dense.Bias.Length} != Units {dense.Units}.", "graph");

        var kernelName = $"{dense.Name}/kernel";
        inits.Add(new Initializer(kernelName, [dense.InputDim, dense.Units], dense.Kernel));
        var mm = $"{dense.Name}/MatMul:0";
        nodes.Add(new Node("MatMul", $"{dense.Name}/MatMul", [current, kernelName], mm));
        current = mm;
        if (dense.Bias is not null)
        {
            var biasName = $"{dense.Name}/bias";
            inits.Add(new Initializer(biasName, [dense.Units], dense.Bias));
            var add = $"{dense.Name}/BiasAdd:0";
            nodes.Add(new Node("Add", $"{dense.Name}/BiasAdd", [current, biasName], add));
            current = add;
        }
        shape = [.. shape[..^1], dense.Units];
        current = AddActivation(nodes, dense.Name, act, current);
        return act;
    }

    private static void WriteGraph(ProtoWriter g, ModelGraph graph, List<Node> nodes, List<Initializer> inits, int[] outShape, string outputName)
    {
        foreach (var n in nodes)
            g.Message(1, nw =>                                  // GraphProto.node
            {
                foreach (var i in n.Inputs) nw.String(1, i);    // NodeProto.input
                nw.String(2, n.Output);                         // NodeProto.output
                nw.String(3, n.Name);                           // NodeProto.name
                nw.String(4, n.OpType);                         // NodeProto.op_type
                if (n.IntAttr is { } a)
                    nw.Message(5, aw =>                         // NodeProto.attribute
                    {
                        aw.String(1, a.Name);                   // AttributeProto.name
                        aw.Int64(3, a.Value);                   // AttributeProto.i
                        aw.Int64(20, AttrInt);                  // AttributeProto.type
                    });
            });
        g.String(2, string.IsNullOrWhiteSpace(graph.Name) ? "model" : graph.Name); // GraphProto.name
        foreach (var t in inits)
            g.Message(5, tw =>                                  // GraphProto.initializer
            {
                foreach (var d in t.Dims) tw.Int64(1, d);         // TensorProto.dims (unpacked, proto2)
                tw.Int64(2, ElemFloat);                         // TensorProto.data_type
                tw.String(8, t.Name);                           // TensorProto.name
                if (!BitConverter.IsLittleEndian)
                    throw new PlatformNotSupportedException("ONNX raw_data export requires a little-endian host.");
                tw.Bytes(9, MemoryMarshal.AsBytes(t.Data.AsSpan())); // TensorProto.raw_data
            });
        g.Message(11, v => WriteValueInfo(v, InputName, graph.InputShape)); // GraphProto.input
        g.Message(12, v => WriteValueInfo(v, outputName, outShape));        // GraphProto.output
    }

    private static void WriteValueInfo(ProtoWriter v, string name, int[] shapeWithoutBatch)
    {
        v.String(1, name);                                      // ValueInfoProto.name
        v.Message(2, tp =>                                      // ValueInfoProto.type
            tp.Message(1, tt =>                                 // TypeProto.tensor_type
            {
                tt.Int64(1, ElemFloat);                         // TypeProto.Tensor.elem_type
                tt.Message(2, sh =>                             // TypeProto.Tensor.shape
                {
                    sh.Message(1, d => d.String(2, "N"));       // TensorShapeProto.dim { dim_param }
                    foreach (var dim in shapeWithoutBatch)
                        sh.Message(1, d => d.Int64(1, dim));    // TensorShapeProto.dim { dim_value }
                });
            }));
    }

    /// <summary>Activation name → ONNX operator and its int attribute (null operator: identity). The one table of
    /// activations the writer knows; names outside it are refused.</summary>
    private static readonly Dictionary<string, (string? Op, (string, long)? Attr)> ActivationOps = new()
    {
        ["linear"] = (null, null),
        ["relu"] = ("Relu", null),
        ["sigmoid"] = ("Sigmoid", null),
        ["tanh"] = ("Tanh", null),
        ["softmax"] = ("Softmax", ("axis", -1L)),
    };

    /// <summary>Activation names the exporter writes (linear is the identity).</summary>
    public static IReadOnlyCollection<string> Activations => ActivationOps.Keys;

    private static string AddActivation(List<Node> nodes, string layer, string act, string current)
    {
        var (op, attr) = ActivationOps[act];
        if (op is null) return current;
        var outName = $"{layer}/{op}:0";
        nodes.Add(new Node(op, $"{layer}/{op}", [current], outName, attr));
        return outName;
    }

    private static string NormalizeActivation(string? activation, Func<string> where)
    {
        var a = string.IsNullOrEmpty(activation) ? "linear" : activation.Trim().ToLowerInvariant();
        return ActivationOps.ContainsKey(a) ? a
            : throw new ArgumentException($"{where()}: unknown activation '{activation}' (expected {string.Join("|", ActivationOps.Keys)}).", "graph");
    }

    private static int Product(int[] shape, Func<string> where)
    {
        long p = 1;
        foreach (var d in shape) p *= d;
        if (p > int.MaxValue)
            throw new ArgumentException($"{where()}: flattened size {p} exceeds int.MaxValue.", "graph");
        return (int)p;
    }
}
