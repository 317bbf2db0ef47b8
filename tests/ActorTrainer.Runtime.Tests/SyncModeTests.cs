namespace ActorTrainer.Runtime.Tests;

public class SyncModeTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public async Task Sync_weights_are_bit_identical_to_the_SyncStepper_loop_for_any_worker_count(int workers)
    {
        // 514 samples, batch 64: the last batch has 2 rows, so 2 of its 4 shards are empty.
        var job = Fixtures.Job(514, new RuntimeOptions(Workers: workers, ShardsPerBatch: 4));
        var (expected, losses) = Fixtures.Reference(job);
        var observer = new RecordingObserver();
        var result = await ActorTrainingRunner.RunAsync(job, [observer], CancellationToken.None);

        Fixtures.AssertBitIdentical(expected, result.Weights);
        Assert.Equal(2 * 9, result.Steps);
        Assert.False(result.Interrupted);
        Assert.Equal(workers, result.Workers);
        Assert.Equal("sync", result.Mode);
        Assert.Equal(0, result.StaleGradientsRejected);
        Assert.Equal(losses, result.History.Select(h => h.Loss).ToArray());
        Assert.Equal(new[] { (0, 9), (1, 9) }, observer.Begins);
        Assert.Equal(18, observer.Batches.Count);
        Assert.Equal(Enumerable.Range(0, 9).Concat(Enumerable.Range(0, 9)), observer.Batches.Select(b => b.Step));
        Assert.Equal(losses[1], observer.Batches[^1].Loss);
        Assert.True(losses[1] < losses[0], $"training loss should fall: {losses[0]} -> {losses[1]}");
    }

    [Fact]
    public async Task Sync_with_three_shards_and_a_ragged_batch_matches_the_reference()
    {
        var job = Fixtures.Job(500, new RuntimeOptions(Workers: 3, ShardsPerBatch: 3), epochs: 1, batch: 48);
        var (expected, _) = Fixtures.Reference(job);
        var result = await ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None);
        Fixtures.AssertBitIdentical(expected, result.Weights);
        Assert.Equal(11, result.Steps);
    }

    [Fact]
    public async Task Initial_weights_are_not_modified_by_a_run()
    {
        var job = Fixtures.Job(256, new RuntimeOptions(Workers: 2), epochs: 1);
        var before = job.InitialWeights.Select(a => (float[])a.Clone()).ToArray();
        var result = await ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None);
        Fixtures.AssertBitIdentical(before, job.InitialWeights);
        Assert.NotEqual(before[0], result.Weights[0]);
    }

    [Fact]
    public async Task Validation_metrics_equal_an_inference_pass_over_the_final_weights()
    {
        var val = Fixtures.Validation(300);
        var job = Fixtures.Job(512, new RuntimeOptions(Workers: 2), epochs: 2, validation: val);
        var result = await ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None);

        var engine = new GradientEngine(job.Plan, job.BatchSize);
        var total = ShardStats.Zero;
        for (int s = 0; s < val.Count; s += job.BatchSize)
        {
            int rows = Math.Min(job.BatchSize, val.Count - s);
            total += engine.Evaluate(result.Weights, val.X.AsSpan(s * 784, rows * 784), val.Labels.AsSpan(s, rows), ReadOnlySpan<float>.Empty, rows);
        }
        var last = result.History[^1];
        Assert.Equal(total.LossSum / total.Count, last.ValLoss);
        Assert.Equal(total.Correct / total.Count, last.ValAccuracy);
        Assert.InRange(last.ValAccuracy!.Value, 0.5, 1.0);
        Assert.Null(Fixtures.Job(64, new RuntimeOptions()).Validation);
    }

    [Fact]
    public async Task Observer_stop_request_finishes_cleanly_after_that_epoch()
    {
        var job = Fixtures.Job(256, new RuntimeOptions(Workers: 2), epochs: 5);
        var observer = new RecordingObserver(stopAfterEpoch: 1);
        var result = await ActorTrainingRunner.RunAsync(job, [observer], CancellationToken.None);
        Assert.Equal(2, result.History.Count);
        Assert.Equal(8, result.Steps);
        Assert.False(result.Interrupted);
        Assert.Equal(2, observer.Ends.Count);
    }

    [Fact]
    public async Task Non_finite_loss_stops_with_the_epoch_and_step_and_keeps_the_last_good_checkpoint()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var job = Fixtures.Job(512, new RuntimeOptions(Workers: 2, CheckpointEverySteps: 1, CheckpointKeep: 2, CheckpointDir: dir),
                epochs: 3, optimizer: Fixtures.Sgd(1e30));
            var ex = await Assert.ThrowsAsync<TrainingDivergedException>(() =>
                ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None));
            Assert.Equal(0, ex.Epoch);
            Assert.InRange(ex.Step, 1, 7);
            Assert.Equal(ex.Step, ex.StepInEpoch);
            Assert.Contains($"epoch 1, batch {ex.StepInEpoch + 1} of that epoch (counted from 1; {ex.Step} {(ex.Step == 1 ? "step" : "steps")} had been applied)", ex.Message);
            var last = CheckpointStore.LoadLatest(dir);
            Assert.NotNull(last);
            Assert.Equal(ex.Step, last!.GlobalStep);
            Assert.True(Batching.allFinite(last.Weights));
        }
        finally { Directory.Delete(dir, true); }
    }
}
