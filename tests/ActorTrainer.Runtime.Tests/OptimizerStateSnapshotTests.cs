namespace ActorTrainer.Runtime.Tests;

/// <summary>The optimizer state a checkpoint takes at an epoch's end: the same values on both runtimes, and on the actor
/// runtime refilled into the arrays the call before returned (no fresh memory per checkpoint).</summary>
public sealed class OptimizerStateSnapshotTests
{
    /// <summary>Calls the executor's OptimizerState at every epoch end: the arrays it returned and a copy of their values.</summary>
    private sealed class Snapshots : Callback, IRuntimeCallback
    {
        private IStepExecutor? _exec;
        public readonly List<(long Iterations, float[][][] Arrays, float[][][] Values)> Taken = new();
        public void SetExecutor(IStepExecutor executor) => _exec = executor;

        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
        {
            var (iterations, slots) = _exec!.OptimizerState();
            Taken.Add((iterations, slots, slots.Select(perWeight => perWeight.Select(a => (float[])a.Clone()).ToArray()).ToArray()));
        }
    }

    private static Snapshots Fit(IStepRuntime runtime)
    {
        var m = new Sequential([new Dense(32, "relu"), new Dense(10, "softmax")], "snapshots", [784], seed: 5);
        m.Compile(new RMSprop(learningRate: 0.01), "sparse_categorical_crossentropy", ["accuracy"]);
        m.Build([784]);
        var snapshots = new Snapshots();
        m.FitWith(Fixtures.Train(256), new FitOptions { Epochs = 3, BatchSize = 64, Seed = 11, ShardsPerBatch = 2, Verbose = 0, Runtime = runtime },
                  [snapshots]);
        return snapshots;
    }

    [Fact]
    public void Every_epoch_end_gets_the_in_process_values_and_the_actor_runtime_refills_its_arrays()
    {
        var inProcess = Fit(InProcessRuntime.Instance).Taken;
        var actors = Fit(new ActorStepRuntime(new RuntimeOptions(Workers: 2, PsSlices: 2))).Taken;
        Assert.Equal(3, actors.Count);
        for (int e = 0; e < 3; e++)
        {
            Assert.Equal(inProcess[e].Iterations, actors[e].Iterations);
            Assert.Equal(4L * (e + 1), actors[e].Iterations);                 // 256 / 64 steps per epoch
            Assert.Equal(inProcess[e].Values.Length, actors[e].Values.Length);
            for (int w = 0; w < actors[e].Values.Length; w++) Fixtures.AssertBitIdentical(inProcess[e].Values[w], actors[e].Values[w]);
            if (e > 0)
            {
                // the call before's arrays, refilled with this epoch's values (the values copied then differ)
                for (int w = 0; w < actors[e].Arrays.Length; w++)
                    for (int k = 0; k < actors[e].Arrays[w].Length; k++) Assert.Same(actors[e - 1].Arrays[w][k], actors[e].Arrays[w][k]);
                Assert.NotEqual(actors[e - 1].Values[0][0], actors[e].Values[0][0]);
            }
        }
    }
}
