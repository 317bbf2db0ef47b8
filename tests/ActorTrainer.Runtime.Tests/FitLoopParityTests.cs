namespace ActorTrainer.Runtime.Tests;

/// <summary>The one fit loop behaves the same whichever executor runs the steps: callbacks (EarlyStopping with
/// restore_best_weights, LearningRateScheduler, ModelCheckpoint), cancellation + checkpoint + resume — including a run
/// interrupted on one runtime and resumed on the other.</summary>
public sealed class FitLoopParityTests
{
    private static Sequential Model(double lr = 0.01)
    {
        var m = new Sequential([new Dense(32, "relu"), new Dense(10, "softmax")], "parity", [784], seed: 5);
        m.Compile(new RMSprop(learningRate: lr), "sparse_categorical_crossentropy", ["accuracy"]);
        m.Build([784]);
        return m;
    }

    private static IStepRuntime Runtime(string name) =>
        name == "actors" ? new ActorStepRuntime(new RuntimeOptions(Workers: 2)) : InProcessRuntime.Instance;

    private static FitOptions Options(string runtime, int epochs) => new()
    {
        Epochs = epochs, BatchSize = 64, Seed = 11, ShardsPerBatch = 2, Verbose = 0,
        Validation = Fixtures.Validation(128), Runtime = Runtime(runtime),
    };

    /// <summary>Records the weights at every epoch end (what restore_best_weights may restore).</summary>
    private sealed class EpochWeights : Callback
    {
        public readonly List<float[][]> Weights = new();
        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) => Weights.Add(Model.GetWeights());
    }

    [Theory]
    [InlineData("in-process")]
    [InlineData("actors")]
    public void EarlyStopping_restores_the_best_weights_on_every_runtime(string runtime)
    {
        var m = Model();
        var seen = new EpochWeights();
        // mode "max" on a falling loss: epoch 0 stays best, epoch 1 exhausts patience 1 → stop and restore epoch 0
        var stop = new EarlyStopping(monitor: "loss", patience: 1, mode: "max", restoreBestWeights: true);
        var r = m.FitWith(Fixtures.Train(512), Options(runtime, 4), [seen, stop]);
        Assert.Equal(1, stop.StoppedEpoch);
        Assert.Equal(2, r.Epochs.Length);
        Fixtures.AssertBitIdentical(seen.Weights[0], m.GetWeights());
    }

    [Fact]
    public void Schedules_checkpoints_and_history_are_identical_on_both_runtimes()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var results = new List<(float[][] Weights, double[] Loss, float[][] Saved)>();
            foreach (var runtime in new[] { "in-process", "actors" })
            {
                var m = Model();
                var schedule = new LearningRateScheduler((epoch, lr) => epoch == 0 ? lr : lr * 0.5);
                var path = Path.Combine(dir, runtime, "model-{epoch:02d}");
                var save = new ModelCheckpoint(path, monitor: "val_loss");
                var r = m.FitWith(Fixtures.Train(512), Options(runtime, 3), [schedule, save]);
                Assert.Equal(3, save.Saved.Count);
                Assert.Equal((double)0.0025f, m.Optimizer.LearningRate);     // kept as float32, as in Keras
                results.Add((m.GetWeights(), r.History["loss"], Sequential.Load(save.Saved[1]).GetWeights()));
            }
            Fixtures.AssertBitIdentical(results[0].Weights, results[1].Weights);
            Fixtures.AssertBitIdentical(results[0].Saved, results[1].Saved);
            Assert.Equal(results[0].Loss, results[1].Loss);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void TerminateOnNaN_stops_a_diverging_fit_at_the_same_batch_with_the_same_weights_on_both_runtimes()
    {
        var results = new List<(int Batch, long Steps, float[][] Weights)>();
        foreach (var runtime in new[] { "in-process", "actors" })
        {
            var m = new Sequential([new Dense(32, "relu"), new Dense(10, "softmax")], "nan", [784], seed: 5);
            m.Compile(new SGD(1e30), "sparse_categorical_crossentropy", ["accuracy"]);
            var stop = new TerminateOnNaN(TextWriter.Null);     // keeps the actor runtime's lookahead (IReadOnlyBatchHooks)
            var r = m.FitWith(Fixtures.Train(512), Options(runtime, 3), [stop]);
            Assert.Single(r.Epochs);
            results.Add((stop.TerminatedAtBatch, r.Steps, m.GetWeights()));
        }
        Assert.InRange(results[0].Batch, 1, 6);     // at least one step applied with the next one opened ahead
        Assert.Equal(results[0].Batch, results[1].Batch);
        Assert.Equal(results[0].Steps, results[1].Steps);
        Assert.True(Batching.allFinite(results[1].Weights));
        Fixtures.AssertBitIdentical(results[0].Weights, results[1].Weights);
    }

    /// <summary>A read-only batch hook (the lookahead stays on) that throws at one batch's end.</summary>
    private sealed class ThrowAt(int batch) : Callback, IReadOnlyBatchHooks
    {
        public override void OnTrainBatchEnd(int b, IReadOnlyDictionary<string, double> logs)
        {
            if (b == batch) throw new InvalidOperationException($"callback failed at batch {b}");
        }
    }

    /// <summary>Stops training at one batch's end (a writing hook: no lookahead).</summary>
    private sealed class StopAt(int batch) : Callback
    {
        public override void OnTrainBatchEnd(int b, IReadOnlyDictionary<string, double> logs) { if (b == batch) Model.StopTraining = true; }
    }

    [Fact]
    public void A_callback_that_throws_with_the_next_step_open_ahead_leaves_whole_weights()
    {
        var reference = Model();
        reference.FitWith(Fixtures.Train(512), Options("in-process", 1), [new StopAt(4)]);
        for (int round = 0; round < 3; round++)
        {
            var m = Model();
            var e = Assert.Throws<InvalidOperationException>(() => m.FitWith(Fixtures.Train(512), Options("actors", 1), [new ThrowAt(3)]));
            Assert.Equal("callback failed at batch 3", e.Message);
            // batch 4 was open ahead: the fit took it before it returned, so the weights are those of 5 whole steps
            // and the optimizer counts 5 iterations (Adam's bias correction in a later fit depends on it)
            Fixtures.AssertBitIdentical(reference.GetWeights(), m.GetWeights());
            Assert.Equal(5L, reference.Optimizer.Iterations);
            Assert.Equal(reference.Optimizer.Iterations, m.Optimizer.Iterations);
        }
    }

    [Theory]
    [InlineData("in-process", "in-process")]
    [InlineData("actors", "actors")]
    [InlineData("actors", "in-process")]
    [InlineData("in-process", "actors")]
    public void Cancel_checkpoint_resume_gives_the_uninterrupted_weights(string first, string second)
    {
        var full = Model();
        full.FitWith(Fixtures.Train(512), Options("in-process", 3));
        var dir = Fixtures.TempDir();
        try
        {
            using var cts = new CancellationTokenSource();
            var cut = Model();
            var o = Options(first, 3);
            o.Checkpoints = new CheckpointSink(dir, 2, "parity", "sync");
            o.Cancellation = cts.Token;
            var r = cut.FitWith(Fixtures.Train(512), o, [new RecordingObserver(cts, cancelEpoch: 1, cancelStep: 3)]);
            Assert.True(r.Interrupted);
            Assert.Equal(8 + 4, r.Steps);
            var state = CheckpointStore.LoadLatest(dir)!;
            Assert.Equal((1, 4), (state.Epoch, state.StepInEpoch));

            var resumed = Model();
            var o2 = Options(second, 3);
            o2.Resume = CheckpointSink.ToFit(state);
            var r2 = resumed.FitWith(Fixtures.Train(512), o2);
            Assert.False(r2.Interrupted);
            Assert.Equal(3, r2.Epochs.Length);
            Assert.Equal(24, r2.Steps);
            Fixtures.AssertBitIdentical(full.GetWeights(), resumed.GetWeights());
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Captures the executor's weight arrays after the first step and the model's values seen meanwhile.</summary>
    private sealed class WeightHome(Sequential model) : Callback, IRuntimeCallback
    {
        private IStepExecutor? _exec;
        public float[][]? ExecutorWeights;
        public float[]? ValueDuringFit;
        public void SetExecutor(IStepExecutor executor) => _exec = executor;
        public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
        {
            if (ExecutorWeights is not null) return;
            ExecutorWeights = _exec!.Weights;
            ValueDuringFit = model.Variables[0].Value.ToFloat32Array();
        }
    }

    [Theory]
    [InlineData("in-process")]
    [InlineData("actors")]
    public void The_variables_are_the_one_home_of_the_weights(string runtime)
    {
        var m = Model();
        var v = m.Variables;
        var before = v[0].Value;                          // a tensor read before fit never changes
        var snapshot = before.ToFloat32Array();
        var home = v.Select(x => x.Borrow()).ToArray();
        foreach (var x in v) x.Return();
        var probe = new WeightHome(m);
        m.FitWith(Fixtures.Train(256), Options(runtime, 1), [probe]);
        // the executor (in-process engine or sync parameter server) updated the variables' own arrays, no copies
        for (int i = 0; i < v.Length; i++) Assert.Same(v[i].Borrow(), probe.ExecutorWeights![i]);
        foreach (var x in v) x.Return();
        Assert.Equal(snapshot, before.ToFloat32Array());
        Assert.NotEqual(snapshot, v[0].Value.ToFloat32Array());
        Assert.Equal(home[0].Length, probe.ValueDuringFit!.Length);      // Value during fit is a copy of the live weights
        Assert.NotSame(home[0], probe.ValueDuringFit);
    }
}
