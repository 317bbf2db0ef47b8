using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Daemon.Cli;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Daemon.Output;
using ActorTrainer.Interop;
using ActorTrainer.Runtime;
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
        using var jsonLogs = s.LogFormat == "json" ? Logging.Create(json: true) : null;
        if (jsonLogs is not null)
        {
            logs = jsonLogs;
            log = logs.CreateLogger("train");
        }

        Dataset train, test;
        try
        {
            (train, test) = Mnist.loadWith(DataExpectation(s), s.DataDir).ToValueTuple();
        }
        catch (Exception e) when (e is InputException or InvalidDataException or DirectoryNotFoundException or FileNotFoundException or ArgumentException)
        {
            throw new ConfigException($"data.dir = '{s.DataDir}': {e.Message}");
        }
        if (s.TrainLimit > 0) train = DatasetModule.take(s.TrainLimit, train);
        if (s.TestLimit > 0) test = DatasetModule.take(s.TestLimit, test);
        var features = train.Height * train.Width;
        if (s.InputShape.Aggregate(1, (a, b) => a * b) != features)
            throw new ConfigException($"config: model.input-shape [{string.Join(", ", s.InputShape)}] holds {s.InputShape.Aggregate(1, (a, b) => a * b)} values but the data has {train.Height}x{train.Width} = {features} per sample");

        var model = s.BuildModel();
        CheckpointState? resumeState = null;
        if (resume is not null)
        {
            if (s.Runtime != "actors")
                throw new ConfigException($"--resume '{resume}': checkpoints are written by the actor runtime; this run has trainer.runtime = {s.Runtime}");
            var warnings = new List<string>();
            var ckptDir = Path.Combine(resume, "checkpoints");
            resumeState = Directory.Exists(ckptDir) ? CheckpointStore.LoadLatest(ckptDir, warnings, log) : null;
            foreach (var w in warnings) log.LogWarning("{Warning}", w);
            if (resumeState is null)
                throw new ConfigException($"--resume '{resume}': no valid checkpoint in {ckptDir}");
            log.LogInformation("resuming {RunDir} at epoch {Epoch}, step {Step} (global step {Global})", resume,
                               resumeState.Epoch + 1, resumeState.StepInEpoch, resumeState.GlobalStep);
        }
        Directory.CreateDirectory(runDir);
        var configText = RenderConfig(config, configFile, sets);
        if (resume is null) RunFiles.WriteText(Path.Combine(runDir, "config.conf"), configText);
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

        var callbacks = new List<ICallback> { new CSVLogger(Path.Combine(runDir, "history.csv"), ",", append: resume is not null) };
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

        var verbose = s.LogFormat == "json" ? 0 : s.Verbose;
        var sw = Stopwatch.StartNew();
        TrainOutcome outcome;
        try
        {
            if (s.Runtime == "actors")
            {
                outcome = ActorRun.Run(s, model, trainData, validation, callbacks, runDir, configText, resumeState, logs, ct);
            }
            else
            {
                callbacks.Add(new CancellationCallback(ct));
                var h = model.FitArrays(trainData, s.Epochs, s.BatchSize, validation!, 0.0, s.Shuffle, callbacks, verbose, s.ShardsPerBatch, Console.Out);
                var secs = sw.Elapsed.TotalSeconds;
                outcome = new TrainOutcome(h.History, model.Optimizer.Iterations, ct.IsCancellationRequested,
                                           secs > 0 ? model.Optimizer.Iterations / secs : 0, 1, 0);
            }
        }
        catch (TrainingDivergedException e)
        {
            Console.Error.WriteLine($"error: {e.Message}; the last good checkpoint is in {Path.Combine(runDir, "checkpoints")}");
            return 1;
        }
        finally
        {
            tb?.Dispose();
            endpoint?.Dispose();
            metrics?.Dispose();
        }
        var trainSeconds = sw.Elapsed.TotalSeconds;
        var history = outcome.History;
        var steps = outcome.Steps;
        if (outcome.Interrupted)
            Console.Out.WriteLine(s.Runtime == "actors"
                ? $"interrupted after {steps} steps; checkpoint in {Path.Combine(runDir, "checkpoints")}; continue with: train --resume {runDir}"
                : $"interrupted after {steps} steps (trainer.runtime = in-process writes no checkpoints); outputs below are for the weights so far");

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
            ["steps_per_second"] = Math.Round(outcome.StepsPerSecond, 2),
            ["runtime"] = s.Runtime,
            ["workers"] = outcome.Workers,
            ["mode"] = s.Mode,
            ["shards_per_batch"] = s.ShardsPerBatch,
            ["stale_gradients_rejected"] = outcome.StaleGradientsRejected,
            ["resumed"] = resume is not null,
            ["interrupted"] = outcome.Interrupted,
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

    /// <summary>The effective configuration (reference defaults, config file and --set overrides merged) as HOCON
    /// that parses back to the same values: `train --resume` reads it.</summary>
    private static string RenderConfig(Akka.Configuration.Config config, string file, IReadOnlyList<string> sets)
    {
        var header = $"# Effective configuration of this run (from {file}" +
                     (sets.Count > 0 ? ", " + string.Join(", ", sets.Select(x => "--set " + x)) : "") + ").\n";
        return header + ConfigLoader.Render(config) + "\n";
    }

    /// <summary>What the model will do with the data, checked by the loader from the IDX headers before decoding: values
    /// per sample (the product of model.input-shape) and, for sparse labels, classes = units of the last Dense layer.</summary>
    private static MnistExpectation DataExpectation(TrainSettings s)
    {
        long features = s.InputShape.Aggregate(1L, (a, d) => a * d);
        var lastDense = s.Layers.LastOrDefault(l => l.Type == "dense");
        bool sparse = ActorTrainer.Core.Loss.Parse(s.Loss).IsSparseCategoricalCrossentropy;
        return new MnistExpectation(features is > 0 and <= int.MaxValue ? (int)features : 0,
                                    sparse && lastDense is not null ? lastDense.Units : 0);
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
