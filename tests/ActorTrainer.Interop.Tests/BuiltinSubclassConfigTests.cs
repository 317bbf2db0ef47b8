using System.Text.Json.Nodes;
using ActorTrainer.Core;
using Xunit;

namespace ActorTrainer.Interop.Tests;

/// <summary>A C# subclass of a built-in layer (Keras: <c>class TaggedDense(Dense)</c> whose get_config adds its own
/// entries) overrides ConfigEntries, extending base.ConfigEntries: its entries, Dense's and its own, are what every
/// reader of the layer's config sees (GetConfig, config.json, the summary), and it round trips through save/load under its
/// own class name.</summary>
public sealed class BuiltinSubclassConfigTests
{
    /// <summary>A Dense that carries a tag in its config (Dense's computation, one more get_config entry).</summary>
    public sealed class TaggedDense : Dense
    {
        public TaggedDense(int units, string tag, string activation = "linear", string name = "")
            : base(units, activation, name: name) => Tag = tag;

        public string Tag { get; }

        public override IReadOnlyDictionary<string, object> ConfigEntries =>
            new Dictionary<string, object>(base.ConfigEntries) { ["tag"] = Tag };

        /// <summary>Keras from_config.</summary>
        public static TaggedDense FromConfig(JsonObject c) =>
            new((int)c["units"]!, (string)c["tag"]!, (string)c["activation"]!, (string)c["name"]!);
    }

    /// <summary>A Dense that appends its entry to base.ConfigEntries with LINQ (Dense's entries keep their order).</summary>
    private sealed class ColouredDense() : Dense(2, name: "listed")
    {
        public override IReadOnlyDictionary<string, object> ConfigEntries =>
            base.ConfigEntries.Append(new KeyValuePair<string, object>("tag", "green")).ToDictionary();
    }

    /// <summary>A Dense whose ConfigEntries holds a value config.json cannot hold.</summary>
    private sealed class BadValueDense() : Dense(2, name: "bad")
    {
        public override IReadOnlyDictionary<string, object> ConfigEntries =>
            new Dictionary<string, object>(base.ConfigEntries) { ["when"] = new DateTime(2026, 1, 1) };
    }

    /// <summary>A Dense whose ConfigEntries declares "name", which GetConfig writes from the layer's Name.</summary>
    private sealed class NamedEntryDense() : Dense(2, name: "named")
    {
        public override IReadOnlyDictionary<string, object> ConfigEntries =>
            new Dictionary<string, object>(base.ConfigEntries) { ["name"] = "other" };
    }

    private static readonly string[] DenseKeys = ["units", "activation", "use_bias", "kernel_initializer", "bias_initializer"];

    [Fact]
    public void A_Dense_subclass_overriding_ConfigEntries_reads_its_entries_through_GetConfig_and_the_model_config()
    {
        var layer = new TaggedDense(3, "blue", "relu", "tagged");
        Assert.Equal([.. DenseKeys, "tag"], layer.ConfigEntries.Keys);
        Assert.Equal("blue", layer.ConfigEntries["tag"]);
        Assert.Equal("blue", (string)layer.GetConfig()["tag"]!);
        Assert.Equal("relu", (string)layer.GetConfig()["activation"]!);
        Assert.Equal("TaggedDense", layer.ClassName);
        var model = new Sequential([layer, new Dense(2)], seed: 3);
        model.Build([4]);
        var entry = model.GetConfig()["config"]!["layers"]![0]!;
        Assert.Equal("TaggedDense", (string)entry["class_name"]!);
        Assert.Equal("blue", (string)entry["config"]!["tag"]!);
        Assert.Equal("Dense", (string)model.GetConfig()["config"]!["layers"]![1]!["class_name"]!);
        Assert.Contains("tagged (TaggedDense)", model.Summary());
    }

    [Fact]
    public void A_Dense_subclass_round_trips_through_save_and_load_with_its_entries_weights_and_class()
    {
        using var t = new TempDir();
        var dir = t.File("model");
        var model = new Sequential([new TaggedDense(3, "blue", "relu"), new Dense(2)], seed: 3);
        model.Compile(new SGD(0.1), "mean_squared_error");
        model.Build([4]);
        model.Save(dir);
        var saved = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, ModelFiles.ConfigFile)))!;
        var entry = saved["config"]!["layers"]![0]!;
        Assert.Equal("TaggedDense", (string)entry["class_name"]!);
        Assert.Equal("blue", (string)entry["config"]!["tag"]!);

        var loaded = ModelFiles.Load(dir, typeof(TaggedDense));
        var back = Assert.IsType<TaggedDense>(loaded.Layers[0]);
        Assert.Equal("blue", back.Tag);
        Assert.Equal((string)entry["config"]!["name"]!, back.Name);
        Assert.Equal("relu", back.Activation.Name);
        Assert.IsType<Dense>(loaded.Layers[1]);
        Assert.Equal(model.GetWeights(), loaded.GetWeights());
        // config.json of the loaded model is the saved one, entry for entry
        Assert.Equal(saved.ToJsonString(), loaded.GetConfig().ToJsonString());
        // the CLI's built-in classes only: the subclass is refused by its class name, not read as a Dense
        var e = Assert.Throws<ModelFileException>(() => ModelFiles.Load(dir));
        Assert.Contains("layers[0] (TaggedDense)", e.Message);
    }

    [Fact]
    public void A_Dense_subclass_appending_to_base_ConfigEntries_keeps_Dense_s_entries_first()
    {
        var layer = new ColouredDense();
        Assert.Equal([.. DenseKeys, "tag"], layer.ConfigEntries.Keys);
        Assert.Equal("green", (string)layer.GetConfig()["tag"]!);
        Assert.Equal(2, (int)layer.GetConfig()["units"]!);
        Assert.Equal("ColouredDense", layer.ClassName);
    }

    [Fact]
    public void A_config_entry_that_cannot_be_written_is_refused_naming_the_layer_and_the_key()
    {
        var e = Assert.Throws<ArgumentException>(() => new BadValueDense().GetConfig());
        Assert.Contains("layer 'bad' (BadValueDense)", e.Message);
        Assert.Contains("config entry 'when'", e.Message);
        Assert.Contains("DateTime", e.Message);
        var model = new Sequential([new BadValueDense()], seed: 1);
        model.Build([3]);
        using var t = new TempDir();
        var save = Assert.Throws<ArgumentException>(() => model.Save(t.File("model")));
        Assert.Contains("layer 'bad' (BadValueDense)", save.Message);
        Assert.Contains("config entry 'when'", save.Message);
        var named = Assert.Throws<ArgumentException>(() => new NamedEntryDense().GetConfig());
        Assert.Contains("layer 'named' (NamedEntryDense)", named.Message);
        Assert.Contains("config entry 'name'", named.Message);
    }
}
