using System.Text.Json;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Daemon.Service;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>trainer.per-shard-batch-size, optimizer.learning-rate-scaling and optimizer.warmup-epochs: the global
/// batch they give, the conflict with trainer.batch-size, and bad values (exit 2 naming the key), for `train` and for
/// jobs submitted to `serve`.</summary>
public sealed class WeakScalingConfigTests
{
    private static TrainSettings Settings(params string[] sets) => TrainSettings.From(ConfigLoader.LoadText(null, "test", sets));

    [Fact]
    public void Defaults_leave_the_batch_and_learning_rate_alone()
    {
        var s = Settings();
        Assert.Equal((128, 0, "none", 0.0), (s.BatchSize, s.PerShardBatchSize, s.LearningRateScaling, s.WarmupEpochs));
        Assert.Null(WeakScaling.Callback(s, 0.001));
    }

    [Theory]
    [InlineData("16", "128", 2048)]
    [InlineData("4", "64", 256)]
    [InlineData("1", "7", 7)]
    public void Per_shard_batch_times_shards_is_the_batch(string shards, string perShard, int global)
    {
        var s = Settings("trainer.shards-per-batch=" + shards, "trainer.per-shard-batch-size=" + perShard);
        Assert.Equal(global, s.BatchSize);
        Assert.Equal(int.Parse(perShard), s.PerShardBatchSize);
    }

    [Fact]
    public void Batch_size_equal_to_the_product_is_accepted()
    {
        var s = Settings("trainer.shards-per-batch=16", "trainer.per-shard-batch-size=128", "trainer.batch-size=2048");
        Assert.Equal(2048, s.BatchSize);
    }

    [Fact]
    public void A_different_batch_size_is_a_conflict_naming_both_keys_and_the_numbers()
    {
        var e = Assert.Throws<ConfigException>(() =>
            Settings("trainer.shards-per-batch=16", "trainer.per-shard-batch-size=128", "trainer.batch-size=512"));
        foreach (var f in new[] { "trainer.batch-size = 512", "trainer.per-shard-batch-size = 128", "trainer.shards-per-batch = 16", "2048" })
            Assert.Contains(f, e.Message);
    }

    [Fact]
    public void Linear_scaling_targets_base_times_shards_with_the_configured_warmup()
    {
        var s = Settings("trainer.shards-per-batch=16", "trainer.per-shard-batch-size=128",
                         "optimizer.learning-rate-scaling=linear", "optimizer.warmup-epochs=2.5");
        var w = WeakScaling.Callback(s, 0.001)!;
        Assert.Equal(16, WeakScaling.Factor(s));
        Assert.Equal((0.001, 0.016, 2.5), (w.BaseLearningRate, w.TargetLearningRate, w.WarmupEpochs));
    }

    [Fact]
    public void The_schedule_keys_stay_out_of_the_keras_optimizer_config()
    {
        var s = Settings("trainer.per-shard-batch-size=64", "optimizer.learning-rate-scaling=linear", "optimizer.warmup-epochs=1");
        var cfg = s.KerasConfig.ToJsonString();
        Assert.DoesNotContain("warmup", cfg);
        Assert.DoesNotContain("scaling", cfg);
        Assert.Equal("rmsprop", s.OptimizerType);
    }

    [Theory]
    [InlineData("trainer.per-shard-batch-size=-1", "trainer.per-shard-batch-size", ">= 0")]
    [InlineData("trainer.per-shard-batch-size=1.5", "trainer.per-shard-batch-size", "integer")]
    [InlineData("optimizer.learning-rate-scaling=sqrt", "optimizer.learning-rate-scaling", "none, linear")]
    [InlineData("optimizer.warmup-epochs=-0.5", "optimizer.warmup-epochs", ">= 0")]
    [InlineData("optimizer.warmup-epochs=soon", "optimizer.warmup-epochs", "number")]
    public void Bad_values_are_refused_naming_the_key(string set, string key, string detail)
    {
        var e = Assert.Throws<ConfigException>(() => Settings("trainer.per-shard-batch-size=64", "optimizer.learning-rate-scaling=linear", set));
        Assert.Contains(key, e.Message);
        Assert.Contains(detail, e.Message);
    }

    [Theory]
    [InlineData("trainer.per-shard-batch-size=-5", "trainer.per-shard-batch-size", "-5")]
    [InlineData("optimizer.learning-rate-scaling=square-root", "optimizer.learning-rate-scaling", "square-root")]
    [InlineData("optimizer.warmup-epochs=-1", "optimizer.warmup-epochs", "-1")]
    public void Train_exits_2_naming_the_bad_key(string set, string key, string detail)
    {
        using var t = new TempDir();
        var r = Cli.Run(["train", "--run-dir", t["run"], "--set", "trainer.runtime=in-process", "--set", "data.train-limit=100",
                         "--set", "trainer.per-shard-batch-size=16", "--set", "optimizer.learning-rate-scaling=linear", "--set", set]);
        Cli.AssertBadInput(r, key, detail);
        Assert.False(File.Exists(Path.Combine(t["run"], "summary.json")));
    }

    [Fact]
    public void Linear_scaling_needs_a_per_shard_batch()
    {
        var e = Assert.Throws<ConfigException>(() => Settings("optimizer.learning-rate-scaling=linear"));
        Assert.Contains("optimizer.learning-rate-scaling", e.Message);
        Assert.Contains("trainer.per-shard-batch-size", e.Message);
    }

    [Fact]
    public void Warmup_needs_linear_scaling()
    {
        var e = Assert.Throws<ConfigException>(() => Settings("trainer.per-shard-batch-size=64", "optimizer.warmup-epochs=1"));
        Assert.Contains("optimizer.warmup-epochs", e.Message);
        Assert.Contains("optimizer.learning-rate-scaling = linear", e.Message);
    }

    [Fact]
    public void The_mnist_mlp_16_config_trains_a_global_batch_of_2048_with_a_scaled_rate()
    {
        var s = TrainSettings.From(ConfigLoader.Load(Path.Combine(Cli.RepoRoot, "config", "mnist-mlp-16.conf"), []));
        Assert.Equal((16, 128, 2048, "linear"), (s.ShardsPerBatch, s.PerShardBatchSize, s.BatchSize, s.LearningRateScaling));
    }

    [Fact]
    public void A_job_for_serve_is_checked_the_same_way_and_its_rendered_config_gives_the_same_batch()
    {
        var bad = JsonDocument.Parse("""{"config": "trainer { per-shard-batch-size = 128, shards-per-batch = 16, batch-size = 100 }"}""");
        var e = Assert.Throws<ConfigException>(() => JobSubmission.Validate(bad.RootElement));
        Assert.Contains("trainer.batch-size = 100", e.Message);
        Assert.Contains("trainer.per-shard-batch-size", e.Message);

        var ok = JsonDocument.Parse("""{"config": "trainer { per-shard-batch-size = 64, shards-per-batch = 4 }", "set": {"optimizer.learning-rate-scaling": "linear", "optimizer.warmup-epochs": 0.5}}""");
        var job = JobSubmission.Validate(ok.RootElement);
        // the trainer child reads the rendered text (every key explicit, batch-size at its default): same settings
        var s = TrainSettings.From(ConfigLoader.LoadText(job.ConfigText, "job", []));
        Assert.Equal((256, 64, "linear", 0.5), (s.BatchSize, s.PerShardBatchSize, s.LearningRateScaling, s.WarmupEpochs));
    }
}
