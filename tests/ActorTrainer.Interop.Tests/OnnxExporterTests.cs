using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;
using Xunit.Abstractions;

namespace ActorTrainer.Interop.Tests;

public class OnnxExporterTests(ITestOutputHelper output)
{
    private const int Samples = 1000;

    private static ModelGraph Mlp(Random rng, bool flatten, bool dropout) =>
        new("mnist_mlp", flatten ? [28, 28] : [784],
        [
            .. flatten ? new LayerSpec[] { new FlattenSpec("flatten") } : [],
            ReferenceModel.RandomDense(rng, "dense", 784, 512, "relu"),
            .. dropout ? new LayerSpec[] { new DropoutSpec("dropout", 0.5) } : [],
            ReferenceModel.RandomDense(rng, "dense_1", 512, 10, "softmax"),
        ]);

    /// <summary>Exports, runs ONNX Runtime on <see cref="Samples"/> random inputs, compares to the reference forward pass.</summary>
    private (double MaxAbsDiff, int ArgmaxMismatches, string OutputName, int OutWidth) RunAndCompare(ModelGraph g, int seed)
    {
        using var dir = new TempDir();
        var path = dir.File("model.onnx");
        OnnxExporter.Export(path, g);

        var rng = new Random(seed);
        var width = g.InputShape.Aggregate(1, (a, b) => a * b);
        var x = new float[Samples * width];
        for (var i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        var expected = ReferenceModel.Forward(g, x, Samples, out var outWidth);

        using var session = new InferenceSession(path);
        var input = Assert.Single(session.InputMetadata);
        Assert.Equal("input", input.Key);
        Assert.Equal([-1, .. g.InputShape], input.Value.Dimensions);
        Assert.Equal("N", input.Value.SymbolicDimensions[0]);
        var outMeta = Assert.Single(session.OutputMetadata);

        var tensor = new DenseTensor<float>(x, [Samples, .. g.InputShape]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", tensor)]);
        var result = Assert.Single(results);
        Assert.Equal(outMeta.Key, result.Name);
        var got = result.AsTensor<float>();
        Assert.Equal([Samples, outWidth], got.Dimensions.ToArray());
        var actual = got.ToArray();

        double maxDiff = 0;
        var mismatches = 0;
        for (var n = 0; n < Samples; n++)
        {
            int ea = 0, aa = 0;
            for (var j = 0; j < outWidth; j++)
            {
                var k = n * outWidth + j;
                maxDiff = Math.Max(maxDiff, Math.Abs(expected[k] - actual[k]));
                if (expected[k] > expected[n * outWidth + ea]) ea = j;
                if (actual[k] > actual[n * outWidth + aa]) aa = j;
            }
            if (ea != aa) mismatches++;
        }
        output.WriteLine($"{g.Name}: {Samples} samples, max |onnxruntime - reference| = {maxDiff:E3}, argmax mismatches = {mismatches}");
        return (maxDiff, mismatches, result.Name, outWidth);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Mlp784_512_10_MatchesReferenceInOnnxRuntime(bool flatten, bool dropout)
    {
        var g = Mlp(new Random(7), flatten, dropout);
        var (diff, mismatches, outName, outWidth) = RunAndCompare(g, seed: 11);
        Assert.Equal("probabilities", outName);
        Assert.Equal(10, outWidth);
        Assert.True(diff < 1e-5, $"max abs diff {diff:E3} ≥ 1e-5");
        Assert.Equal(0, mismatches);
    }

    [Fact]
    public void SigmoidTanhLinearLayers_MatchReference_OutputNamedOutput()
    {
        var rng = new Random(3);
        var g = new ModelGraph("mixed", [784],
        [
            ReferenceModel.RandomDense(rng, "d_sigmoid", 784, 64, "sigmoid"),
            ReferenceModel.RandomDense(rng, "d_tanh", 64, 32, "tanh", bias: false),
            new DropoutSpec("drop", 0.2),
            ReferenceModel.RandomDense(rng, "d_linear", 32, 10, "linear"),
        ]);
        var (diff, mismatches, outName, outWidth) = RunAndCompare(g, seed: 5);
        Assert.Equal("output", outName);
        Assert.Equal(10, outWidth);
        Assert.True(diff < 1e-5, $"max abs diff {diff:E3} ≥ 1e-5");
        Assert.Equal(0, mismatches);
    }

    [Fact]
    public void StandaloneActivationLayers_ReluThenSoftmax_MatchReference()
    {
        var rng = new Random(9);
        var g = new ModelGraph("act", [28, 28],
        [
            new FlattenSpec("flatten"),
            ReferenceModel.RandomDense(rng, "dense", 784, 128, "linear"),
            new ActivationSpec("relu_act", "relu"),
            ReferenceModel.RandomDense(rng, "logits", 128, 10, "linear"),
            new ActivationSpec("softmax_act", "softmax"),
        ]);
        var (diff, mismatches, outName, _) = RunAndCompare(g, seed: 13);
        Assert.Equal("probabilities", outName);
        Assert.True(diff < 1e-5, $"max abs diff {diff:E3} ≥ 1e-5");
        Assert.Equal(0, mismatches);
    }

    [Fact]
    public void ExportedModel_DeclaresIrVersion8AndOpset13()
    {
        using var dir = new TempDir();
        var path = dir.File("m.onnx");
        OnnxExporter.Export(path, Mlp(new Random(1), flatten: true, dropout: false));
        using var session = new InferenceSession(path);
        Assert.Equal("ActorTrainer", session.ModelMetadata.ProducerName);
        Assert.Equal("mnist_mlp", session.ModelMetadata.GraphName);
        var bytes = File.ReadAllBytes(path);
        // ModelProto field 1 (ir_version, varint) is written first: tag 0x08, value 8.
        Assert.Equal(0x08, bytes[0]);
        Assert.Equal(8, bytes[1]);
        // OperatorSetIdProto is the last field: tag 0x42, len 4, domain "" (0x0A 0x00), version 13 (0x10 0x0D).
        Assert.Equal(new byte[] { 0x42, 0x04, 0x0A, 0x00, 0x10, 0x0D }, bytes[^6..]);
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void BadGraphs_ThrowArgumentExceptionNamingLayer()
    {
        var rng = new Random(2);
        var ok1 = ReferenceModel.RandomDense(rng, "dense", 784, 16, "relu");

        var ex = Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(new ModelGraph("m", [784],
            [ok1, ReferenceModel.RandomDense(rng, "dense_1", 32, 10, "softmax")])));
        Assert.Contains("layer 'dense_1'", ex.Message);
        Assert.Contains("InputDim 32 does not match", ex.Message);

        ex = Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(new ModelGraph("m", [784],
            [ok1 with { Activation = "gelu" }])));
        Assert.Contains("layer 'dense'", ex.Message);
        Assert.Contains("unknown activation 'gelu'", ex.Message);

        ex = Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(new ModelGraph("m", [784],
            [ok1 with { Kernel = new float[100] }])));
        Assert.Contains("layer 'dense'", ex.Message);
        Assert.Contains("kernel length 100 != InputDim·Units = 784·16 = 12544", ex.Message);

        ex = Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(new ModelGraph("m", [784],
            [ok1 with { Bias = new float[3] }])));
        Assert.Contains("bias length 3 != Units 16", ex.Message);

        ex = Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(new ModelGraph("m", [28, 28],
            [ReferenceModel.RandomDense(rng, "dense", 784, 10, "softmax")])));
        Assert.Contains("layer 'dense'", ex.Message);
        Assert.Contains("[N, 28, 28]", ex.Message);

        ex = Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(new ModelGraph("m", [784],
            [new DropoutSpec("drop", 1.5)])));
        Assert.Contains("layer 'drop'", ex.Message);

        ex = Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(new ModelGraph("m", [784],
            [ok1, new ActivationSpec("dense", "relu")])));
        Assert.Contains("duplicate layer name 'dense'", ex.Message);

        ex = Assert.Throws<ArgumentException>(() => OnnxExporter.ToBytes(new ModelGraph("m", [0], [ok1])));
        Assert.Contains("InputShape [0]", ex.Message);
    }
}
