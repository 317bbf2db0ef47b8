namespace ActorTrainer.Runtime.Tests;

public class OptionsTests
{
    public static TheoryData<RuntimeOptions, string> BadOptions => new()
    {
        { new RuntimeOptions(Workers: -2), "trainer.workers must be 'auto' or an integer >= 0 (0 = number of cores), got -2" },
        { new RuntimeOptions(ThreadsPerWorker: -1), "trainer.threads-per-worker must be >= 0 (0 = auto), got -1" },
        { new RuntimeOptions(PsSlices: -1), "trainer.ps-slices must be >= 0 (0 = auto), got -1" },
        { new RuntimeOptions(PsSlices: 100_000), "trainer.ps-slices must be at most 1024, got 100000" },
        { new RuntimeOptions(Staleness: (StalenessPolicy)7), "trainer.async.staleness must be 'none' or 'inverse'" },
        { new RuntimeOptions(Mode: "hogwild"), "trainer.mode must be 'sync' or 'async', got 'hogwild'" },
        { new RuntimeOptions(ShardsPerBatch: 0), "trainer.shards-per-batch must be >= 1, got 0" },
        { new RuntimeOptions(AsyncPullEvery: 0), "trainer.async.pull-every must be >= 1, got 0" },
        { new RuntimeOptions(AsyncMaxStaleness: -2), "trainer.async.max-staleness must be >= 0, got -2" },
        { new RuntimeOptions(WorkerTimeout: TimeSpan.Zero), "trainer.worker-timeout must be > 0" },
        { new RuntimeOptions(CheckpointEverySteps: -5), "trainer.checkpoint.every-steps must be >= 0" },
        { new RuntimeOptions(CheckpointKeep: 0), "trainer.checkpoint.keep must be >= 1, got 0" },
        { new RuntimeOptions(CheckpointDir: " "), "trainer.checkpoint.dir" },
        { new RuntimeOptions(Faults: new FaultInjection(ThrowTimes: 0)), "ThrowTimes must be >= 1" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public async Task Bad_options_are_rejected_with_a_message_naming_the_key(RuntimeOptions options, string message)
    {
        var ex = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Contains(message, ex.Message);
        var viaRun = await Assert.ThrowsAsync<ArgumentException>(() =>
            ActorTrainingRunner.RunAsync(Fixtures.Job(64, options), [new RecordingObserver()], CancellationToken.None));
        Assert.Contains(message, viaRun.Message);
    }

    [Fact]
    public void Defaults_are_valid_and_resolve_workers_and_timeout()
    {
        var o = new RuntimeOptions();
        o.Validate();
        Assert.Equal(RuntimeOptions.AutoWorkers, o.Workers);
        Assert.Equal(Math.Min(Environment.ProcessorCount, o.ShardsPerBatch), o.EffectiveWorkers);
        Assert.Equal(Environment.ProcessorCount, (o with { Workers = 0 }).EffectiveWorkers);
        Assert.Equal(TimeSpan.FromSeconds(30), o.EffectiveWorkerTimeout);
        Assert.False(o.IsAsync);
        Assert.True((o with { Mode = "async" }).IsAsync);
    }

    [Fact]
    public async Task Bad_jobs_are_rejected_naming_the_data_weights_or_schedule()
    {
        var job = Fixtures.Job(128, new RuntimeOptions(Workers: 1));
        async Task<string> Fails(TrainingJob j) =>
            (await Assert.ThrowsAsync<ArgumentException>(() => ActorTrainingRunner.RunAsync(j, [new RecordingObserver()], CancellationToken.None))).Message;

        Assert.Contains("batch_size must be >= 1, got 0", await Fails(job with { BatchSize = 0 }));
        Assert.Contains("epochs must be >= 0, got -1", await Fails(job with { Epochs = -1 }));
        Assert.Contains("label 10 at sample 5", await Fails(job with { Train = new ArrayData(job.Train.X, 784, job.Train.Labels!.Select((l, i) => i == 5 ? 10 : l).ToArray(), null, job.Train.Count) }));
        Assert.Contains("training data: X has 100 values", await Fails(job with { Train = new ArrayData(new float[100], 784, job.Train.Labels, null, job.Train.Count) }));
        Assert.Contains("validation data: 10 features", await Fails(job with { Validation = new ArrayData(new float[20], 10, [1, 2], null, 2) }));
        Assert.Contains("needs Labels", await Fails(job with { Train = new ArrayData(job.Train.X, 784, null, null, job.Train.Count) }));
        Assert.Contains("initial weights: weight 1 has 3 elements but shape (32) needs 32",
            await Fails(job with { InitialWeights = [job.InitialWeights[0], new float[3], job.InitialWeights[2], job.InitialWeights[3]] }));
        Assert.Contains("expects 4 weight arrays but got 1", await Fails(job with { InitialWeights = [job.InitialWeights[0]] }));
        Assert.Contains("training data: Count must be >= 1, got 0", await Fails(job with { Train = new ArrayData([], 784, [], null, 0) }));
    }

    [Fact]
    public async Task Zero_epochs_returns_the_initial_weights_without_steps()
    {
        var job = Fixtures.Job(128, new RuntimeOptions(Workers: 1), epochs: 0);
        var result = await ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None);
        Assert.Equal(0, result.Steps);
        Assert.Empty(result.History);
        Fixtures.AssertBitIdentical(job.InitialWeights, result.Weights);
    }
}
