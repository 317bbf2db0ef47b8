namespace ActorTrainer.Runtime.Tests;

public class AsyncModeTests
{
    [Fact]
    public async Task Async_mode_trains_and_the_loss_decreases()
    {
        var job = Fixtures.Job(1024, new RuntimeOptions(Workers: 2, Mode: "async", AsyncMaxStaleness: 4, AsyncPullEvery: 1),
            epochs: 3, validation: Fixtures.Validation(256));
        var observer = new RecordingObserver();
        var result = await ActorTrainingRunner.RunAsync(job, [observer], CancellationToken.None);
        Assert.Equal("async", result.Mode);
        Assert.Equal(48, result.Steps);
        Assert.Equal(3, result.History.Count);
        Assert.True(result.History[2].Loss < result.History[0].Loss, $"loss {result.History[0].Loss} -> {result.History[2].Loss}");
        Assert.True(result.History[0].Loss < 2.2, $"first epoch loss {result.History[0].Loss}");
        Assert.InRange(result.History[2].ValAccuracy!.Value, 0.7, 1.0);
        Assert.Equal(48, observer.Batches.Count);
        // every batch of every epoch is reported exactly once
        Assert.Equal(Enumerable.Range(0, 16).ToArray(), observer.Batches.Where(b => b.Epoch == 1).Select(b => b.Step).Order().ToArray());
    }

    [Fact]
    public async Task Async_mode_with_zero_staleness_and_two_workers_rejects_and_counts_stale_gradients()
    {
        var job = Fixtures.Job(1024, new RuntimeOptions(Workers: 2, Mode: "async", AsyncMaxStaleness: 0, AsyncPullEvery: 2), epochs: 1);
        var result = await ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None);
        Assert.Equal(16, result.Steps);
        Assert.InRange(result.StaleGradientsRejected, 1, 15);
    }

    [Fact]
    public async Task Async_mode_with_one_worker_pulling_every_step_never_rejects()
    {
        var job = Fixtures.Job(512, new RuntimeOptions(Workers: 1, Mode: "async", AsyncMaxStaleness: 0, AsyncPullEvery: 1), epochs: 1);
        var result = await ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None);
        Assert.Equal(0, result.StaleGradientsRejected);
        // one worker, fresh weights every step, whole batches: a plain single-shard SGD loop
        var reference = Fixtures.Reference(job with { Options = job.Options with { ShardsPerBatch = 1 }, Epochs = 1 });
        Fixtures.AssertBitIdentical(reference.Weights, result.Weights);
    }

    [Fact]
    public async Task Async_mode_recovers_from_a_crashed_worker_and_can_be_cancelled_with_a_checkpoint()
    {
        var dir = Fixtures.TempDir();
        try
        {
            using var cts = new CancellationTokenSource();
            var job = Fixtures.Job(1024, new RuntimeOptions(Workers: 2, Mode: "async", CheckpointDir: dir,
                Faults: new FaultInjection(ThrowOnShard: 3)), epochs: 3);
            var result = await ActorTrainingRunner.RunAsync(job, [new RecordingObserver(cts, cancelEpoch: 1, cancelStep: 2)], cts.Token);
            Assert.True(result.Interrupted);
            var state = CheckpointStore.LoadLatest(dir);
            Assert.NotNull(state);
            Assert.Equal(result.Steps, state!.GlobalStep);
            // batches already handed out when the stop reached the generator still finish, possibly the whole epoch
            Assert.True((state.Epoch == 1 && state.StepInEpoch is >= 1 and <= 15) || (state.Epoch == 2 && state.StepInEpoch == 0),
                $"checkpoint at epoch {state.Epoch}, step {state.StepInEpoch}");
            Assert.Equal(state.Epoch * 16L + state.StepInEpoch, state.GlobalStep);
            Assert.Equal(state.Epoch, state.History.Count);
            var resumed = await ActorTrainingRunner.RunAsync(job with { Optimizer = Fixtures.RmsProp(), Resume = state },
                [new RecordingObserver()], CancellationToken.None);
            Assert.Equal(48, resumed.Steps);
            Assert.Equal(3, resumed.History.Count);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task Async_mode_reassigns_a_timed_out_batch_and_ignores_the_late_answer()
    {
        var job = Fixtures.Job(1024, new RuntimeOptions(Workers: 2, Mode: "async", WorkerTimeout: TimeSpan.FromMilliseconds(200),
            Faults: new FaultInjection(SleepOnShard: 3, SleepFor: TimeSpan.FromSeconds(1.5))), epochs: 1);
        var observer = new RecordingObserver();
        var result = await ActorTrainingRunner.RunAsync(job, [observer], CancellationToken.None);
        Assert.Equal(16, result.Steps);
        Assert.Equal(16, observer.Batches.Count);
        Assert.Equal(Enumerable.Range(0, 16).ToArray(), observer.Batches.Select(b => b.Step).Order().ToArray());
        Assert.True(double.IsFinite(result.History[0].Loss) && result.History[0].Loss < 2.3, $"loss {result.History[0].Loss}");
    }
}
