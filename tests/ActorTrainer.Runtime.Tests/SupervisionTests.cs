namespace ActorTrainer.Runtime.Tests;

public class SupervisionTests
{
    [Fact]
    public async Task A_crashing_worker_is_restarted_and_its_shard_recomputed_with_identical_results()
    {
        var job = Fixtures.Job(512, new RuntimeOptions(Workers: 2, Faults: new FaultInjection(ThrowOnShard: 5)), epochs: 1);
        var (expected, losses) = Fixtures.Reference(job);
        var result = await ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None);
        Fixtures.AssertBitIdentical(expected, result.Weights);
        Assert.Equal(losses[0], result.History[0].Loss);
    }

    [Fact]
    public async Task A_single_worker_crash_is_recovered_too()
    {
        var job = Fixtures.Job(256, new RuntimeOptions(Workers: 1, Faults: new FaultInjection(ThrowOnShard: 0)), epochs: 1);
        var (expected, _) = Fixtures.Reference(job);
        var result = await ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None);
        Fixtures.AssertBitIdentical(expected, result.Weights);
    }

    [Fact]
    public async Task A_worker_that_times_out_has_its_shard_reassigned_and_its_late_answer_ignored()
    {
        // the clock starts before the run (the actor system's start, the first steps) and the sleep only at dispatch 6:
        // a sleep long enough that a loaded machine's slow start cannot use up the time the check allows
        var sleep = TimeSpan.FromSeconds(6);
        var job = Fixtures.Job(512, new RuntimeOptions(Workers: 2, WorkerTimeout: TimeSpan.FromMilliseconds(200),
            Faults: new FaultInjection(SleepOnShard: 6, SleepFor: sleep)), epochs: 1);
        var (expected, losses) = Fixtures.Reference(job);
        var observer = new RecordingObserver();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var resultTask = ActorTrainingRunner.RunAsync(job, [observer], CancellationToken.None);
        // the run goes on while the slow worker sleeps: steps after the stalled one complete before it wakes up
        var deadline = DateTime.UtcNow + sleep - TimeSpan.FromMilliseconds(500);
        while (DateTime.UtcNow < deadline && observer.Batches.Count < 4) await Task.Delay(20);
        Assert.True(observer.Batches.Count >= 4, $"only {observer.Batches.Count} steps done within {sw.Elapsed} while a worker slept");
        var result = await resultTask;
        Fixtures.AssertBitIdentical(expected, result.Weights);
        Assert.Equal(losses[0], result.History[0].Loss);
    }

    [Fact]
    public async Task A_shard_that_crashes_three_times_in_a_row_is_still_recovered_identically()
    {
        var job = Fixtures.Job(256, new RuntimeOptions(Workers: 2, Faults: new FaultInjection(ThrowOnShard: 2, ThrowTimes: 3)), epochs: 1);
        var (expected, _) = Fixtures.Reference(job);
        var result = await ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None);
        Fixtures.AssertBitIdentical(expected, result.Weights);
    }

    [Fact]
    public async Task A_shard_that_always_crashes_fails_the_run_naming_the_step_and_shard()
    {
        // dispatch 5 = global step 1, shard 1 (4 shards per batch)
        var job = Fixtures.Job(256, new RuntimeOptions(Workers: 2, ShardsPerBatch: 4, Faults: new FaultInjection(ThrowOnShard: 5, ThrowTimes: 100)), epochs: 1);
        var ex = await Assert.ThrowsAsync<WorkerFailedException>(() =>
            ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None));
        Assert.Contains("global step 1, shard 1", ex.Message);
        Assert.Contains("4 times", ex.Message);
        Assert.Contains("injected fault", ex.Message);
    }
}
