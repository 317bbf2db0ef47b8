namespace ActorTrainer.Interop.Tests;

/// <summary>Plain C# forward pass of a <see cref="ModelGraph"/> (double accumulation), independent of the exporter.</summary>
public static class ReferenceModel
{
    public static float[] Forward(ModelGraph g, float[] batch, int batchSize, out int outWidth)
    {
        var width = g.InputShape.Aggregate(1, (a, b) => a * b);
        var x = (float[])batch.Clone();
        foreach (var layer in g.Layers)
        {
            switch (layer)
            {
                case DenseSpec d:
                {
                    var y = new float[batchSize * d.Units];
                    for (var n = 0; n < batchSize; n++)
                        for (var j = 0; j < d.Units; j++)
                        {
                            double acc = d.Bias?[j] ?? 0.0;
                            for (var i = 0; i < d.InputDim; i++)
                                acc += (double)x[n * d.InputDim + i] * d.Kernel[i * d.Units + j];
                            y[n * d.Units + j] = (float)acc;
                        }
                    Activate(y, batchSize, d.Units, d.Activation);
                    x = y;
                    width = d.Units;
                    break;
                }
                case ActivationSpec a:
                    Activate(x, batchSize, width, a.Activation);
                    break;
                case FlattenSpec or DropoutSpec:
                    break;
                default:
                    throw new ArgumentException($"unsupported layer {layer}");
            }
        }
        outWidth = width;
        return x;
    }

    private static void Activate(float[] y, int rows, int cols, string activation)
    {
        switch (activation)
        {
            case "linear": return;
            case "relu": for (var i = 0; i < y.Length; i++) y[i] = Math.Max(0f, y[i]); return;
            case "sigmoid": for (var i = 0; i < y.Length; i++) y[i] = (float)(1.0 / (1.0 + Math.Exp(-y[i]))); return;
            case "tanh": for (var i = 0; i < y.Length; i++) y[i] = (float)Math.Tanh(y[i]); return;
            case "softmax":
                for (var r = 0; r < rows; r++)
                {
                    var row = y.AsSpan(r * cols, cols);
                    double max = double.NegativeInfinity, sum = 0;
                    foreach (var v in row) max = Math.Max(max, v);
                    var e = new double[cols];
                    for (var c = 0; c < cols; c++) sum += e[c] = Math.Exp(row[c] - max);
                    for (var c = 0; c < cols; c++) row[c] = (float)(e[c] / sum);
                }
                return;
            default: throw new ArgumentException($"activation {activation}");
        }
    }

    /// <summary>Dense layer with Glorot-uniform kernel and small random bias.</summary>
    public static DenseSpec RandomDense(Random rng, string name, int inputDim, int units, string activation, bool bias = true)
    {
        var limit = Math.Sqrt(6.0 / (inputDim + units));
        var k = new float[inputDim * units];
        for (var i = 0; i < k.Length; i++) k[i] = (float)((rng.NextDouble() * 2 - 1) * limit);
        float[]? b = null;
        if (bias)
        {
            b = new float[units];
            for (var i = 0; i < units; i++) b[i] = (float)((rng.NextDouble() * 2 - 1) * 0.1);
        }
        return new DenseSpec(name, inputDim, units, k, b, activation);
    }
}
