using System.Text.Json.Nodes;
using ActorTrainer.Core;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A C# layer (or optimizer) declares its Keras get_config() entries by overriding ConfigEntries only: the
/// entries reach config.json and come back through from_config-style loading; the CLI, which cannot register the class, refuses such a model naming the file, the layer and its class.</summary>
public sealed class CustomLayerConfigTests
{
    /// <summary>y = factor · x (mode "mul") or x + factor (mode "add"); no weights.</summary>
    public sealed class Affine(float factor, string mode, string name = "") : Layer("Affine", name)
    {
        public override void BuildWeights(int[] inputShape, int seed) { }
        public override int[] ComputeOutputShape(int[] inputShape) => inputShape;
        public override Tensor Call(Tensor x, bool training) =>
            mode == "add" ? x + Tensor.FromArray([factor], [1]) : x * Tensor.FromArray([factor], [1]);
        public override Variable[] Variables => [];
        public override IReadOnlyDictionary<string, object> ConfigEntries =>
            new Dictionary<string, object> { ["factor"] = factor, ["mode"] = mode };

        /// <summary>Keras from_config.</summary>
        public static Affine FromConfig(JsonObject config) =>
            new((float)config["factor"]!.GetValue<double>(), config["mode"]!.GetValue<string>());
    }

    /// <summary>Plain SGD whose ConfigEntries (only) declares one entry.</summary>
    private sealed class Plain() : Optimizer(0.1)
    {
        public override string Name => "Plain";
        public override string[] SlotNames => [];
        public override IReadOnlyDictionary<string, object> ConfigEntries => new Dictionary<string, object> { ["note"] = "x" };
        public override void UpdateWeight(Span<float> w, ReadOnlySpan<float> g, ArraySegment<float>[] slots, float lr, long step)
        {
            for (var i = 0; i < w.Length; i++) w[i] -= lr * g[i];
        }
    }

    private static string SaveModel(TempDir t)
    {
        var dir = t["model"];
        var model = new Sequential([new Dense(3), new Affine(0.75f, "add", "affine"), new Dense(2)], seed: 5);
        model.Compile(new SGD(0.1), "mean_squared_error");
        model.Build([4]);
        model.Save(dir);
        return dir;
    }

    [Fact]
    public void A_CSharp_layers_config_entries_round_trip_through_the_model_files()
    {
        using var t = new TempDir();
        var dir = SaveModel(t);
        var saved = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, ModelFiles.ConfigFile)))!["config"]!["layers"]![1]!;
        Assert.Equal("Affine", (string)saved["class_name"]!);
        Assert.Equal(0.75, saved["config"]!["factor"]!.GetValue<double>());
        Assert.Equal("add", (string)saved["config"]!["mode"]!);
        var model = Sequential.Load(dir, typeof(Affine));
        var loaded = Assert.IsType<Affine>(model.Layers[1]);
        Assert.Equal("affine", loaded.Name);
        Assert.Equal(["factor", "mode"], loaded.ConfigEntries.Keys);
        Assert.Equal(0.75f, (float)loaded.ConfigEntries["factor"]);
        Assert.Equal("add", (string)loaded.ConfigEntries["mode"]);
        Assert.Equal([("factor", (object)0.75f), ("mode", "add")], loaded.ConfigEntries.Select(kv => (kv.Key, kv.Value)));
        Assert.Equal(["dense", "affine", "dense_1"], model.Layers.Select(l => l.Name));
    }

    [Fact]
    public void A_CSharp_optimizers_ConfigEntries_reach_GetConfig_and_a_layer_without_entries_has_none()
    {
        var o = new Plain();
        Assert.Equal([("note", (object)"x")], o.ConfigEntries.Select(kv => (kv.Key, kv.Value)));
        Assert.Equal("x", (string)o.GetConfig()["note"]!);
        var none = new CustomLayerLoadTests.NoFactory();
        Assert.Empty(none.ConfigEntries);
        Assert.Equal("{\"name\":\"\"}", none.GetConfig().ToJsonString());
    }

    [Theory]
    [InlineData("evaluate")]
    [InlineData("predict")]
    public void The_CLI_refuses_a_model_with_a_custom_layer_naming_the_file_the_layer_and_what_it_loads(string command)
    {
        using var t = new TempDir();
        var dir = SaveModel(t);
        string[] rest = command == "predict" ? ["--input", t["none.idx"]] : [];
        var err = Cli.AssertBadInput(Cli.Run([command, "--model", dir, .. rest]),
            $"model file '{Path.Combine(dir, ModelFiles.ConfigFile)}'", "layers[1] (Affine)", "layer 'affine'",
            "custom class 'Affine'", "loads only the built-in layer classes (Dense, Flatten, Dropout, Activation)",
            "Sequential.Load(dir, customObjects)");
        Assert.DoesNotContain("must be registered", err);
    }
}
