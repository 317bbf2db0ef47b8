using System.Diagnostics;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Interop;
using PlotApi = ActorTrainer.Daemon.Plots.Plots;

namespace ActorTrainer.Daemon.Output;

/// <summary>
/// Keras-style TensorBoard logging: &lt;logDir&gt;/train and &lt;logDir&gt;/validation event files with epoch scalars
/// (epoch_loss, epoch_accuracy, learning_rate, steps_per_second), batch scalars every N steps, weight histograms and
/// gradient histograms (the gradient of a fixed probe batch at the epoch's weights) per epoch, and an image of the
/// first-10-test-digits prediction grid per epoch. As in Keras, an epoch's events have the 0-based epoch index as
/// their step, and batch scalars the global batch count (1 after the first batch).
/// </summary>
public sealed class TensorBoardCallback : Callback, IDisposable, IReadOnlyBatchHooks, IRuntimeCallback
{
    private readonly EventFileWriter _train;
    private readonly EventFileWriter _validation;
    private readonly string[] _weightNames;
    private readonly ModelPlan _plan;
    private readonly ArrayData _probe;
    private readonly Dataset? _test;
    private readonly int _everySteps;
    private readonly Stopwatch _clock = new();
    private GradientEngine? _probeEngine, _gridEngine;     // made at the first epoch end, reused
    private float[][]? _probeGradients;
    private IStepExecutor? _executor;    // the run's, for its weights at an epoch's end (copied into _epochWeights)
    private float[][]? _epochWeights;
    private long _step;
    private long _epochStartStep;

    /// <summary>Creates the writers under logDir/train and logDir/validation; batch scalars count global steps from
    /// <paramref name="startStep"/> (a resumed run's checkpoint step, so its points continue the first run's).</summary>
    public TensorBoardCallback(string logDir, string[] weightNames, ModelPlan plan, ArrayData probe, Dataset? test, int everySteps,
                               long startStep = 0)
    {
        _step = startStep;
        _train = new EventFileWriter(Path.Combine(logDir, "train"));
        _validation = new EventFileWriter(Path.Combine(logDir, "validation"));
        _weightNames = weightNames;
        _plan = plan;
        _probe = probe;
        _test = test;
        _everySteps = everySteps;
    }

    /// <summary>Directory of the train event file.</summary>
    public string TrainFile => _train.FilePath;
    /// <summary>Path of the validation event file.</summary>
    public string ValidationFile => _validation.FilePath;

    /// <inheritdoc />
    public override void OnEpochBegin(int epoch, int steps)
    {
        _epochStartStep = _step;
        _clock.Restart();
    }

    /// <inheritdoc />
    public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
    {
        _step++;
        if (_everySteps > 0 && _step % _everySteps == 0)
        {
            foreach (var (k, v) in logs) _train.WriteScalar("batch_" + k, _step, (float)v);
            var sec = _clock.Elapsed.TotalSeconds;
            if (sec > 0) _train.WriteScalar("batch_steps_per_second", _step, (float)((_step - _epochStartStep) / sec));
        }
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs) =>
        WriteEpoch(epoch, logs, EpochWeights(), Model.Optimizer.LearningRate);

    /// <inheritdoc />
    public void SetExecutor(IStepExecutor executor) => _executor = executor;

    /// <summary>The weights at this epoch's end (the values Model.GetWeights() returns), copied into arrays kept from
    /// the epoch before: a fresh 1.6 MB copy per epoch cost ~4 ms of first-touch page faults on a paravirtualized VM.</summary>
    private float[][] EpochWeights()
    {
        if (_executor is not { } exec) return Model.GetWeights();
        return _epochWeights = Weights.copyReusing(_epochWeights!, exec.Weights);
    }

    /// <summary>Epoch e's events (e 0-based, their step, as Keras writes them): the epoch scalars, learning rate and
    /// steps per second, the weights' and the probe batch's gradient histograms, the prediction grid.</summary>
    private void WriteEpoch(int e, IReadOnlyDictionary<string, double> logs, float[][] weights, double learningRate)
    {
        foreach (var (k, v) in logs)
        {
            if (k.StartsWith("val_", StringComparison.Ordinal)) _validation.WriteScalar("epoch_" + k[4..], e, (float)v);
            else _train.WriteScalar("epoch_" + k, e, (float)v);
        }
        _train.WriteScalar("learning_rate", e, (float)learningRate);
        var sec = _clock.Elapsed.TotalSeconds;
        if (sec > 0) _train.WriteScalar("steps_per_second", e, (float)((_step - _epochStartStep) / sec));
        // the prediction grid is drawn on another core while this one computes the histograms (at an epoch's end
        // the gradient workers are idle); its event follows them, as before
        var grid = _test is { Count: > 0 } test && _plan.InputDim == test.Height * test.Width
            ? Task.Run(() => PredictionGrid(test, weights, e)) : null;
        for (var i = 0; i < weights.Length; i++) WriteFiniteHistogram(_weightNames[i], e, weights[i]);
        if (_probe.Count > 0)
        {
            var engine = _probeEngine ??= new GradientEngine(_plan, _probe.Count);
            var grads = _probeGradients ??= weights.Select(w => new float[w.Length]).ToArray();
            engine.ComputeGradients(weights, _probe.X, _probe.Labels ?? [], _probe.Targets ?? [], _probe.Count, _probe.Count, 0L, grads);
            for (var i = 0; i < grads.Length; i++) WriteFiniteHistogram(_weightNames[i] + "/gradient", e, grads[i]);
        }
        if (grid is not null)
        {
            var (png, height, width) = grid.GetAwaiter().GetResult();
            _validation.WriteImage("predictions", e, png, height, width, 4);
        }
        // to the operating system only (TensorBoard reads them from there); to disk when training ends
        _train.Flush(toDisk: false);
        _validation.Flush(toDisk: false);
    }

    /// <summary>One epoch end of an MNIST-shaped model (784 → 128 relu → 10 softmax, sparse categorical crossentropy,
    /// Keras's weight names) into `directory`, or when it is null into a new temporary directory that is deleted
    /// afterwards: what <see cref="WarmUp(ModelPlan, string[], float[][], string?)"/> compiles, for `train` to run before
    /// its config is read. Code that depends on a run's own layer sizes is compiled by that run's compute warm-up.</summary>
    public static void WarmUp(string? directory = null)
    {
        var plan = new ModelPlan(784, [PlanLayer.NewDense(784, 128, true, Activation.Relu), PlanLayer.NewDense(128, 10, true, Activation.Softmax)],
                                 Loss.SparseCategoricalCrossentropy);
        var weights = plan.WeightShapes.Select((s, i) => s.Length == 1 ? new float[s[0]] : Initializer.GlorotUniform.Create(s, 1 + i)).ToArray();
        WarmUp(plan, ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"], weights, directory);
    }

    /// <summary>Writes one epoch end of a model of `plan` (weights: a copy of its weights, names as the run's) into
    /// `directory`, or when it is null into a new temporary directory that is deleted afterwards: compiles the epoch-end
    /// path — histograms, the probe gradient, the prediction grid's PNG and SkiaSharp (for a square input), the event
    /// writer — ahead of a run, where it took 60–90 ms of the first epoch end (bench/RESULTS.md; `train` runs the
    /// MNIST-shaped <see cref="WarmUp(string?)"/> before it parses its config). Ten synthetic rows; nothing of a run is
    /// touched. Throws IOException when the directory cannot be written.</summary>
    public static void WarmUp(ModelPlan plan, string[] weightNames, float[][] weights, string? directory = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(weightNames);
        ArgumentNullException.ThrowIfNull(weights);
        var dir = directory ?? ActorTrainer.Runtime.WarmupDirectories.New();
        try
        {
            const int rows = 10;
            int side = (int)Math.Round(Math.Sqrt(plan.InputDim));
            var probe = ActorTrainer.Runtime.RuntimeWarmup.Synthetic(plan, rows);
            var x = probe.X;
            Dataset? test = side * side != plan.InputDim ? null
                : new Dataset(x, x.Select(v => (byte)(v * 255f)).ToArray(), probe.Labels ?? new int[rows], rows, side, side, "warm-up");
            using var tb = new TensorBoardCallback(dir, weightNames, plan, probe, test, 1);
            tb.OnTrainBatchEnd(0, new Dictionary<string, double> { ["loss"] = 1.0 });
            tb.WriteEpoch(0, new Dictionary<string, double> { ["loss"] = 1.0, ["val_loss"] = 1.0 }, weights, 0.001);
        }
        finally
        {
            if (directory is null)
                try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>PNG of the first 10 test digits with the predictions of `weights`, titled "Epoch e+1" (1-based, as the
    /// progress bar counts); its height and width.</summary>
    private (byte[] Png, int Height, int Width) PredictionGrid(Dataset test, float[][] weights, int e)
    {
        var n = Math.Min(10, test.Count);
        var engine = _gridEngine ??= new GradientEngine(_plan, n);
        var probs = engine.Predict(weights, test.Images.AsSpan(0, n * _plan.InputDim), n).ToArray();
        var all = new int[test.Count];
        Array.Copy(TrainingOutputs.PredictedLabels(probs, _plan.OutputDim), all, n);
        var png = PlotApi.DigitGridPng(test.Pixels, test.Height, test.Width, Enumerable.Range(0, n).ToArray(), test.Labels, all, 2, 5, $"Epoch {e + 1}");
        var size = PlotApi.DigitGridSize(test.Height, test.Width, 2, 5);
        return (png, size.Height, size.Width);
    }

    /// <summary>A histogram of finite values only: a NaN or infinity (which the divergence guard stops training on)
    /// must not crash the logging of an otherwise finished epoch.</summary>
    private void WriteFiniteHistogram(string tag, int step, float[] values)
    {
        foreach (var v in values)
            if (!float.IsFinite(v)) return;
        _train.WriteHistogram(tag, step, values);
    }

    /// <inheritdoc />
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs)
    {
        _train.Flush();
        _validation.Flush();
    }

    /// <summary>Flushes and closes both event files.</summary>
    public void Dispose()
    {
        _train.Dispose();
        _validation.Dispose();
    }
}
