using Akka.Actor;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ActorTrainer.Runtime.Tests;

public class HostingTests
{
    [Fact]
    public async Task AddActorTrainer_hosts_a_system_with_the_serializer_bound_that_runs_jobs()
    {
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s.AddActorTrainer("trainer-host-test")).Build();
        await host.StartAsync();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            Assert.Equal("trainer-host-test", system.Name);
            Assert.IsType<TrainingMessageSerializer>(system.Serialization.FindSerializerFor(new PullWeights(1)));
            SerializerTests.AssertAllBound(system);
            var job = Fixtures.Job(256, new RuntimeOptions(Workers: 2), epochs: 1);
            var (expected, _) = Fixtures.Reference(job);
            var result = await ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None, system);
            Fixtures.AssertBitIdentical(expected, result.Weights);
        }
        finally { await host.StopAsync(); }
    }
}

/// <summary>The training actors' dispatcher (ActorTrainingRunner.RuntimeDefaults): local gradient workers compute on its
/// dedicated threads in a system that defines it, and on the default dispatcher in one that does not.</summary>
public class TrainingDispatcherTests
{
    /// <summary>A LocalShardCompute that records the name of every thread it computes on.</summary>
    private sealed class ThreadRecorder(ModelPlan plan, int maxRows, int threads, System.Collections.Concurrent.ConcurrentBag<string> names) : IShardCompute
    {
        private readonly LocalShardCompute _inner = new(plan, maxRows, threads);
        public string Where => _inner.Where;
        public void Open() { }
        public ShardStats Compute(float[][] weights, long key, ReadOnlyMemory<float> x, ReadOnlyMemory<int> labels, ReadOnlyMemory<float> targets,
                                  int rows, int batchRows, long dropoutSeed, float[][] grads)
        {
            names.Add(Thread.CurrentThread.Name ?? "(unnamed)");
            return _inner.Compute(weights, key, x, labels, targets, rows, batchRows, dropoutSeed, grads);
        }
        public void Dispose() { }
    }

    private static async Task<string[]> WorkerThreads(ActorSystem? system)
    {
        var names = new System.Collections.Concurrent.ConcurrentBag<string>();
        var options = new RuntimeOptions(Workers: 2, LocalCompute: new ShardComputeFactory((_, plan, rows, threads) => new ThreadRecorder(plan, rows, threads, names)));
        var job = Fixtures.Job(256, options, epochs: 1);
        var (expected, _) = Fixtures.Reference(job);
        var result = await ActorTrainingRunner.RunAsync(job, [new RecordingObserver()], CancellationToken.None, system);
        Fixtures.AssertBitIdentical(expected, result.Weights);
        return names.Distinct().ToArray();
    }

    [Fact]
    public async Task Local_workers_compute_on_the_training_dispatcher_of_a_system_that_defines_it()
    {
        using (var own = ActorTrainingRunner.CreateSystem("dispatcher-test"))
            Assert.True(own.Dispatchers.HasDispatcher(TrainingDispatcher.Id));
        var names = await WorkerThreads(null);                       // the runtime's private system
        Assert.NotEmpty(names);
        Assert.All(names, n => Assert.StartsWith(TrainingDispatcher.Id, n));
    }

    [Fact]
    public async Task Hosted_systems_define_it_and_plain_systems_use_their_default_dispatcher()
    {
        using var host = Host.CreateDefaultBuilder().ConfigureServices(s => s.AddActorTrainer("dispatcher-host-test")).Build();
        await host.StartAsync();
        try { Assert.True(host.Services.GetRequiredService<ActorSystem>().Dispatchers.HasDispatcher(TrainingDispatcher.Id)); }
        finally { await host.StopAsync(); }

        using var plain = ActorSystem.Create("plain-dispatcher-test", "akka.loglevel = WARNING");
        Assert.False(plain.Dispatchers.HasDispatcher(TrainingDispatcher.Id));
        var names = await WorkerThreads(plain);
        Assert.NotEmpty(names);
        Assert.DoesNotContain(names, n => n.StartsWith(TrainingDispatcher.Id, StringComparison.Ordinal));
    }
}
