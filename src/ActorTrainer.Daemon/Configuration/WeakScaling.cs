using ActorTrainer.Core;

namespace ActorTrainer.Daemon.Configuration;

/// <summary>Weak scaling the way DDP/Horovod users scale: <c>trainer.per-shard-batch-size</c> fixes each shard's
/// batch, so the global batch is <c>trainer.shards-per-batch × trainer.per-shard-batch-size</c>; with
/// <c>optimizer.learning-rate-scaling = linear</c> the learning rate is multiplied by k = trainer.shards-per-batch
/// (Goyal et al. 2017), reached by a linear warm-up over <c>optimizer.warmup-epochs</c>.</summary>
/// <param name="GlobalBatch">The batch of one optimizer step (trainer.batch-size, or the product when per-shard is set).</param>
/// <param name="PerShardBatchSize">trainer.per-shard-batch-size (0 = off).</param>
/// <param name="LearningRateScaling">optimizer.learning-rate-scaling: none or linear.</param>
/// <param name="WarmupEpochs">optimizer.warmup-epochs (fractional allowed).</param>
public sealed record WeakScaling(int GlobalBatch, int PerShardBatchSize, string LearningRateScaling, double WarmupEpochs)
{
    /// <summary>Keys of the optimizer section that configure the trainer's learning-rate schedule, not the Keras
    /// optimizer (kept out of the model's config.json).</summary>
    public static readonly IReadOnlySet<string> OptimizerScheduleKeys = new HashSet<string>(StringComparer.Ordinal) { "learning-rate-scaling", "warmup-epochs" };

    private static readonly Lazy<int> ReferenceBatchSize =
        new(() => GuardedHoconParser.Parse(ConfigLoader.ReferenceText, "reference.conf").GetInt("trainer.batch-size"));

    /// <summary>Reads and checks the batch and schedule keys; errors name the keys and their values.</summary>
    public static WeakScaling Read(ConfigReader r)
    {
        var batchSize = r.Int("trainer.batch-size", 1);
        var shards = r.Int("trainer.shards-per-batch", 1);
        var perShard = r.Int("trainer.per-shard-batch-size", 0);
        var scaling = r.OneOf("optimizer.learning-rate-scaling", "none", "linear");
        var warmup = r.Double("optimizer.warmup-epochs", 0);
        var global = batchSize;
        if (perShard > 0)
        {
            var product = (long)shards * perShard;
            if (product > int.MaxValue)
                throw new ConfigException($"config: trainer.shards-per-batch × trainer.per-shard-batch-size = {shards} × {perShard} = {product} is larger than {int.MaxValue}");
            global = (int)product;
            // batch-size left at its reference default means "not set": the rendered config of a resumed or served run
            // carries that default too. Any other value must agree with the product.
            if (batchSize != global && batchSize != ReferenceBatchSize.Value)
                throw new ConfigException($"config: trainer.batch-size = {batchSize} conflicts with trainer.per-shard-batch-size = {perShard} × " +
                                          $"trainer.shards-per-batch = {shards} = {global} (the global batch); set one of them: remove " +
                                          $"trainer.batch-size, or set it to {global}");
        }
        if (scaling == "linear" && perShard == 0)
            throw new ConfigException("config: optimizer.learning-rate-scaling = linear multiplies the learning rate by the number of shards, " +
                                      "which needs trainer.per-shard-batch-size > 0 (each shard is one DDP worker's batch); got trainer.per-shard-batch-size = 0");
        if (warmup > 0 && scaling == "none")
            throw new ConfigException($"config: optimizer.warmup-epochs = {warmup.ToString(System.Globalization.CultureInfo.InvariantCulture)} ramps the learning rate " +
                                      "up to the scaled one and needs optimizer.learning-rate-scaling = linear (with none there is nothing to warm up)");
        return new WeakScaling(global, perShard, scaling, warmup);
    }

    /// <summary>k of the linear scaling rule: trainer.shards-per-batch under linear scaling, else 1.</summary>
    public static int Factor(TrainSettings s) => s.LearningRateScaling == "linear" ? s.ShardsPerBatch : 1;

    /// <summary>The warm-up callback for these settings (null when the learning rate is not scaled): from the
    /// configured <paramref name="baseLearningRate"/> to base × k over optimizer.warmup-epochs.</summary>
    public static LearningRateWarmup? Callback(TrainSettings s, double baseLearningRate) =>
        s.LearningRateScaling == "linear" ? new LearningRateWarmup(baseLearningRate, baseLearningRate * Factor(s), s.WarmupEpochs) : null;
}
