using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Daemon.Cli;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Daemon.Output;
using ActorTrainer.Interop;
using Microsoft.Extensions.Logging;

namespace ActorTrainer.Daemon.Commands;

/// <summary><c>train [--config FILE] [--set key=value]... [--run-dir DIR] [--resume DIR]</c>.</summary>
public static class TrainCommand
{
    /// <summary>Usage text.</summary>
    public const string Usage =
        "train [--config FILE] [--set key=value]... [--run-dir DIR] [--resume RUN_DIR]\n" +
        "  --config FILE     HOCON config (default config/mnist-mlp.conf); every key is documented in config/reference.conf\n" +
        "  --set key=value   override one key, e.g. --set trainer.epochs=3 --set trainer.workers=2 (repeatable)\n" +
        "  --run-dir DIR     output directory (default runs/<timestamp>)\n" +
        "  --resume RUN_DIR  continue an interrupted run from its newest valid checkpoint";

    /// <summary>The default config file: config/mnist-mlp.conf in the working directory, else beside the executable.</summary>
    public static string DefaultConfig()
    {
        var local = Path.Combine("config", "mnist-mlp.conf");
        if (File.Exists(local)) return local;
        var beside = Path.Combine(AppContext.BaseDirectory, "config", "mnist-mlp.conf");
        return File.Exists(beside) ? beside : local;
    }

    internal static string Fmt(double v) => Metrics.format(v);

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(CommandLine cl, ILoggerFactory logs, CancellationToken ct)
    {
        var log = logs.CreateLogger("train");
        var resume = cl.Get("resume");
        string? configFile = cl.Get("config");
        var sets = cl.All("set").ToList();
        string runDir;
        if (resume is not null)
        {
            runDir = cl.Get("run-dir") ?? resume;
            var saved = Path.Combine(resume, "config.conf");
            if (!File.Exists(saved))
                throw new ConfigException($"--resume '{resume}': no config.conf there (not a run directory written by train)");
            configFile ??= saved;
        }
        else runDir = cl.Get("run-dir") ?? Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        configFile ??= DefaultConfig();

        var config = ConfigLoader.Load(configFile, sets);
        var s = TrainSettings.From(config);

        Dataset train, test;
        try
        {
            (train, test) = Mnist.load(s.DataDir).ToValueTuple();
        }
        catch (Exception e) when (e is InvalidDataException or DirectoryNotFoundException or FileNotFoundException or ArgumentException)
        {
            throw new ConfigException($"data.dir = '{s.DataDir}': {e.Message}");
        }
        if (s.TrainLimit > 0) train = DatasetModule.take(s.TrainLimit, train);
        if (s.TestLimit > 0) test = DatasetModule.take(s.TestLimit, test);
        var features = train.Height * train.Width;
        if (s.InputShape.Aggregate(1, (a, b) => a * b) != features)
            throw new ConfigException($"config: model.input-shape [{string.Join(", ", s.InputShape)}] holds {s.InputShape.Aggregate(1, (a, b) => a * b)} values but the data has {train.Height}x{train.Width} = {features} per sample");

        var model = s.BuildModel();
        Directory.CreateDirectory(runDir);
        RunFiles.WriteText(Path.Combine(runDir, "config.conf"), RenderConfig(config, configFile, sets));
        log.LogInformation("run directory {RunDir}; data {Source} ({Train} train / {Test} test samples); config {Config}",
                           runDir, train.Source, train.Count, test.Count, configFile);

        var trainData = ArrayData.OfLabels(train.Images, features, train.Labels);
        ArrayData? validation = null;
        if (s.Validation == "test") validation = ArrayData.OfLabels(test.Images, features, test.Labels);
        else if (s.Validation == "split")
        {
            var nVal = (int)(trainData.Count * s.ValidationSplit);
            validation = trainData.Slice(trainData.Count - nVal, nVal);
            trainData = trainData.Slice(0, trainData.Count - nVal);
        }

        var callbacks = new List<ICallback> { new CSVLogger(Path.Combine(runDir, "history.csv")) };
        if (s.LogFormat == "json") callbacks.Add(new EpochLogCallback(log, s.Epochs));
        var plan = model.Plan;
        TensorBoardCallback? tb = null;
        if (s.TensorBoard)
        {
            var probeRows = Math.Min(s.BatchSize, trainData.Count);
            tb = new TensorBoardCallback(Path.Combine(runDir, "tensorboard"), model.Variables.Select(v => v.Name).ToArray(), plan,
                                         trainData.Slice(0, probeRows), test, s.TensorBoardEverySteps);
            callbacks.Add(tb);
        }
        TrainingMetrics? metrics = null;
        PrometheusEndpoint? endpoint = null;
        var workers = s.Runtime == "actors" ? (s.Workers == 0 ? Environment.ProcessorCount : s.Workers) : 1;
        if (s.MetricsPort > 0)
        {
            metrics = new TrainingMetrics();
            endpoint = new PrometheusEndpoint(s.MetricsPort, metrics);
            callbacks.Add(new MetricsCallback(metrics, () => workers));
            log.LogInformation("metrics on {Uri}", endpoint.MetricsUri);
        }
        callbacks.Add(new CancellationCallback(ct));

        var verbose = s.LogFormat == "json" ? 0 : s.Verbose;
        var sw = Stopwatch.StartNew();
        IReadOnlyDictionary<string, double[]> history;
        long steps;
        bool interrupted;
        try
        {
            var h = model.FitArrays(trainData, s.Epochs, s.BatchSize, validation!, 0.0, s.Shuffle, callbacks, verbose, s.ShardsPerBatch, Console.Out);
            history = h.History;
            steps = model.Optimizer.Iterations;
            interrupted = ct.IsCancellationRequested;
        }
        finally
        {
            tb?.Dispose();
            endpoint?.Dispose();
            metrics?.Dispose();
        }
        var trainSeconds = sw.Elapsed.TotalSeconds;

        var testData = ArrayData.OfLabels(test.Images, features, test.Labels);
        var eval = model.EvaluateArrays(testData, 1024);
        var testLoss = eval["loss"];
        var testAcc = eval.TryGetValue("accuracy", out var ta) ? ta : double.NaN;
        Console.Out.WriteLine($"test_loss: {Fmt(testLoss)} - test_accuracy: {Fmt(testAcc)}");

        var probs = model.PredictArrays(test.Images, features, 1024);
        var preds = TrainingOutputs.Argmax(probs, plan.OutputDim);
        if (s.Plots) TrainingOutputs.WritePlots(runDir, test, preds, history);
        if (s.SaveModel) model.Save(Path.Combine(runDir, "model"));

        var weights = model.GetWeights();
        var summary = new JsonObject
        {
            ["test_accuracy"] = testAcc,
            ["test_loss"] = testLoss,
            ["epochs"] = history.TryGetValue("loss", out var l) ? l.Length : 0,
            ["train_seconds"] = Math.Round(trainSeconds, 3),
            ["weights_sha256"] = Weights.sha256(weights),
            ["seed"] = s.Seed,
            ["batch_size"] = s.BatchSize,
            ["optimizer"] = s.OptimizerType,
            ["learning_rate"] = model.Optimizer.LearningRate,
            ["loss"] = s.Loss,
            ["train_samples"] = trainData.Count,
            ["test_samples"] = test.Count,
            ["steps"] = steps,
            ["steps_per_second"] = trainSeconds > 0 ? Math.Round(steps / trainSeconds, 2) : 0,
            ["runtime"] = s.Runtime,
            ["workers"] = workers,
            ["mode"] = s.Mode,
            ["shards_per_batch"] = s.ShardsPerBatch,
            ["interrupted"] = interrupted,
            ["config"] = configFile,
        };
        var hist = new JsonObject();
        foreach (var (k, v) in history) hist[k] = new JsonArray(v.Select(x => (JsonNode)JsonValue.Create(x)!).ToArray());
        summary["history"] = hist;
        TrainingOutputs.WriteSummary(runDir, summary);
        log.LogInformation("wrote {RunDir}: summary.json, history.csv{Plots}{Model}{Tb}", runDir,
                           s.Plots ? ", predictions.png, misclassified.png, learning_curves.png" : "",
                           s.SaveModel ? ", model/" : "", s.TensorBoard ? ", tensorboard/" : "");
        return 0;
    }

    private static string RenderConfig(Akka.Configuration.Config config, string file, IReadOnlyList<string> sets)
    {
        var header = $"# Effective configuration of this run (from {file}" + (sets.Count > 0 ? ", " + string.Join(", ", sets.Select(x => "--set " + x)) : "") + ").\n";
        return header + config.Root.ToString(1) + "\n";
    }
}

/// <summary>Stops fit after the current batch once the token is cancelled (SIGTERM / Ctrl-C).</summary>
public sealed class CancellationCallback(CancellationToken ct) : Callback
{
    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (ct.IsCancellationRequested) Model.StopTraining = true;
    }
}

/// <summary>One structured log event per epoch (used with output.log-format = json).</summary>
public sealed class EpochLogCallback(ILogger log, int epochs) : Callback
{
    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) =>
        log.LogInformation("epoch {Epoch}/{Epochs} loss {Loss} accuracy {Accuracy} val_loss {ValLoss} val_accuracy {ValAccuracy}",
                           epoch + 1, epochs, logs.GetValueOrDefault("loss", double.NaN), logs.GetValueOrDefault("accuracy", double.NaN),
                           logs.GetValueOrDefault("val_loss", double.NaN), logs.GetValueOrDefault("val_accuracy", double.NaN));
}
