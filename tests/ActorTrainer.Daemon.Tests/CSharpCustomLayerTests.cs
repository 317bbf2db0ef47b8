using System.Text.Json.Nodes;
using ActorTrainer.Core;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>A Keras-style custom layer written in plain C# (arrays, IReadOnlyDictionary, no F# types): it overrides
/// BuildWeights, ComputeOutputShape, Call, Variables and ConfigEntries, and fit trains it through its own Call.</summary>
public sealed class CSharpCustomLayerTests
{
    /// <summary>y = s · x with one trainable scalar s.</summary>
    private sealed class Scale(float initial, string name = "") : Layer("Scale", name)
    {
        private Variable? _scale;
        public Variable Weight => _scale ?? throw new InvalidOperationException("not built");
        public override void BuildWeights(int[] inputShape, int seed) =>
            _scale = new Variable(Tensor.FromArray(new[] { initial }, [1]), Name + "/scale");
        public override int[] ComputeOutputShape(int[] inputShape) => inputShape;
        public override Tensor Call(Tensor x, bool training) => x * Weight.Value;
        public override Variable[] Variables => _scale is null ? [] : [_scale];
        public override IReadOnlyDictionary<string, object> ConfigEntries =>
            new Dictionary<string, object> { ["initial_scale"] = (double)initial };
    }

    private static ArrayData Data(int n, int features, int outputs)
    {
        var x = Enumerable.Range(0, n * features).Select(i => (float)Math.Sin(i * 0.7)).ToArray();
        var t = Enumerable.Range(0, n * outputs).Select(i => (float)Math.Cos(i * 0.3)).ToArray();
        return new ArrayData(x, features, null, t, n);
    }

    [Fact]
    public void A_CSharp_scaling_layer_alone_trains_with_fit_by_the_closed_form_gradient()
    {
        const int n = 8, d = 3;
        const float s0 = 0.5f;
        var data = Data(n, d, d);
        var scale = new Scale(s0);
        var model = new Sequential([scale], seed: 3);
        model.Compile(new SGD(0.1), "mean_squared_error");
        model.FitArrays(data, epochs: 1, batchSize: n, shuffle: false, verbose: 0);
        // L = 1/n Σ_i 1/d Σ_j (s x_ij − t_ij)²  ⇒  dL/ds = 1/n Σ_i 1/d Σ_j 2 (s x_ij − t_ij) x_ij
        double g = 0;
        for (int k = 0; k < n * d; k++) g += 2.0 * (s0 * data.X[k] - data.Targets[k]) * data.X[k] / (n * d);
        var s1 = model.GetWeights()[0][0];
        Assert.Equal(s0 - 0.1 * g, s1, 5);
        Assert.Equal(s1, scale.Weight.Value.ToFloat32Array()[0]);      // fit updated the layer's own variable
        // predict runs the layer's Call on the engine: y = s1 · x
        var y = model.PredictArrays(data.X, d);
        Assert.Equal(data.X.Select(v => s1 * v).ToArray(), y);
    }

    [Fact]
    public void Gradients_flow_through_a_CSharp_layer_between_Dense_layers_as_finite_differences_say()
    {
        const int n = 6;
        const double lr = 0.05;
        var data = Data(n, 4, 2);
        Sequential Model() => new([new Dense(3, kernelInitializer: "glorot_uniform"), new Scale(1.5f), new Dense(2)], seed: 7);
        var model = Model();
        model.Compile(new SGD(lr), "mean_squared_error");
        model.Build([4]);
        var w0 = model.GetWeights();
        model.FitArrays(data, epochs: 1, batchSize: n, shuffle: false, verbose: 0);
        var w1 = model.GetWeights();
        // the gradient fit applied (one SGD step over the whole batch) against central differences of the loss
        var probe = Model();
        probe.Compile(new SGD(lr), "mean_squared_error");
        probe.Build([4]);
        double Loss(int a, int b, float delta)
        {
            var w = w0.Select(v => (float[])v.Clone()).ToArray();
            w[a][b] += delta;
            probe.SetWeights(w);
            return probe.EvaluateArrays(data)["loss"];
        }
        const float eps = 1e-2f;
        for (int a = 0; a < w0.Length; a++)
            for (int b = 0; b < w0[a].Length; b++)
            {
                var applied = (w0[a][b] - w1[a][b]) / lr;
                var numeric = (Loss(a, b, eps) - Loss(a, b, -eps)) / (2 * eps);
                Assert.True(Math.Abs(applied - numeric) < 2e-3 + 1e-2 * Math.Abs(numeric),
                            $"weight {a}[{b}]: fit applied gradient {applied}, finite differences {numeric}");
            }
        Assert.NotEqual(w0[2][0], w1[2][0]);                           // the scale (weight 2) was trained
    }

    [Fact]
    public void A_CSharp_layer_writes_its_config_entries_and_stays_in_the_model_config()
    {
        var scale = new Scale(2f, "scale");
        var config = scale.GetConfig();
        Assert.Equal(["name", "initial_scale"], config.Select(kv => kv.Key));
        Assert.Equal(2.0, config["initial_scale"]!.GetValue<double>());
        var model = new Sequential([new Dense(2), scale]);
        model.Build([3]);
        Assert.True(JsonNode.DeepEquals(config, model.GetConfig()["config"]!["layers"]![1]!["config"]));
        Assert.Equal("Scale", model.GetConfig()["config"]!["layers"]![1]!["class_name"]!.GetValue<string>());
        Assert.Equal(9, model.CountParams());                         // Dense 3·2 + 2, scale 1
    }
}
