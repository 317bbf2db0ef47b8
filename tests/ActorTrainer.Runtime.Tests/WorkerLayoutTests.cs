namespace ActorTrainer.Runtime.Tests;

/// <summary>trainer.workers = auto and trainer.threads-per-worker: the documented rule, core count by core count.</summary>
public sealed class WorkerLayoutTests
{
    [Theory]
    // cores, workers (−1 auto, 0 = cores, n), threads (0 auto), shards, async → workers × threads
    [InlineData(1, -1, 0, 2, false, 1, 1)]
    [InlineData(2, -1, 0, 2, false, 2, 1)]
    [InlineData(4, -1, 0, 2, false, 2, 2)]
    [InlineData(8, -1, 0, 2, false, 2, 4)]
    [InlineData(16, -1, 0, 2, false, 2, 8)]
    [InlineData(16, -1, 0, 16, false, 16, 1)]
    [InlineData(16, -1, 0, 4, false, 4, 4)]
    [InlineData(2, -1, 0, 16, false, 2, 1)]
    [InlineData(16, -1, 0, 1, true, 16, 1)]
    [InlineData(2, -1, 0, 2, true, 2, 1)]
    [InlineData(16, 0, 0, 2, false, 16, 1)]
    [InlineData(16, 3, 0, 2, false, 3, 5)]
    [InlineData(2, 4, 0, 2, false, 4, 1)]
    [InlineData(16, -1, 2, 2, false, 2, 2)]
    [InlineData(2, 2, 3, 2, true, 2, 3)]
    public void The_layout_follows_the_documented_rule(int cores, int workers, int threads, int shards, bool async,
        int expectedWorkers, int expectedThreads) =>
        Assert.Equal(new WorkerLayout(expectedWorkers, expectedThreads), WorkerLayout.Choose(cores, workers, threads, shards, async));

    [Fact]
    public void Auto_slices_are_one_per_core_with_at_least_16384_parameters_each()
    {
        Assert.Equal(1, ParameterSlices.Auto(16, 16_383));
        Assert.Equal(1, ParameterSlices.Auto(16, 25_450));
        Assert.Equal(2, ParameterSlices.Auto(2, 407_050));
        Assert.Equal(16, ParameterSlices.Auto(16, 407_050));
        Assert.Equal(24, ParameterSlices.Auto(64, 407_050));
        Assert.Equal(16, ParameterSlices.Auto(16, 10_000_000));
        Assert.Equal(1, ParameterSlices.Auto(1, 10_000_000));
        Assert.Equal(ParameterSlices.MaxSlices, ParameterSlices.Auto(4096, 1_000_000_000));   // never more than trainer.ps-slices allows
    }

    [Fact]
    public void Slices_update_on_the_threads_of_a_sync_runs_local_workers_and_on_one_thread_otherwise()
    {
        Assert.Equal(2, new RuntimeOptions(Workers: 1, ThreadsPerWorker: 2).SliceUpdateThreads);
        Assert.Equal(5, new RuntimeOptions(Workers: 3, ThreadsPerWorker: 5).SliceUpdateThreads);
        Assert.Equal(1, new RuntimeOptions(Workers: 2, ThreadsPerWorker: 1).SliceUpdateThreads);
        Assert.Equal(1, new RuntimeOptions(Workers: 1, ThreadsPerWorker: 2, Mode: "async").SliceUpdateThreads);
        var remote = new Clustering.RemoteWorkers(new DataPlane.DataPlaneOptions());
        Assert.Equal(1, new RuntimeOptions(Workers: 1, ThreadsPerWorker: 2, Remote: remote).SliceUpdateThreads);
        Assert.Equal(2, new RuntimeOptions(Workers: 1, ThreadsPerWorker: 2, Remote: remote with { LocalWorkers = true }).SliceUpdateThreads);
    }

    [Fact]
    public void The_executor_reports_the_layout_it_started()
    {
        var o = new RuntimeOptions(Workers: 3, ThreadsPerWorker: 2, PsSlices: 4);
        var w = Fixtures.InitialWeights();
        var start = new FitCheckpoint(1, 0, 0, 0, ShardStats.Zero, w, "RMSprop", 0, [], [], 0);
        using var exec = new ActorStepExecutor(new StepJob(Fixtures.Plan, w, Fixtures.RmsProp(), Fixtures.Train(128), 64, 2, 1, true), start, o);
        Assert.Equal((new WorkerLayout(3, 2), 4), exec.Layout);
        Assert.Equal(3, exec.Workers);
    }
}
