using ActorTrainer.Core;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Runtime;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>Defaults that must be one number everywhere: the config's, fit's and the actor runtime's.</summary>
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
}
