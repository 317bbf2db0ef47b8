namespace ActorTrainer.Runtime.Tests;

/// <summary>A worker that cannot start stops the run (Akka would otherwise recreate it forever); a batch larger than
/// the data is one batch of all the data, with the same result as batch = N; checkpoint pruning never deletes a
/// checkpoint with a higher step than the one just written (it is not this run's).</summary>
public class StartupAndLimitsTests
{
    [Fact]
    public async Task A_worker_whose_constructor_throws_fails_the_run_instead_of_restarting_forever()
    {
        var job = Fixtures.Job(256, new RuntimeOptions(Workers: 2, Faults: new FaultInjection(FailWorkerStart: true)), epochs: 1);
        var run = ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None);
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.True(finished == run, "the run did not fail within 20 s of its workers failing to start");
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => run);
        Assert.Contains("worker-", ex.Message);
        Assert.Contains("could not start", ex.Message);
    }

    [Fact]
    public async Task A_batch_larger_than_the_data_equals_one_batch_of_all_the_data()
    {
        var huge = Fixtures.Job(300, new RuntimeOptions(Workers: 2), epochs: 1, batch: 1_000_000_000);
        var exact = Fixtures.Job(300, new RuntimeOptions(Workers: 2), epochs: 1, batch: 300);
        var a = await ActorTrainingRunner.RunAsync(huge, [new RecordingObserver()], CancellationToken.None);
        var b = await ActorTrainingRunner.RunAsync(exact, [new RecordingObserver()], CancellationToken.None);
        Assert.Equal(1, a.Steps);
        Fixtures.AssertBitIdentical(b.Weights, a.Weights);
    }

    [Fact]
    public void Pruning_keeps_checkpoints_with_higher_steps_than_the_one_written()
    {
        var dir = Fixtures.TempDir();
        try
        {
            var state = new CheckpointState(3, 0, 1, 900, 0, 0, 0, Fixtures.InitialWeights(), "RMSprop", 900, [], [], "", 0, "sync");
            CheckpointStore.Save(dir, state, keep: 5);                       // another run's checkpoint, step 900
            CheckpointStore.Save(dir, state with { GlobalStep = 10 }, keep: 1);
            CheckpointStore.Save(dir, state with { GlobalStep = 20 }, keep: 1);
            var steps = CheckpointStore.List(dir).Select(c => c.Step).ToArray();
            Assert.Equal([900L, 20L], steps);
        }
        finally { Directory.Delete(dir, true); }
    }
}
