using System.Text.Json.Nodes;
using ActorTrainer.Core;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Keras <c>custom_objects</c>: a model holding a user-defined C# layer is saved, and loaded back only with the
/// layer's class registered (a name → factory dictionary, or the layer's Type), with its weights and predictions.</summary>
public sealed class CustomLayerLoadTests
{
    /// <summary>y = x + b with one trainable bias per feature, b initialised to <c>initial</c>.</summary>
    public sealed class Shift(float initial, string name = "") : Layer("Shift", name)
    {
        private Variable? _bias;
        public override void BuildWeights(int[] inputShape, int seed) =>
            _bias = new Variable(Tensor.FromArray(Enumerable.Repeat(initial, inputShape[0]).ToArray(), [inputShape[0]]), Name + "/bias");
        public override int[] ComputeOutputShape(int[] inputShape) => inputShape;
        public override Tensor Call(Tensor x, bool training) => x + _bias!.Value;
        public override Variable[] Variables => _bias is null ? [] : [_bias];
        public override IReadOnlyDictionary<string, object> ConfigEntries =>
            new Dictionary<string, object> { ["initial"] = (double)initial };

        /// <summary>Keras from_config: the layer (not built, unnamed) from its config.</summary>
        public static Shift FromConfig(JsonObject config) => new((float)config["initial"]!.GetValue<double>());
    }

    /// <summary>A layer class without FromConfig or a JsonObject constructor.</summary>
    public sealed class NoFactory() : Layer("NoFactory", "")
    {
        public override void BuildWeights(int[] inputShape, int seed) { }
        public override int[] ComputeOutputShape(int[] inputShape) => inputShape;
        public override Tensor Call(Tensor x, bool training) => x;
        public override Variable[] Variables => [];
    }

    private static readonly float[] X = Enumerable.Range(0, 10 * 4).Select(i => (float)Math.Sin(i * 0.37)).ToArray();

    /// <summary>A trained Dense → Shift → Dense model saved into <paramref name="dir"/>; its predictions on X.</summary>
    private static float[] SaveTrained(string dir)
    {
        var model = new Sequential([new Dense(3, "tanh"), new Shift(0.25f, "shift"), new Dense(2)], seed: 11);
        model.Compile(new Adam(0.01), "mean_squared_error");
        var t = Enumerable.Range(0, 10 * 2).Select(i => (float)Math.Cos(i * 0.5)).ToArray();
        model.FitArrays(new ArrayData(X, 4, null, t, 10), epochs: 2, batchSize: 5, verbose: 0);
        model.Save(dir);
        return model.PredictArrays(X, 4);
    }

    private static void AssertSameModel(float[] expected, Sequential loaded)
    {
        Assert.Equal(["dense", "shift", "dense_1"], loaded.Layers.Select(l => l.Name));
        Assert.IsType<Shift>(loaded.Layers[1]);
        Assert.Equal("Adam", loaded.Optimizer.Name);
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), loaded.PredictArrays(X, 4).Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void A_model_with_a_CSharp_layer_loads_with_its_class_registered_by_name_and_predicts_identically()
    {
        using var t = new TempDir();
        var dir = t["model"];
        var expected = SaveTrained(dir);
        var loaded = Sequential.Load(dir, new Dictionary<string, Func<JsonObject, Layer>> { ["Shift"] = Shift.FromConfig });
        AssertSameModel(expected, loaded);
        Assert.NotEqual(0.25f, loaded.GetWeights()[2][0]);          // the trained bias, not the config's initial value
        AssertSameModel(expected, ModelFiles.Load(dir, typeof(Shift)));
        AssertSameModel(expected, Sequential.Load(dir, typeof(Shift)));
    }

    [Fact]
    public void Loading_an_unregistered_layer_class_names_the_file_the_layer_and_how_to_register_it()
    {
        using var t = new TempDir();
        var dir = t["model"];
        SaveTrained(dir);
        var e = Assert.Throws<ModelFileException>(() => Sequential.Load(dir));
        Assert.Contains(Path.Combine(dir, ModelFiles.ConfigFile), e.Message);
        Assert.Contains("layers[1] (Shift): unknown layer class 'Shift' (layer 'shift'", e.Message);
        Assert.Contains("must be registered", e.Message);
        Assert.Contains("Sequential.Load(dir, new Dictionary<string, Func<JsonObject, Layer>> { [\"Shift\"] = config => ... })", e.Message);
        // another class registered does not help
        e = Assert.Throws<ModelFileException>(() => ModelFiles.Load(dir, typeof(NoFactoryLike)));
        Assert.Contains("unknown layer class 'Shift'", e.Message);
    }

    /// <summary>A registrable class of another name.</summary>
    public sealed class NoFactoryLike(JsonObject config) : Layer("NoFactoryLike", (string)config["name"]!)
    {
        public override void BuildWeights(int[] inputShape, int seed) { }
        public override int[] ComputeOutputShape(int[] inputShape) => inputShape;
        public override Tensor Call(Tensor x, bool training) => x;
        public override Variable[] Variables => [];
    }

    [Fact]
    public void A_failing_factory_and_an_unbuildable_type_are_reported_by_name()
    {
        using var t = new TempDir();
        var dir = t["model"];
        SaveTrained(dir);
        var e = Assert.Throws<ModelFileException>(() => ModelFiles.Load(dir, new Dictionary<string, Func<JsonObject, Layer>>
        {
            ["Shift"] = c => throw new ArgumentException("no 'initial' here"),
        }));
        Assert.Contains("layers[1] (Shift): the factory registered for 'Shift' failed: no 'initial' here", e.Message);
        var a = Assert.Throws<ArgumentException>(() => ModelFiles.CustomObjects(typeof(NoFactory)));
        Assert.Contains("NoFactory' has neither a public static FromConfig(JsonObject)", a.Message);
        a = Assert.Throws<ArgumentException>(() => ModelFiles.CustomObjects(typeof(string)));
        Assert.Contains("System.String' is not a concrete Layer class", a.Message);
    }
}
