using ActorTrainer.Core;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Runtime;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Defaults that must agree everywhere: the config's, fit's, the actor runtime's and the data plane's.</summary>
public class DefaultsTests
{
    [Fact]
    public void Shards_per_batch_default_is_one_number_in_reference_conf_fit_and_the_runtime()
    {
        var fromConfig = TrainSettings.From(ConfigLoader.LoadText(null, "defaults", [])).ShardsPerBatch;
        Assert.Equal(Batching.DefaultShardsPerBatch, fromConfig);
        Assert.Equal(Batching.DefaultShardsPerBatch, new FitOptions().ShardsPerBatch);
        Assert.Equal(Batching.DefaultShardsPerBatch, new RuntimeOptions().ShardsPerBatch);
        var fitArrays = typeof(Sequential).GetMethod(nameof(Sequential.FitArrays))!.GetParameters().Single(p => p.Name == "shardsPerBatch");
        Assert.Equal(Batching.DefaultShardsPerBatch, fitArrays.DefaultValue);
    }

    [Fact]
    public void Unix_sockets_default_on_in_reference_conf_and_the_data_plane_and_off_by_key()
    {
        var defaults = ClusterConfig.From(new ConfigReader(ConfigLoader.LoadText(null, "defaults", [])), "worker");
        Assert.True(defaults.DataPlane.UnixSockets);
        Assert.True(new ActorTrainer.Runtime.DataPlane.DataPlaneOptions().UnixSockets);
        var off = ClusterConfig.From(new ConfigReader(ConfigLoader.LoadText(null, "defaults", ["cluster.data-plane.unix-sockets=off"])), "worker");
        Assert.False(off.DataPlane.UnixSockets);
        var bad = Assert.Throws<ConfigException>(() =>
            ClusterConfig.From(new ConfigReader(ConfigLoader.LoadText(null, "defaults", ["cluster.data-plane.unix-sockets=sometimes"])), "worker"));
        Assert.Contains("cluster.data-plane.unix-sockets", bad.Message);
    }

    [Fact]
    public void Shared_memory_defaults_on_in_reference_conf_and_the_data_plane_and_off_by_key()
    {
        ClusterConfig Read(params string[] sets) => ClusterConfig.From(new ConfigReader(ConfigLoader.LoadText(null, "defaults", [.. sets])), "coordinator");
        Assert.True(Read().DataPlane.SharedMemory);
        Assert.True(new ActorTrainer.Runtime.DataPlane.DataPlaneOptions().SharedMemory);
        Assert.False(Read("cluster.data-plane.shared-memory=off").DataPlane.SharedMemory);
        var bad = Assert.Throws<ConfigException>(() => Read("cluster.data-plane.shared-memory=maybe"));
        Assert.Contains("cluster.data-plane.shared-memory", bad.Message);
    }

    [Fact]
    public void Busy_retry_max_defaults_to_30s_in_reference_conf_and_the_runtime_and_is_read_and_checked()
    {
        ClusterConfig Read(params string[] sets) => ClusterConfig.From(new ConfigReader(ConfigLoader.LoadText(null, "defaults", [.. sets])), "coordinator");
        Assert.Equal(TimeSpan.FromSeconds(30), Read().Remote.EffectiveBusyRetryMax);
        Assert.Equal(new ActorTrainer.Runtime.Clustering.RemoteWorkers(new()).EffectiveBusyRetryMax, Read().Remote.EffectiveBusyRetryMax);
        Assert.Equal(TimeSpan.FromSeconds(5), Read("cluster.busy-retry-max=5s").Remote.BusyRetryMax);
        var bad = Assert.Throws<ConfigException>(() => Read("cluster.busy-retry-max=0s"));
        Assert.Contains("cluster.busy-retry-max must be a positive duration", bad.Message);
    }
}
