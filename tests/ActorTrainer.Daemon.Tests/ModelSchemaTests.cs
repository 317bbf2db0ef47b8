using ActorTrainer.Core;
using ActorTrainer.Daemon.Configuration;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>The HOCON model/optimizer/loss/metrics sections go through Core's config.json parser: same model as a
/// saved config.json describes, errors naming the HOCON key, name lists taken from Core.</summary>
public sealed class ModelSchemaTests
{
    private static TrainSettings Settings(params string[] sets) => TrainSettings.From(ConfigLoader.LoadText(null, "test", sets));

    private static string Error(params string[] sets) => Assert.Throws<ConfigException>(() => Settings(sets)).Message;

    [Fact]
    public void Default_config_becomes_the_keras_node_a_saved_model_carries()
    {
        var s = Settings();
        var model = s.BuildModel();
        var saved = model.GetConfig().AsObject();
        var fromSaved = ModelConfig.parseModel("saved", saved);
        var fromHocon = ModelConfig.parseModel("hocon", s.KerasConfig);
        Assert.Equal(fromSaved.InputShape, fromHocon.InputShape);
        Assert.Equal(fromSaved.Seed, fromHocon.Seed);
        Assert.Equal(fromSaved.Layers.Select(l => l.ClassName), fromHocon.Layers.Select(l => l.ClassName));
        Assert.Equal(["accuracy"], s.Metrics);
        Assert.Equal("rmsprop", s.OptimizerType);
        Assert.Equal("sparse_categorical_crossentropy", s.Loss);
        Assert.Equal([(512, true), (10, true)], s.Layers.Select(l => Assert.IsType<Dense>(l)).Select(d => (d.Units, d.UseBias)));
        Assert.All(s.Layers, l => Assert.False(l.Built));
        Assert.Equal(model.WeightsSha256(), s.BuildModel().WeightsSha256());
        Assert.NotSame(model.Optimizer, s.BuildModel().Optimizer);
    }

    [Theory]
    [InlineData("optimizer.learning-rate=-1", "config: optimizer.learning-rate must be > 0, got -1")]
    [InlineData("optimizer.rho=2", "config: optimizer.rho must be in [0, 1], got 2")]
    [InlineData("optimizer.epsilon=0", "config: optimizer.epsilon must be > 0, got 0")]
    [InlineData("optimizer.type=adamw", "config: optimizer.type must be one of sgd, rmsprop, adagrad, adam, got 'adamw'")]
    [InlineData("model.input-shape=[784, 0]", "config: model.input-shape[1] must be an integer in [1, 2147483647], got 0")]
    [InlineData("model.layers=[{ type = dense, units = 3 }, { type = dense, units = -2 }]", "config: model.layers[1].units must be an integer")]
    [InlineData("model.layers=[{ type = dense, units = 3, use-bias = maybe }]", "config: model.layers[0].use-bias must be true or false")]
    [InlineData("model.layers=[{ type = dense, units = 3, kernel-initializer = random_normal, kernel-stddev = -1 }]", "config: model.layers[0].kernel-stddev must be in [0,")]
    [InlineData("model.layers=[{ type = dense, units = 3, kernel-initializer = random_uniform, kernel-min = 1, kernel-max = 0 }]", "config: model.layers[0].kernel-min must not be greater")]
    [InlineData("model.layers=[{ type = dense, units = 3, kernel-initializer = RandomUniform, kernel-min = 1, kernel-max = 0 }]", "config: model.layers[0].kernel-min must not be greater")]
    [InlineData("model.layers=[{ type = dropout, rate = 1 }]", "config: model.layers[0].rate must be in [0, 1), got 1")]
    [InlineData("model.layers=[{ type = pool }]", "config: model.layers[0].type must be one of dense, flatten, dropout, activation, got 'pool'")]
    [InlineData("model.layers=[{ type = activation }]", "config: model.layers[0].activation is missing")]
    [InlineData("model.name=[1]", "config: model.name must be a string")]
    public void Errors_name_the_hocon_key(string set, string expected) =>
        Assert.StartsWith(expected, Error(set));

    [Fact]
    public void Adam_betas_are_checked_only_for_adam()
    {
        Assert.StartsWith("config: optimizer.beta-1 must be in [0, 1), got 1", Error("optimizer.type=adam", "optimizer.beta-1=1"));
        Assert.Equal("sgd", Settings("optimizer.type=sgd", "optimizer.beta-1=1").OptimizerType);
    }

    [Fact]
    public void Name_lists_in_errors_come_from_core()
    {
        Assert.Contains(string.Join(", ", Activation.Names), Error("model.layers=[{ type = dense, units = 3, activation = swish }]"));
        var init = Error("model.layers=[{ type = dense, units = 3, kernel-initializer = orthogonal }]");
        Assert.StartsWith("config: model.layers[0].kernel-initializer: unknown initializer 'orthogonal'", init);
        Assert.Contains(string.Join(", ", Initializer.Names), init);
        Assert.Contains(string.Join(", ", Loss.Names), Error("loss=hinge"));
        Assert.Contains(string.Join(", ", Metrics.names), Error("metrics=[f1]"));
        Assert.Equal(ModelConfig.layerClasses.Select(c => c.ToLowerInvariant()), ModelSchema.LayerTypes);
        Assert.Equal(ModelConfig.optimizerClasses.Select(c => c.ToLowerInvariant()), ModelSchema.OptimizerTypes);
    }

    [Fact]
    public void Constant_initializer_is_accepted_with_its_value()
    {
        var s = Settings("model.layers=[{ type = dense, units = 3, kernel-initializer = constant, kernel-value = 0.5, bias-initializer = constant }]",
                         "model.input-shape=[2]");
        var d = Assert.IsType<Dense>(s.BuildModel().Layers[0]);
        Assert.All(d.Kernel.Value.ToFloat32Array(), v => Assert.Equal(0.5f, v));
        Assert.All(d.Bias.Value.ToFloat32Array(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Dropout_masks_are_seeded_by_trainer_seed()
    {
        var s = Settings("model.layers=[{ type = dropout, rate = 0.5 }, { type = dense, units = 10, activation = softmax }]", "trainer.seed=42");
        Assert.Equal(42, s.KerasConfig["config"]!["layers"]![0]!["config"]!["seed"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("sparse_categorical_crossentropy", "sparse_categorical_accuracy", "categorical_accuracy")]
    [InlineData("categorical_crossentropy", "categorical_accuracy", "binary_accuracy")]
    [InlineData("mse", "categorical_accuracy", "binary_accuracy")]
    [InlineData("binary_crossentropy", "binary_accuracy", "sparse_categorical_accuracy")]
    public void Metrics_are_computed_for_real_or_refused_naming_metric_and_loss(string loss, string ok, string refused)
    {
        Assert.Equal(["accuracy", ok], Settings($"loss={loss}", $"metrics=[acc, {ok}]").Metrics);
        var err = Error($"loss={loss}", $"metrics=[accuracy, {refused}]");
        Assert.StartsWith($"config: metrics: '{refused}' is not computed for loss {loss}; supported with {loss}: accuracy, acc, ", err);
    }

    [Fact]
    public void Metrics_object_form_defaults_to_accuracy() =>
        Assert.Equal(["accuracy"], Settings("metrics={ port = 0 }").Metrics);

    /// <summary>HOCON's `[]` is no metrics (Keras' compile(metrics=[])), in both forms; a non-list is refused naming
    /// what it got.</summary>
    [Fact]
    public void Empty_metrics_list_means_no_metrics()
    {
        Assert.Empty(Settings("metrics=[]").Metrics);
        Assert.Empty(Settings("metrics={ names = [], port = 0 }").Metrics);
        Assert.NotNull(Settings("metrics=[]").BuildModel());
        Assert.StartsWith("config: metrics.names must be a list such as [accuracy] or [], got 'accuracy'", Error("metrics={ names = accuracy }"));
        Assert.StartsWith("config: metrics must be a list such as [accuracy] or [] or an object", Error("metrics=accuracy"));
        // config.conf (what --resume reads) renders [] as [], not "" (which a resumed run refused), and reads back
        var rendered = ConfigLoader.Render(ConfigLoader.LoadText(null, "test", ["metrics=[]", "cluster.seed-nodes=[]"]));
        Assert.Contains("\"metrics\" = []", rendered);
        Assert.Contains("\"seed-nodes\" = []", rendered);
        Assert.Empty(TrainSettings.From(ConfigLoader.LoadText(rendered, "config.conf", [])).Metrics);
    }
    [Fact]
    public void Set_addresses_one_element_of_a_list_by_its_index()
    {
        // a key inside an element (merged into it), the element replaced whole, and the rest of the list kept
        var s = Settings("model.layers.0.units=64", "model.layers.1.activation=sigmoid");
        Assert.Equal([(64, "relu"), (10, "sigmoid")], s.Layers.Select(l => Assert.IsType<Dense>(l)).Select(d => (d.Units, d.Activation.Name)));
        var r = Settings("model.layers.1={ type = dense, units = 3, activation = softmax }");
        Assert.Equal([512, 3], r.Layers.Select(l => Assert.IsType<Dense>(l).Units));
        // the index addresses the list as configured so far (here: a list of three set just before)
        var t = Settings("model.layers=[{ type = flatten }, { type = dense, units = 8 }, { type = dense, units = 2 }]", "model.layers.2.units=5");
        Assert.Equal(["Flatten", "Dense", "Dense"], t.Layers.Select(l => l.ClassName));
        Assert.Equal(5, Assert.IsType<Dense>(t.Layers[2]).Units);
        // what config.conf records reads back to the same list
        var rendered = ConfigLoader.Render(ConfigLoader.LoadText(null, "test", ["model.layers.0.units=64"]));
        Assert.Equal(64, Assert.IsType<Dense>(TrainSettings.From(ConfigLoader.LoadText(rendered, "config.conf", [])).Layers[0]).Units);
    }

    [Theory]
    [InlineData("model.layers.2.units=3", "--set 'model.layers.2.units=3': model.layers has 2 element(s) (indices 0–1), so there is no model.layers.2")]
    [InlineData("model.input-shape.0.x=1", "--set 'model.input-shape.0.x=1': model.input-shape.0 is not an object, so it has no key 'x'")]
    [InlineData("model.layers.0.units=0", "config: model.layers[0].units must be an integer in [1, 2147483647], got 0")]
    public void Set_of_a_list_element_that_does_not_fit_names_it(string set, string message) => Assert.Equal(message, Error(set));
}

