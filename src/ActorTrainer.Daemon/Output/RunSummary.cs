using System.Text.Json.Nodes;
using ActorTrainer.Daemon.Commands;
using ActorTrainer.Daemon.Configuration;

namespace ActorTrainer.Daemon.Output;

/// <summary>Builds summary.json: always valid JSON (a non-finite number is null and listed under non_finite).</summary>
public static class RunSummary
{
    /// <summary>The summary object of a finished (or interrupted) run (weightSizes: elements per weight tensor, for
    /// the actor runtime's layout: threads_per_worker, ps_slices; in-process on the CPU, threads: the kernel threads, on
    /// which a step's shards run side by side; device: the GPU of trainer.backend = cuda, else null;
    /// validationSamples: the samples of data.validation (split: held out of train_samples; test: the test set; null: none);
    /// testAcc: null when the model has no accuracy metric — then test_accuracy is null and not listed as non-finite,
    /// as in evaluation.json).</summary>
    public static JsonObject Build(TrainSettings s, TrainOutcome outcome, double testLoss, double? testAcc, double trainSeconds,
                                   string weightsSha256, int[] weightSizes, double learningRate, int trainSamples, int testSamples, bool resumed,
                                   string configFile, string? device = null, int? validationSamples = null)
    {
        var n = new JsonNumbers();
        var history = outcome.History;
        var summary = new JsonObject
        {
            ["test_accuracy"] = testAcc is { } acc ? n.Number(acc, "test_accuracy") : null,
            ["test_loss"] = n.Number(testLoss, "test_loss"),
            ["epochs"] = history.TryGetValue("loss", out var l) ? l.Length : 0,
            ["train_seconds"] = Math.Round(trainSeconds, 3),
            ["weights_sha256"] = weightsSha256,
            ["seed"] = s.Seed,
            ["batch_size"] = s.BatchSize,
            ["optimizer"] = s.OptimizerType,
            ["learning_rate"] = n.Number(learningRate, "learning_rate"),
            ["loss"] = s.Loss,
            ["train_samples"] = trainSamples,
            ["test_samples"] = testSamples,
            ["validation_samples"] = validationSamples,
            ["steps"] = outcome.Steps,
            ["steps_per_second"] = Math.Round(outcome.StepsPerSecond, 2),
            ["runtime"] = s.Runtime,
            ["backend"] = s.Backend,
            ["cpu_simd"] = ActorTrainer.Kernels.ManagedGemm.AutoLevelName,
            ["workers"] = outcome.Workers,
            ["mode"] = s.Mode,
            ["shards_per_batch"] = s.ShardsPerBatch,
            ["per_shard_batch_size"] = s.PerShardBatchSize,
            ["global_batch_size"] = s.BatchSize,
            ["learning_rate_scaling"] = s.LearningRateScaling,
            ["warmup_epochs"] = s.WarmupEpochs,
            ["stale_gradients_rejected"] = outcome.StaleGradientsRejected,
            ["resumed"] = resumed,
            ["interrupted"] = outcome.Interrupted,
            ["config"] = configFile,
        };
        var hist = new JsonObject();
        foreach (var (k, v) in history) hist[k] = n.Array(v, "history." + k);
        summary["history"] = hist;
        if (s.Backend == "cuda") summary["device"] = device;
        if (s.Runtime == "actors")
        {
            var o = s.ToRuntimeOptions();
            summary["threads_per_worker"] = o.Layout.ThreadsPerWorker;
            summary["ps_slices"] = o.SliceLayout(weightSizes).Count;
        }
        else if (s.Backend == "cpu") summary["threads"] = ActorTrainer.Kernels.KernelSettings.MaxDegreeOfParallelism;
        n.Flag(summary);
        return summary;
    }
}
