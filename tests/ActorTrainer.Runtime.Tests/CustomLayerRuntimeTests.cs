using ActorTrainer.Runtime.Clustering;

namespace ActorTrainer.Runtime.Tests;

/// <summary>A user-defined layer (its own Call, no PlanLayer case) on the runtimes: the in-process actor runtime
/// trains it as the in-process loop does, bit for bit; the cluster's plan codec refuses it, naming the layer.</summary>
public sealed class CustomLayerRuntimeTests
{
    /// <summary>y = s ⊙ x with one trainable scale per feature.</summary>
    private sealed class Scale(string name = "") : Layer("Scale", name)
    {
        private Variable? _scale;
        public override void BuildWeights(int[] inputShape, int seed) =>
            _scale = new Variable(Tensor.FromArray(Enumerable.Range(0, inputShape[0]).Select(i => 1f + 0.01f * i).ToArray(), [inputShape[0]]), Name + "/scale");
        public override int[] ComputeOutputShape(int[] inputShape) => inputShape;
        public override Tensor Call(Tensor x, bool training) => x * _scale!.Value;
        public override Variable[] Variables => _scale is null ? [] : [_scale];
    }

    private static Sequential Model()
    {
        var m = new Sequential([new Dense(16, "relu"), new Scale(), new Dense(10, "softmax")], "custom", [784], seed: 5);
        m.Compile(new RMSprop(learningRate: 0.01), "sparse_categorical_crossentropy", ["accuracy"]);
        return m;
    }

    [Fact]
    public void The_actor_runtime_trains_a_custom_layer_as_the_in_process_loop_does()
    {
        var weights = new List<float[][]>();
        foreach (IStepRuntime runtime in new IStepRuntime[] { InProcessRuntime.Instance, new ActorStepRuntime(new RuntimeOptions(Workers: 2)) })
        {
            var m = Model();
            var before = m.GetWeights()[2].ToArray();
            m.FitWith(Fixtures.Train(256), new FitOptions { Epochs = 2, BatchSize = 64, Seed = 11, ShardsPerBatch = 2, Verbose = 0, Runtime = runtime });
            Assert.NotEqual(before, m.GetWeights()[2]);                      // the scale was trained
            weights.Add(m.GetWeights());
        }
        Fixtures.AssertBitIdentical(weights[0], weights[1]);
    }

    [Fact]
    public void The_cluster_plan_codec_refuses_a_custom_layer_naming_it()
    {
        var m = Model();
        var e = Assert.Throws<ArgumentException>(() => PlanCodec.Encode(m.Plan));
        Assert.Contains("layer 'scale'", e.Message);
        Assert.Contains("cluster workers cannot run it", e.Message);
    }
}
