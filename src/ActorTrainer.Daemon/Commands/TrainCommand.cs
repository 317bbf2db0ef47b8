using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Daemon.Cli;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Daemon.Output;
using ActorTrainer.Daemon.Runs;
using ActorTrainer.Interop;
using ActorTrainer.Runtime;
using Microsoft.Extensions.Logging;

namespace ActorTrainer.Daemon.Commands;

/// <summary><c>train [--config FILE] [--set key=value]... [--run-dir DIR] [--resume DIR]</c>.</summary>
public static class TrainCommand
{
    /// <summary>Usage text.</summary>
    public const string Usage =
        "train [--config FILE] [--set key=value]... [--run-dir DIR] [--resume RUN_DIR | --overwrite]\n" +
        "  --config FILE     HOCON config (default config/mnist-mlp.conf); every key is documented in config/reference.conf\n" +
        "  --set key=value   override one key, e.g. --set trainer.epochs=3 --set trainer.workers=2 (repeatable)\n" +
        "  --run-dir DIR     output directory (default runs/<timestamp>; with --resume: continue the run in DIR, which\n" +
        "                    must not hold a run, reading RUN_DIR only)\n" +
        "  --resume RUN_DIR  continue an interrupted run from its newest valid checkpoint\n" +
        "  --overwrite       replace the run already in --run-dir (its summary, history, model, checkpoints, ...)";

    /// <summary>The default config file: config/mnist-mlp.conf in the working directory, else beside the executable.</summary>
    public static string DefaultConfig()
    {
        var local = Path.Combine("config", "mnist-mlp.conf");
        if (File.Exists(local)) return local;
        var beside = Path.Combine(AppContext.BaseDirectory, "config", "mnist-mlp.conf");
        return File.Exists(beside) ? beside : local;
    }

    internal static string Fmt(double v) => Metrics.format(v);

    /// <summary>Runs the command; returns the exit code (see <see cref="ExitCodes"/>).</summary>
    public static int Run(CommandLine cl, ILoggerFactory logs, SignalGate signals)
    {
        using var early = TrainWarmup.BeginEarly(logs.CreateLogger("train"));
        return RunChecked(cl, logs, signals, early);
    }

    private static int RunChecked(CommandLine cl, ILoggerFactory logs, SignalGate signals, TrainWarmup.EarlyWarmup early)
    {
        var resume = cl.Get("resume");
        var overwrite = cl.Has("overwrite");
        if (resume is not null && overwrite)
            throw new UsageException("train: --resume continues a run and --overwrite replaces it; give one of them");
        var sets = cl.All("set").ToList();
        var (runDir, configFile) = Locate(cl, resume);
        bool inPlace = resume is not null && RunDirectory.Same(runDir, resume);     // else a new run (--resume R --run-dir D: D)
        var config = ConfigLoader.Load(configFile, sets);
        TrainData.Prefetch(config);
        early.ConfigRead(config);
        var s = TrainSettings.From(config);
        using var jsonLogs = s.LogFormat == "json" ? Logging.Create(json: true) : null;
        if (jsonLogs is not null) logs = jsonLogs;
        var log = Warned(logs.CreateLogger("train"), config);
        // the actor runtime's host starts beside the data loading and model building (joined in Train)
        using var actors = s.Runtime == "actors" ? ActorHost.Begin(s, logs) : null;
        using var computeWarmup = TrainWarmup.Begin(s, log, actors);

        var data = TrainData.Load(s);
        var workers = s.LocalWorkers;
        var batch = ResourceCheck.EffectiveBatch(s.BatchSize, data.Fit.Count);
        ResourceCheck.Training(s, batch, workers);
        ResourceCheck.ClusterFrames(s, data.Fit.Count);
        using var lease = new GpuBackend.Lease();
        if (resume is null) lease.Open(s.Compute);        // a new run: opened before its directory exists (no GPU, no run directory)

        actors?.Listen();                                 // a cluster coordinator's listener: bound before the directory exists
        using var dir = cl.Get("run-dir") is null && resume is null ? RunDirectory.OpenNew(runDir) : RunDirectory.Open(runDir, inPlace, overwrite, branch: resume is not null);
        ErrorBoundary.RunDirectory = runDir = dir.Path;     // the default runs/<timestamp> may have become runs/<timestamp>-2
        if (s.SaveModel) CheckModelFolder(runDir, resume);
        var model = s.BuildModel();
        var resumeState = resume is null ? null : LoadResume(resume, log);
        if (resumeState is not null)
        {
            ResumeCheck.Compare(resumeState.ConfigText, config, resume!);
            ResumeCheck.Epochs(resumeState, s.Epochs, resume!);
            lease.Open(s.Compute);                      // a resumed run: after the checks that name a changed key
            dir.TakeHistory(resumeState.History, model.MetricNames);
            if (!inPlace) dir.TakeCheckpoint(resumeState.SourcePath);
        }
        var gpu = lease.Runtime;
        using var metrics = s.MetricsPort > 0 ? new TrainingMetrics() : null;
        using var endpoint = metrics is null ? null : OpenMetrics(s.MetricsPort, metrics);
        var configText = RenderConfig(config, configFile, sets);
        if (!inPlace || sets.Count > 0) RunFiles.WriteText(Path.Combine(runDir, "config.conf"), configText);   // resumed with --set: the next --resume reads it
        log.LogInformation("run directory {RunDir}; data {Source} ({Train} train{Held} / {Test} test samples); config {Config}",
                           runDir, data.Train.Source, data.Fit.Count, s.Validation == "split" ? $", {data.Validation!.Count} held out for validation" : "",
                           data.Test.Count, configFile);
        if (endpoint is not null) log.LogInformation("metrics on {Uri}", endpoint.MetricsUri);
        if (gpu is not null) log.LogInformation("backend: {Backend}", GpuBackend.Describe(gpu));
        if (gpu is not null && s.Runtime == "actors" && (s.Compute?.CpuWorkers ?? 0) == 0) log.LogWarning("{Warning}", GpuBackend.ActorRuntimeWarning(s.Mode));
        var run = new RunContext(s with { BatchSize = batch }, model, data, runDir, configText, resumeState, logs, log, gpu, actors);
        var sw = Stopwatch.StartNew();
        var outcome = TrainWithOutputs(run, metrics, signals, sw);
        if (outcome is null) return ExitCodes.Diverged;
        WriteOutputs(s, run, outcome, sw.Elapsed.TotalSeconds, resume is not null, configFile);
        return ExitCodes.Ok;
    }

    /// <summary>Everything one training run needs once its inputs are validated (Gpu: the opened GPU backend when
    /// trainer.backend = cuda, else null; Actors: the actor runtime's host, started early, when trainer.runtime =
    /// actors).</summary>
    private sealed record RunContext(TrainSettings Settings, Sequential Model, TrainData Data, string RunDir, string ConfigText,
                                     CheckpointState? Resume, ILoggerFactory Logs, ILogger Log, ActorTrainer.Cuda.CudaRuntime? Gpu,
                                     ActorHost? Actors);

    /// <summary>Trains with the run's callbacks (history.csv, JSON epoch logs, Prometheus, TensorBoard); null when
    /// training diverged (reported on stderr).</summary>
    private static TrainOutcome? TrainWithOutputs(RunContext run, TrainingMetrics? metrics, SignalGate signals, Stopwatch sw)
    {
        var s = run.Settings;
        var callbacks = new List<ICallback> { new CSVLogger(Path.Combine(run.RunDir, "history.csv"), ",", append: run.Resume is not null) };
        var warmup = WeakScaling.Callback(s, run.Model.Optimizer.LearningRate);
        if (warmup is not null)
        {
            callbacks.Insert(0, warmup);
            run.Log.LogInformation("global batch {Batch} ({Shards} shards × {PerShard}); learning rate {Base} × {K} = {Target} after a linear warm-up of {Warmup} epochs",
                                   s.BatchSize, s.ShardsPerBatch, s.PerShardBatchSize, warmup.BaseLearningRate, WeakScaling.Factor(s),
                                   warmup.TargetLearningRate, warmup.WarmupEpochs);
        }
        if (s.LogFormat == "json") callbacks.Add(new EpochLogCallback(run.Log, s.Epochs));
        if (metrics is not null) callbacks.Add(new MetricsCallback(metrics));
        using var tb = s.TensorBoard ? NewTensorBoard(s, run.Model, run.Data, run.RunDir, run.Resume?.GlobalStep ?? 0) : null;
        if (tb is not null) callbacks.Add(tb);
        try
        {
            using var claim = signals.ClaimForTraining();
            sw.Restart();
            return Train(run, callbacks, signals.Token);
        }
        catch (TrainingDivergedException e)
        {
            Console.Error.WriteLine($"error: {e.Message}; {DivergedNote(run.RunDir)}");
            return null;
        }
        catch (ActorTrainer.Runtime.Clustering.WorkersWaitCancelledException e)
        {
            throw signals.StoppedBeforeTraining(e.Message);
        }
    }

    /// <summary>`log`, after it has warned of the configuration's keys that change nothing (<see cref="UnusedOptimizerKeys"/>).</summary>
    private static ILogger Warned(ILogger log, Akka.Configuration.Config config)
    {
        foreach (var w in UnusedOptimizerKeys.Of(config)) log.LogWarning("{Warning}", w);
        return log;
    }

    /// <summary>The run directory and config file of this invocation (--resume reads the run's own config.conf).</summary>
    private static (string RunDir, string ConfigFile) Locate(CommandLine cl, string? resume)
    {
        string? configFile = cl.Get("config");
        string runDir;
        if (resume is not null)
        {
            runDir = cl.Get("run-dir") ?? resume;
            var saved = Path.Combine(resume, "config.conf");
            if (File.Exists(resume)) throw new ConfigException($"--resume '{resume}' is a file; give the run directory that train wrote");
            if (!Directory.Exists(resume)) throw new ConfigException($"--resume '{resume}' does not exist; give the run directory that train wrote");
            if (!File.Exists(saved))
                throw new ConfigException($"--resume '{resume}': no config.conf there (not a run directory written by train)");
            configFile ??= saved;
        }
        else runDir = cl.Get("run-dir") ?? Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));   // taken: -2, -3, … (RunDirectory.OpenNew)
        if (File.Exists(runDir)) throw new ConfigException($"--run-dir '{runDir}' is a file, not a directory");
        return (runDir, configFile ?? DefaultConfig());
    }

    /// <summary>The one fit loop on the configured runtime (in-process, or the actor runtime in a generic host), with
    /// checkpoints in RUN_DIR/checkpoints and SIGTERM/Ctrl-C as cancellation (finish the step, checkpoint, stop).</summary>
    private static TrainOutcome Train(RunContext run, List<ICallback> callbacks, CancellationToken ct)
    {
        var s = run.Settings;
        var actors = run.Actors?.Attach(run.Gpu, ct);      // waits for the host begun before the data was loaded
        var options = new FitOptions
        {
            Epochs = s.Epochs, BatchSize = s.BatchSize, Shuffle = s.Shuffle, Seed = s.Seed, ShardsPerBatch = s.ShardsPerBatch,
            Validation = run.Data.Validation, Verbose = s.LogFormat == "json" ? 0 : s.Verbose, Output = Console.Out,
            Checkpoints = new CheckpointSink(CheckpointDir(run.RunDir), s.CheckpointKeep, run.ConfigText, s.Runtime == "actors" ? s.Mode : "sync",
                                             background: true),
            CheckpointEverySteps = s.CheckpointEverySteps, Cancellation = ct,
            Resume = run.Resume is null ? null! : CheckpointSink.ToFit(run.Resume),
            Runtime = actors ?? (IStepRuntime?)run.Gpu ?? InProcessRuntime.Instance,
        };
        if (s.DescribeLayout(run.Model.Plan.WeightSizes) is { } layout) run.Log.LogInformation("runtime {Runtime}: {Layout}", s.Runtime, layout);
        var result = run.Model.FitWith(run.Data.Fit, options, callbacks);
        return TrainOutcome.Of(result, run.Model.MetricNames);
    }

    private static string CheckpointDir(string runDir) => Path.Combine(runDir, "checkpoints");

    private static bool HasCheckpoint(string runDir) =>
        Directory.Exists(CheckpointDir(runDir)) && CheckpointStore.List(CheckpointDir(runDir)).Count > 0;

    private static string DivergedNote(string runDir)
    {
        const string hint = "; a smaller optimizer.learning-rate usually keeps the loss finite";
        var ckpt = CheckpointDir(runDir);
        if (HasCheckpoint(runDir))
            return $"no outputs were written; the last good checkpoint is in {ckpt}{hint}";
        return $"no outputs and no checkpoint were written (it diverged before the first checkpoint){hint}";
    }

    private static CheckpointState LoadResume(string resume, ILogger log)
    {
        var warnings = new List<string>();
        var ckptDir = Path.Combine(resume, "checkpoints");
        var state = Directory.Exists(ckptDir) ? CheckpointStore.LoadLatest(ckptDir, warnings, log) : null;
        if (state is null)
            throw new ConfigException($"--resume '{resume}': no valid checkpoint in {ckptDir}, so nothing to resume; " +
                                      $"train it afresh with 'train --run-dir {resume} --overwrite', or use another --run-dir");
        log.LogInformation("resuming {RunDir} at epoch {Epoch}, step {Step} (global step {Global})", resume,
                           state.Epoch + 1, state.StepInEpoch, state.GlobalStep);
        return state;
    }

    /// <summary>Refuses, before training, a run whose model folder the final save would refuse (it holds a file that
    /// is not a model's, e.g. a note put into a resumed run's model/): ConfigException naming the folder and the entry.</summary>
    private static void CheckModelFolder(string runDir, string? resume)
    {
        try { ModelFiles.CheckSaveTarget(Path.Combine(runDir, RunDirectory.ModelFolder)); }
        catch (ArgumentException e)
        {
            throw new ConfigException((resume is null ? "" : $"--resume '{resume}': ") + e.Message.Replace($" (Parameter '{e.ParamName}')", "") +
                                      " (move it out; with output.save-model = false the run saves no model)");
        }
    }

    private static PrometheusEndpoint OpenMetrics(int port, TrainingMetrics metrics)
    {
        try
        {
            return new PrometheusEndpoint(port, metrics);
        }
        catch (InvalidOperationException e)
        {
            throw new ConfigException($"metrics.port = {port}: {e.Message}");
        }
    }

    private static TensorBoardCallback NewTensorBoard(TrainSettings s, Sequential model, TrainData data, string runDir, long startStep)
    {
        var probeRows = Math.Min(s.BatchSize, data.Fit.Count);
        return new TensorBoardCallback(Path.Combine(runDir, "tensorboard"), model.Variables.Select(v => v.Name).ToArray(), model.Plan,
                                       data.Fit.Slice(0, probeRows), data.Test, s.TensorBoardEverySteps, startStep);
    }

    /// <summary>How to continue an interrupted run: <c>train --resume DIR</c>, or for a job of the service (whose run
    /// directory the service owns) its client verb <c>resume ID</c>.</summary>
    private static string ResumeHint(string runDir) =>
        Environment.GetEnvironmentVariable(ActorTrainer.Daemon.Service.TrainerProcess.JobIdVariable) is { Length: > 0 } job
            ? $"resume {job} (the service's client verb; a job stopped with the service resumes by itself when it starts again)"
            : $"train --resume {runDir}";

    /// <summary>The test evaluation (on the run's backend), plots, model and summary.json of a finished run (s: the
    /// settings as configured, whose batch size the summary reports).</summary>
    private static void WriteOutputs(TrainSettings s, RunContext run, TrainOutcome outcome, double trainSeconds, bool resumed, string configFile)
    {
        var (model, data, runDir, log) = (run.Model, run.Data, run.RunDir, run.Log);
        var steps = outcome.Steps;
        if (outcome.Interrupted)
            Console.Out.WriteLine(HasCheckpoint(runDir)
                ? $"interrupted after {steps} steps; checkpoint in {CheckpointDir(runDir)}; continue with: {ResumeHint(runDir)}"
                : $"interrupted after {steps} steps, before any checkpoint: nothing to resume; train again with --run-dir {runDir} --overwrite");
        var test = data.Test;
        var plan = model.Plan;
        // the learning curves need only the history: drawn on another core while the test set is evaluated
        var curves = s.Plots ? Task.Run(() => TrainingOutputs.WriteLearningCurves(runDir, outcome.History)) : null;
        // the digit plots need the test set's predicted classes: the evaluation's passes write its outputs (no second pass)
        var probs = s.Plots ? new float[test.Count * plan.OutputDim] : null;
        var eval = model.EvaluateArraysInto(LabelTargets.For(plan.Loss, test.Images, data.Features, test.Labels, plan.OutputDim),
                                            TestChunkRows(run, test.Count), run.Gpu, probs);
        var testLoss = eval["loss"];
        double? testAcc = TrainingOutputs.Accuracy(eval);                        // null: metrics = []
        TrainingOutputs.ReportTest(eval, s.LogFormat == "json" ? log : null, s.Verbose);

        if (probs is not null) TrainingOutputs.WriteDigitPlots(runDir, test, TrainingOutputs.PredictedLabels(probs, plan.OutputDim));
        if (s.SaveModel) model.Save(Path.Combine(runDir, RunDirectory.ModelFolder));
        var curvesFile = curves?.GetAwaiter().GetResult();
        var summary = RunSummary.Build(s, outcome, testLoss, testAcc, trainSeconds, Weights.sha256(model.GetWeights()),
                                       plan.WeightSizes,
                                       model.Optimizer.LearningRate, data.Fit.Count, test.Count, resumed, configFile, run.Gpu?.DeviceName,
                                       data.Validation?.Count);
        TrainingOutputs.WriteSummary(runDir, summary);
        log.LogInformation("wrote {RunDir}: summary.json{History}{Plots}{Model}{Tb}", runDir,
                           File.Exists(Path.Combine(runDir, "history.csv")) ? ", history.csv" : "",
                           s.Plots ? ", predictions.png, misclassified.png" + (curvesFile is null ? "" : ", learning_curves.png") : "",
                           s.SaveModel ? ", model/" : "", s.TensorBoard ? ", tensorboard/" : "");
    }

    /// <summary>Rows per pass of the test evaluation: on the CPU those of fit's validation passes
    /// (<see cref="Evaluation.PassRows"/>: with data.validation = test, test_loss is then the last val_loss to the bit,
    /// and README's 128-row passes took 38–44 ms where 1 024-row ones took 59–68, bench/RESULTS.md 2026-12-06); on a GPU
    /// 1 024 rows, as before.</summary>
    private static int TestChunkRows(RunContext run, int testRows) =>
        run.Gpu is null ? Evaluation.PassRows(run.Settings.BatchSize, testRows) : 1024;

    /// <summary>The effective configuration (reference defaults, config file and --set overrides merged) as HOCON
    /// that parses back to the same values: `train --resume` reads it.</summary>
    private static string RenderConfig(Akka.Configuration.Config config, string file, IReadOnlyList<string> sets)
    {
        var header = $"{RunDirectory.ConfigHeader} this run (from {file}" +
                     (sets.Count > 0 ? ", " + string.Join(", ", sets.Select(x => "--set " + ConfigLoader.OneLine(x))) : "") + ").\n";
        return header + ConfigLoader.Render(config) + "\n";
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
