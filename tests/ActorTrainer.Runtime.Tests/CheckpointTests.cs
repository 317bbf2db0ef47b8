namespace ActorTrainer.Runtime.Tests;

public class CheckpointTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Cancelled_mid_epoch_and_resumed_ends_bit_identical_to_an_uninterrupted_run(int workers)
    {
        var dir = Fixtures.TempDir();
        try
        {
            var options = new RuntimeOptions(Workers: workers, CheckpointDir: dir);
            var job = Fixtures.Job(512, options, epochs: 3);
            var (expected, losses) = Fixtures.Reference(job);

            using var cts = new CancellationTokenSource();
            var first = await ActorTrainingRunner.RunAsync(job, [new RecordingObserver(cts, cancelEpoch: 1, cancelStep: 3)], cts.Token);
            Assert.True(first.Interrupted);
            Assert.InRange(first.Steps, 8 + 4, 8 + 7);
            Assert.Single(first.History);

            var warnings = new List<string>();
            var state = CheckpointStore.LoadLatest(dir, warnings);
            Assert.Empty(warnings);
            Assert.NotNull(state);
            Assert.Equal(first.Steps, state!.GlobalStep);
            Assert.Equal(1, state.Epoch);
            Assert.Equal((int)(first.Steps - 8), state.StepInEpoch);
            Assert.Equal(job.ConfigText, state.ConfigText);
            Assert.Equal(job.Seed, state.Seed);
            Assert.Equal("RMSprop", state.OptimizerName);
            Assert.Equal(first.Steps, state.OptimizerIterations);
            Fixtures.AssertBitIdentical(first.Weights, state.Weights);

            // resume with a fresh optimizer and unrelated initial weights: everything comes from the checkpoint
            var resumed = job with { Optimizer = Fixtures.RmsProp(), InitialWeights = Fixtures.InitialWeights(99), Resume = state };
            var observer = new RecordingObserver();
            var second = await ActorTrainingRunner.RunAsync(resumed, [observer], CancellationToken.None);
            Assert.False(second.Interrupted);
            Assert.Equal(24, second.Steps);
            Fixtures.AssertBitIdentical(expected, second.Weights);
            Assert.Equal(losses, second.History.Select(h => h.Loss).ToArray());
            Assert.Equal(state.StepInEpoch, observer.Batches[0].Step);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task Corrupt_or_truncated_newest_checkpoints_fall_back_to_the_previous_one_which_resumes_exactly()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var job = Fixtures.Job(512, new RuntimeOptions(Workers: 2, CheckpointDir: dir, CheckpointEverySteps: 3, CheckpointKeep: 3), epochs: 2);
            var (expected, _) = Fixtures.Reference(job);
            var done = await ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None);
            Fixtures.AssertBitIdentical(expected, done.Weights);

            // checkpoints at steps 3, 6, 8 (epoch end), 9, 12, 15, 16 (end); the newest 3 are kept
            var files = CheckpointStore.List(dir);
            Assert.Equal(new long[] { 16, 15, 12 }, files.Select(f => f.Step).ToArray());
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));

            var newest = File.ReadAllBytes(files[0].Path);
            newest[newest.Length / 2] ^= 0x40;
            File.WriteAllBytes(files[0].Path, newest);
            var second = File.ReadAllBytes(files[1].Path);
            File.WriteAllBytes(files[1].Path, second.AsSpan(0, second.Length - 10).ToArray());

            var warnings = new List<string>();
            var state = CheckpointStore.LoadLatest(dir, warnings);
            Assert.NotNull(state);
            Assert.Equal(12, state!.GlobalStep);
            Assert.Equal(2, warnings.Count);
            Assert.Contains("ckpt-16.bin", warnings[0]);
            Assert.Contains("checksum", warnings[0]);
            Assert.Contains("ckpt-15.bin", warnings[1]);
            Assert.Contains("truncated", warnings[1]);
            var ex = Assert.Throws<CheckpointException>(() => CheckpointStore.Load(files[0].Path));
            Assert.Contains(files[0].Path, ex.Message);

            var resumed = job with { Optimizer = Fixtures.RmsProp(), Resume = state };
            var result = await ActorTrainingRunner.RunAsync(resumed, [new RecordingObserver()], CancellationToken.None);
            Fixtures.AssertBitIdentical(expected, result.Weights);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Save_and_load_round_trip_every_field_and_keep_prunes_old_files()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var state = new CheckpointState(5, 2, 7, 123, 1.5, 42, 640,
                [[1f, -2.5f, float.Epsilon], [3f]], "Adam", 123, [[[0.1f, 0.2f, 0.3f], [0.4f, 0.5f, 0.6f]], []],
                [new EpochLogs(0, 0.9, 0.7, 0.8, 0.75, 1.25, new Dictionary<string, double> { ["loss"] = 0.9, ["learning_rate"] = 0.25 }), new EpochLogs(1, 0.5, 0.85, null, null, 2.5, null)], "a = 1\nb = \"é\"", 17, "async");
            for (long s = 1; s <= 4; s++) CheckpointStore.Save(dir, state with { GlobalStep = s * 10 }, keep: 2);
            Assert.Equal(new long[] { 40, 30 }, CheckpointStore.List(dir).Select(f => f.Step).ToArray());
            var back = CheckpointStore.Load(CheckpointStore.PathFor(dir, 40));
            Assert.Equal((5, 2, 7, 40L, 1.5, 42.0, 640L), (back.Seed, back.Epoch, back.StepInEpoch, back.GlobalStep, back.EpochLossSum, back.EpochCorrect, back.EpochCount));
            Fixtures.AssertBitIdentical(state.Weights, back.Weights);
            Assert.Equal("Adam", back.OptimizerName);
            Assert.Equal(123, back.OptimizerIterations);
            Assert.Equal(2, back.OptimizerSlots.Length);
            Fixtures.AssertBitIdentical(state.OptimizerSlots[0], back.OptimizerSlots[0]);
            Assert.Empty(back.OptimizerSlots[1]);
            Assert.Equal(state.History.Select(h => (h.Epoch, h.Loss, h.Accuracy, h.ValLoss, h.ValAccuracy, h.Seconds)),
                         back.History.Select(h => (h.Epoch, h.Loss, h.Accuracy, h.ValLoss, h.ValAccuracy, h.Seconds)));
            Assert.Equal(state.History[0].Logs, back.History[0].Logs);              // each epoch's logs, in order
            Assert.Equal(["loss", "learning_rate"], back.History[0].Logs.Keys);
            Assert.Null(back.History[1].Logs);
            Assert.Equal(state.ConfigText, back.ConfigText);
            Assert.Equal(17, back.StaleGradientsRejected);
            Assert.Equal("async", back.Mode);
            Assert.Null(CheckpointStore.LoadLatest(Fixtures.TempDir()));
            var missing = Path.Combine(dir, "nope");
            var ex = Assert.Throws<DirectoryNotFoundException>(() => CheckpointStore.LoadLatest(missing));
            Assert.Contains(missing, ex.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task Resume_with_a_different_seed_or_optimizer_is_rejected()
    {
        var state = new CheckpointState(3, 1, 0, 8, 0, 0, 0, Fixtures.InitialWeights(), "RMSprop", 8, [],
            [new EpochLogs(0, 1, 0.5, null, null, 1, null)], "", 0, "sync");
        var job = Fixtures.Job(512, new RuntimeOptions(), resume: state with { Seed = 4 });
        ActorTrainer.Core.CheckpointException ex = await Assert.ThrowsAsync<ActorTrainer.Core.CheckpointException>(() => ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None));
        Assert.Contains("checkpoint seed 4", ex.Message);
        job = Fixtures.Job(512, new RuntimeOptions(), resume: state with { OptimizerName = "Adam" });
        ex = await Assert.ThrowsAsync<ActorTrainer.Core.CheckpointException>(() => ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None));
        Assert.Contains("checkpoint optimizer 'Adam'", ex.Message);
        job = Fixtures.Job(512, new RuntimeOptions(), resume: state with { StepInEpoch = 8 });
        ex = await Assert.ThrowsAsync<ActorTrainer.Core.CheckpointException>(() => ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None));
        Assert.Contains("checkpoint position", ex.Message);
        job = Fixtures.Job(512, new RuntimeOptions(), resume: state with { OptimizerSlots = [[new float[5]]] });
        ex = await Assert.ThrowsAsync<ActorTrainer.Core.CheckpointException>(() => ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None));
        Assert.Contains("checkpoint optimizer slot of weight 0 has 5 elements but the weight has 25088", ex.Message);
    }
}
