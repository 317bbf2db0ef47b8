using Akka.Actor;
using Akka.Hosting;
using ActorTrainer.Core;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace ActorTrainer.Daemon.Commands;

/// <summary>What a training run produced, whichever runtime ran it.</summary>
public sealed record TrainOutcome(IReadOnlyDictionary<string, double[]> History, long Steps, bool Interrupted,
                                  double StepsPerSecond, int Workers, long StaleGradientsRejected);

/// <summary>The model as callbacks see it while the actor runtime trains: the weights of the last finished epoch.</summary>
internal sealed class RuntimeModelHandle(Sequential model) : IModelHandle
{
    public bool StopTraining { get; set; }
    public Optimizer Optimizer => model.Optimizer;
    public float[][] GetWeights() => model.GetWeights();
    public void SetWeights(float[][] weights) => model.SetWeights(weights);
    public void Save(string path) => model.Save(path);
}

/// <summary>Feeds the actor runtime's progress to Keras-style callbacks (progress bar, CSV, TensorBoard, ...).</summary>
internal sealed class CallbackObserver(IReadOnlyList<ICallback> callbacks, RuntimeModelHandle handle, Sequential model,
                                       IReadOnlyList<string> metricNames) : ITrainingObserver
{
    private readonly Dictionary<string, double> _logs = new();

    public void OnEpochBegin(int epoch, int stepsInEpoch)
    {
        foreach (var c in callbacks) c.OnEpochBegin(epoch, stepsInEpoch);
    }

    public void OnBatchEnd(int epoch, int stepInEpoch, double loss, double accuracy)
    {
        _logs["loss"] = loss;
        foreach (var m in metricNames) _logs[m] = accuracy;
        foreach (var c in callbacks) c.OnTrainBatchEnd(stepInEpoch, _logs);
    }

    public void OnEpochEnd(EpochLogs logs, float[][] weights)
    {
        model.SetWeights(weights);
        var d = new Dictionary<string, double> { ["loss"] = logs.Loss };
        foreach (var m in metricNames) d[m] = logs.Accuracy;
        if (logs.ValLoss is { } vl) d["val_loss"] = vl;
        if (logs.ValAccuracy is { } va) foreach (var m in metricNames) d["val_" + m] = va;
        foreach (var c in callbacks) c.OnEpochEnd(logs.Epoch, d);
    }

    public bool StopRequested => handle.StopTraining;
}

/// <summary>A host lifetime that leaves signals to the trainer's own cancellation token.</summary>
internal sealed class TrainerLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Runs training on the Akka.NET actor runtime inside a generic host (Akka.Hosting).</summary>
public static class ActorRun
{
    /// <summary>Trains `model` (built and compiled) on the actor runtime; callbacks get Keras-style events.</summary>
    public static TrainOutcome Run(TrainSettings s, Sequential model, ArrayData train, ArrayData? validation,
                                   List<ICallback> callbacks, string runDir, string configText, CheckpointState? resume,
                                   ILoggerFactory loggerFactory, CancellationToken ct)
    {
        var handle = new RuntimeModelHandle(model);
        if (s.Verbose > 0 && s.LogFormat == "text")
            callbacks.Insert(0, new ProgbarLogger(s.Epochs, Console.Out, s.Verbose == 1 && !Console.IsOutputRedirected));
        foreach (var c in callbacks) c.SetModel(handle);
        var options = new RuntimeOptions(s.Workers, s.Mode, s.ShardsPerBatch, s.AsyncPullEvery, s.AsyncMaxStaleness,
                                         s.WorkerTimeout, s.CheckpointEverySteps, s.CheckpointKeep,
                                         Path.Combine(runDir, "checkpoints"));
        var job = new TrainingJob(model.Plan, model.GetWeights(), model.Optimizer,
                                  new TrainingData(train.X, train.Labels, train.Targets, train.Count, train.Features),
                                  validation is null ? null : new TrainingData(validation.X, validation.Labels, validation.Targets, validation.Count, validation.Features),
                                  s.Epochs, s.BatchSize, s.Seed, s.Shuffle, options, configText, resume);
        try
        {
            JobValidation.Validate(job);      // before any actor starts: the job is built from the user's data and config
        }
        catch (ArgumentException e)
        {
            throw new DataFormatException(e.Message.Split(" (Parameter")[0], e);
        }
        using var host = new HostBuilder()
            .ConfigureServices(services =>
            {
                services.AddSingleton(loggerFactory);
                // SIGTERM / Ctrl-C belong to the trainer (finish the step, checkpoint, exit 0), not to the host's
                // console lifetime, which would tear the actor system down mid-step.
                services.AddSingleton<IHostLifetime, TrainerLifetime>();
                services.AddActorTrainer("actor-trainer", b => b
                    .AddHocon(s.Config, HoconAddMode.Prepend)
                    .ConfigureLoggers(l =>
                    {
                        l.ClearLoggers();
                        l.AddLoggerFactory();   // Akka's own log events go through Microsoft.Extensions.Logging
                    }));
            })
            .Build();
        host.Start();
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            foreach (var c in callbacks) c.OnTrainBegin();
            var observer = new CallbackObserver(callbacks, handle, model, model.MetricNames);
            var result = ActorTrainingRunner.RunAsync(job, observer, ct, system).GetAwaiter().GetResult();
            model.SetWeights(result.Weights);
            var history = new Dictionary<string, double[]>
            {
                ["loss"] = result.History.Select(h => h.Loss).ToArray(),
            };
            foreach (var m in model.MetricNames) history[m] = result.History.Select(h => h.Accuracy).ToArray();
            if (result.History.Count > 0 && result.History.All(h => h.ValLoss.HasValue))
            {
                history["val_loss"] = result.History.Select(h => h.ValLoss!.Value).ToArray();
                foreach (var m in model.MetricNames) history["val_" + m] = result.History.Select(h => h.ValAccuracy ?? double.NaN).ToArray();
            }
            foreach (var c in callbacks) c.OnTrainEnd(new Dictionary<string, double>());
            return new TrainOutcome(history, result.Steps, result.Interrupted, result.StepsPerSecond, result.Workers, result.StaleGradientsRejected);
        }
        finally
        {
            host.StopAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        }
    }
}
