namespace ActorTrainer.Runtime.Tests;

/// <summary>CheckpointSink's background writes (a copy, written in order, failures raised later) and the fit loop's
/// Flush before it returns or throws.</summary>
public class CheckpointSinkTests
{
    private static FitCheckpoint Checkpoint(long step, float[][] weights, float[][][] slots) =>
        new(3, 0, 2, step, new ShardStats(1.5, 7, 10), weights, "RMSprop", step, slots, [], 0L);

    [Fact]
    public void A_background_save_writes_the_state_as_it_was_when_Save_returned()
    {
        var dir = Fixtures.TempDir();
        try
        {
            float[][] weights = [[1f, 2f, 3f], [4f]];
            float[][][] slots = [[[0.5f, 0.25f, 0.125f]], [[2f]]];      // per weight: its one slot
            var sink = new CheckpointSink(dir, 2, "cfg", "sync", background: true);
            for (long step = 1; step <= 3; step++)
            {
                sink.Save(Checkpoint(step, weights, slots));
                // the loop goes on training: the live arrays change while the write may still be under way
                weights[0][0] = 100f + step; weights[1][0] = -1f; slots[0][0][1] = 9f;
            }
            sink.Flush();
            Assert.Equal(CheckpointStore.PathFor(dir, 3), sink.LastPath);
            Assert.Equal(new long[] { 3, 2 }, CheckpointStore.List(dir).Select(c => c.Step).ToArray());
            var back = CheckpointStore.Load(CheckpointStore.PathFor(dir, 3));
            Fixtures.AssertBitIdentical([[102f, 2f, 3f], [-1f]], back.Weights);
            Fixtures.AssertBitIdentical([[0.5f, 9f, 0.125f]], back.OptimizerSlots[0]);
            Fixtures.AssertBitIdentical([[2f]], back.OptimizerSlots[1]);
            Assert.Equal("cfg", back.ConfigText);
            // the save before it, whose copy arrays the last save reused once that write was done, is intact
            var before = CheckpointStore.Load(CheckpointStore.PathFor(dir, 2));
            Fixtures.AssertBitIdentical([[101f, 2f, 3f], [-1f]], before.Weights);
            Fixtures.AssertBitIdentical([[0.5f, 9f, 0.125f]], before.OptimizerSlots[0]);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_failed_write_names_the_directory_and_step_and_is_raised_once(bool background)
    {
        var file = Path.Combine(Fixtures.TempDir(), "not-a-directory");
        File.WriteAllText(file, "x");
        var sink = new CheckpointSink(file, 2, "", "sync", background);
        var c = Checkpoint(7, [[1f]], []);
        IOException e;
        if (background)
        {
            sink.Save(c);                                   // returns; the write fails on its own thread
            e = Assert.Throws<IOException>(sink.Flush);
            sink.Flush();                                   // raised once
        }
        else e = Assert.Throws<IOException>(() => sink.Save(c));
        Assert.Contains(file, e.Message);
        Assert.Contains("global step 7", e.Message);
        Assert.Null(sink.LastPath);
    }

    /// <summary>Records Save and Flush calls in order.</summary>
    private sealed class RecordingSink : IFlushingCheckpointSink
    {
        public readonly List<string> Calls = new();
        public void Save(FitCheckpoint c) => Calls.Add("save " + c.GlobalStep);
        public void Flush() => Calls.Add("flush");
    }

    private sealed class ThrowAtEpoch(int epoch) : Callback
    {
        public override void OnEpochBegin(int e, int steps)
        {
            if (e == epoch) throw new InvalidOperationException("callback failed");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Fit_flushes_its_checkpoints_before_it_returns_or_throws(bool fail)
    {
        var sink = new RecordingSink();
        var job = new StepJob(Fixtures.Plan, Fixtures.InitialWeights(), Fixtures.RmsProp(), Fixtures.Train(256), 64, 2, 3, true);
        var options = new FitOptions { Epochs = 2, BatchSize = 64, Seed = 3, ShardsPerBatch = 2, Checkpoints = sink };
        ICallback[] callbacks = fail ? [new ThrowAtEpoch(1)] : [];
        var run = () => FitLoop.Run(job, options, ["accuracy"], new WeightsTrainee(job.Optimizer), callbacks);
        if (fail)
        {
            Assert.Equal("callback failed", Assert.Throws<InvalidOperationException>(run).Message);
            Assert.Equal(["save 4", "flush"], sink.Calls);
        }
        else
        {
            run();
            Assert.Equal(["save 4", "save 8", "flush"], sink.Calls);
        }
    }
    [Fact]
    public void A_null_state_an_unknown_mode_no_checkpoints_to_keep_a_blank_dir_and_a_negative_step_interval_are_refused_naming_them()
    {
        var e = Assert.Throws<ArgumentNullException>(() => CheckpointSink.ToFit(null!));
        Assert.Equal("s", e.ParamName);
        Assert.Contains("LoadLatest returns null", e.Message);
        var m = Assert.Throws<ArgumentException>(() => new CheckpointSink(Fixtures.TempDir(), 2, "", "banana"));
        Assert.Equal("mode", m.ParamName);
        Assert.Contains("'sync' or 'async'", m.Message);
        Assert.Contains("'banana'", m.Message);
        var k = Assert.Throws<ArgumentOutOfRangeException>(() => new CheckpointSink(Fixtures.TempDir(), 0, "", "sync"));   // when made, not at the first save
        Assert.Equal("keep", k.ParamName);
        Assert.Equal("dir", Assert.Throws<ArgumentException>(() => new CheckpointSink(" ", 2, "", "sync")).ParamName);
        var model = SmallModel();
        var n = Assert.Throws<ArgumentOutOfRangeException>(() =>
            model.FitWith(Fixtures.Train(128), new FitOptions { Verbose = 0, BatchSize = 64, CheckpointEverySteps = -3 }));
        Assert.Equal("CheckpointEverySteps", n.ParamName);
    }

    private static Sequential SmallModel()
    {
        var m = new Sequential([new Dense(8, "relu"), new Dense(10, "softmax")], "small", seed: 5);
        m.Compile(new RMSprop(), "sparse_categorical_crossentropy", ["accuracy"]);
        return m;
    }

    [Fact]
    public void Resume_refuses_a_checkpoint_beyond_Epochs_and_a_different_batch_size()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var options = new FitOptions { Epochs = 3, BatchSize = 64, Seed = 11, Verbose = 0, CheckpointEverySteps = 7,
                                           Checkpoints = new CheckpointSink(dir, 10, "", "sync") };
            var full = SmallModel();
            full.FitWith(Fixtures.Train(512), options);                    // 8 steps per epoch: global step 21 is epoch 3, step 5
            var state = CheckpointSink.ToFit(CheckpointStore.Load(CheckpointStore.PathFor(dir, 21)));
            Assert.Equal((2, 5), (state.Epoch, state.StepInEpoch));
            foreach (var epochs in new[] { 1, 2 })
            {
                var e = Assert.Throws<ArgumentException>(() => SmallModel().FitWith(Fixtures.Train(512),
                    new FitOptions { Epochs = epochs, BatchSize = 64, Seed = 11, Verbose = 0, Resume = state }));
                Assert.Equal("Epochs", e.ParamName);
                Assert.Contains($"the checkpoint is in epoch 3 (step 5 of it) but Epochs is {epochs}", e.Message);
            }
            var b = Assert.Throws<CheckpointException>(() => SmallModel().FitWith(Fixtures.Train(512),
                new FitOptions { Epochs = 3, BatchSize = 32, Seed = 11, Verbose = 0, Resume = state }));
            Assert.Contains("written with BatchSize 64", b.Message);
            Assert.Contains("but BatchSize is 32", b.Message);
            var resumed = SmallModel();
            var r = resumed.FitWith(Fixtures.Train(512), new FitOptions { Epochs = 3, BatchSize = 64, Seed = 11, Verbose = 0, Resume = state });
            Assert.False(r.Interrupted);
            Fixtures.AssertBitIdentical(full.GetWeights(), resumed.GetWeights());
        }
        finally { Directory.Delete(dir, true); }
    }
}
