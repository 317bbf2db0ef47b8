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
