using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Runtime;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>The learning-rate warm-up is a pure function of (epoch, batch, steps per epoch): a run stopped inside the
/// warm-up and resumed from its checkpoint ends with the weights of an uninterrupted run, bit for bit, on both runtimes
/// and through `train --resume`.</summary>
public sealed class WarmupResumeTests
{
    private static readonly Lazy<ArrayData> Data = new(() =>
    {
        var (train, _) = Mnist.LoadBundled();
        const int n = 512;
        return new ArrayData(train.Images.AsSpan(0, n * 784).ToArray(), 784, train.Labels.AsSpan(0, n).ToArray(), null, n);
    });

    private static Sequential Model()
    {
        var m = new Sequential([new Dense(32, "relu"), new Dense(10, "softmax")], "warmup", [784], seed: 5);
        m.Compile(new RMSprop(learningRate: 0.001), "sparse_categorical_crossentropy", ["accuracy"]);
        m.Build([784]);
        return m;
    }

    // 512 samples, batch 64: 8 steps per epoch; a 1.5-epoch warm-up ends at global step 12
    private static LearningRateWarmup Warmup() => new(0.001, 0.004, 1.5);

    private static FitOptions Options(string runtime) => new()
    {
        Epochs = 3, BatchSize = 64, Seed = 11, ShardsPerBatch = 4, Verbose = 0,
        Runtime = runtime == "actors" ? new ActorStepRuntime(new RuntimeOptions(Workers: 2)) : InProcessRuntime.Instance,
    };

    /// <summary>Cancels after the given batch.</summary>
    private sealed class CancelAt(CancellationTokenSource cts, int epoch, int batch) : Callback
    {
        private int _epoch;
        public override void OnEpochBegin(int e, int steps) => _epoch = e;
        public override void OnTrainBatchEnd(int b, IReadOnlyDictionary<string, double> logs)
        {
            if (_epoch == epoch && b == batch) cts.Cancel();
        }
    }

    [Theory]
    [InlineData("in-process")]
    [InlineData("actors")]
    public void Resuming_inside_the_warmup_gives_the_uninterrupted_weights(string runtime)
    {
        var full = Model();
        full.FitWith(Data.Value, Options(runtime), [Warmup()]);
        Assert.Equal(0.004, full.Optimizer.LearningRate);

        var dir = Path.Combine(Path.GetTempPath(), "actortrainer-warmup-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var cts = new CancellationTokenSource();
            var cut = Model();
            var o = Options(runtime);
            o.Checkpoints = new CheckpointSink(dir, 2, "warmup", "sync");
            o.Cancellation = cts.Token;
            var r = cut.FitWith(Data.Value, o, [Warmup(), new CancelAt(cts, 1, 1)]);
            Assert.True(r.Interrupted);
            var state = CheckpointStore.LoadLatest(dir)!;
            Assert.Equal((1, 2), (state.Epoch, state.StepInEpoch));      // global step 10, inside the warm-up

            var resumed = Model();
            var o2 = Options(runtime);
            o2.Resume = CheckpointSink.ToFit(state);
            var r2 = resumed.FitWith(Data.Value, o2, [Warmup()]);
            Assert.Equal(24, r2.Steps);
            Assert.Equal(Weights.sha256(full.GetWeights()), Weights.sha256(resumed.GetWeights()));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void The_warmup_gives_the_same_weights_on_both_runtimes()
    {
        // on actors the batches after the warm-up (global step 12 on) are opened ahead (LearningRateWarmup is an
        // IBatchLearningRate): the rate each update uses must still be the in-process run's
        var runs = new[] { "in-process", "actors" }.Select(runtime =>
        {
            var m = Model();
            var r = m.FitWith(Data.Value, Options(runtime), [Warmup()]);
            return (Sha: Weights.sha256(m.GetWeights()), Loss: r.History["loss"]);
        }).ToArray();
        Assert.Equal(runs[0].Sha, runs[1].Sha);
        Assert.Equal(runs[0].Loss, runs[1].Loss);
    }

    [Fact]
    public void The_warmup_changes_training()
    {
        var plain = Model();
        plain.FitWith(Data.Value, Options("in-process"));
        var warm = Model();
        warm.FitWith(Data.Value, Options("in-process"), [Warmup()]);
        Assert.NotEqual(Weights.sha256(plain.GetWeights()), Weights.sha256(warm.GetWeights()));
    }

    private static readonly string[] Cli2048 =
    [
        "--set", "data.train-limit=2048", "--set", "data.test-limit=300", "--set", "trainer.runtime=in-process",
        "--set", "output.plots=false", "--set", "output.tensorboard=false", "--set", "output.save-model=false",
        "--set", "trainer.shards-per-batch=4", "--set", "trainer.per-shard-batch-size=64",
        "--set", "optimizer.learning-rate-scaling=linear", "--set", "optimizer.warmup-epochs=1.5",
    ];

    [Fact]
    public void Train_resume_inside_the_warmup_gives_the_uninterrupted_weights()
    {
        using var t = new TempDir();
        Cli.Train(t["full"], [.. Cli2048, "--set", "trainer.epochs=2"]);
        Cli.Train(t["cut"], [.. Cli2048, "--set", "trainer.epochs=1"]);
        // the first run ends after epoch 1 of a 1.5-epoch warm-up; resuming continues the ramp in epoch 2
        var r = Cli.Run(["train", "--resume", t["cut"], "--set", "trainer.epochs=2"]);
        Assert.True(r.ExitCode == 0, r.Describe());
        var full = RunDir.Summary(t["full"]);
        var resumed = RunDir.Summary(t["cut"]);
        Assert.True(resumed.GetProperty("resumed").GetBoolean());
        Assert.Equal(full.GetProperty("weights_sha256").GetString(), resumed.GetProperty("weights_sha256").GetString());
        Assert.Equal(16, resumed.GetProperty("steps").GetInt64());                 // 2048 / 256 = 8 steps per epoch
        Assert.Equal(256, full.GetProperty("batch_size").GetInt32());
        Assert.Equal(256, full.GetProperty("global_batch_size").GetInt32());
        Assert.Equal(64, full.GetProperty("per_shard_batch_size").GetInt32());
        Assert.Equal("linear", full.GetProperty("learning_rate_scaling").GetString());
        Assert.Equal(1.5, full.GetProperty("warmup_epochs").GetDouble());
        Assert.Equal(0.004, full.GetProperty("learning_rate").GetDouble(), 12);   // 0.001 × 4 shards after the warm-up
    }

    [Fact]
    public void Train_refuses_a_conflicting_batch_size_with_exit_2()
    {
        using var t = new TempDir();
        var r = Cli.Run(["train", "--run-dir", t["run"], .. Cli2048, "--set", "trainer.batch-size=100"]);
        Cli.AssertBadInput(r, "trainer.batch-size = 100", "trainer.per-shard-batch-size = 64", "256");
        Assert.False(File.Exists(Path.Combine(t["run"], "summary.json")));
    }
}
