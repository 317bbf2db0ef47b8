using ActorTrainer.Core.Data;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Small real-MNIST training problems and the in-process SyncStepper reference.</summary>
internal static class Fixtures
{
    private static readonly Lazy<(Dataset Train, Dataset Test)> Mnist = new(() =>
    {
        var (train, test) = ActorTrainer.Core.Data.Mnist.LoadBundled();
        return (train.Take(2048), test.Take(512));
    });

    public static ModelPlan Plan { get; } = new(784,
        [PlanLayer.NewDense(784, 32, true, Activation.Relu), PlanLayer.NewDense(32, 10, true, Activation.Softmax)],
        Loss.SparseCategoricalCrossentropy);

    public static ArrayData Train(int n)
    {
        var ds = Mnist.Value.Train;
        return new ArrayData(ds.Images.AsSpan(0, n * 784).ToArray(), 784, ds.Labels.AsSpan(0, n).ToArray(), null, n);
    }

    public static ArrayData Validation(int n)
    {
        var ds = Mnist.Value.Test;
        return new ArrayData(ds.Images.AsSpan(0, n * 784).ToArray(), 784, ds.Labels.AsSpan(0, n).ToArray(), null, n);
    }

    public static float[][] InitialWeights(int seed = 7) =>
        Plan.WeightShapes.Select((s, i) => s.Length == 1 ? new float[s[0]] : Initializer.GlorotUniform.Create(s, seed + i)).ToArray();

    public static Optimizer RmsProp(double lr = 0.001) =>
        new RMSprop(learningRate: lr);

    public static Optimizer Sgd(double lr) => new SGD(learningRate: lr);

    public static TrainingJob Job(int n, RuntimeOptions options, int epochs = 2, int batch = 64, int seed = 3,
        Optimizer? optimizer = null, ArrayData? validation = null, CheckpointState? resume = null) =>
        new(Plan, InitialWeights(), optimizer ?? RmsProp(), Train(n), validation, epochs, batch, seed, true, options,
            "trainer { mode = " + options.Mode + " }", resume);

    /// <summary>The reference: a plain loop over SyncStepper (what `fit` does); returns weights and per-epoch losses.</summary>
    public static (float[][] Weights, double[] Losses) Reference(TrainingJob job)
    {
        var w = job.InitialWeights.Select(a => (float[])a.Clone()).ToArray();
        var opt = RmsProp();
        var stepper = new SyncStepper(job.Plan, job.BatchSize, job.Options.ShardsPerBatch);
        var d = job.Train;
        int steps = Batching.batchCount(d.Count, job.BatchSize);
        var losses = new double[job.Epochs];
        long global = 0;
        for (int e = 0; e < job.Epochs; e++)
        {
            var order = Batching.permutation(job.Seed, e, d.Count, job.Shuffle);
            double loss = 0; long count = 0;
            for (int b = 0; b < steps; b++)
            {
                int start = b * job.BatchSize, rows = Math.Min(job.BatchSize, d.Count - start);
                var (st, g) = stepper.Gradients(w, d.X, d.Labels, null, order, start, rows, job.Seed, global++);
                opt.Apply(w, g);
                loss += st.LossSum; count += st.Count;
            }
            losses[e] = loss / count;
        }
        return (w, losses);
    }

    public static void AssertBitIdentical(float[][] expected, float[][] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Length, actual[i].Length);
            for (int j = 0; j < expected[i].Length; j++)
                if (BitConverter.SingleToInt32Bits(expected[i][j]) != BitConverter.SingleToInt32Bits(actual[i][j]))
                    Assert.Fail($"weight {i}[{j}]: expected {expected[i][j]:R} but got {actual[i][j]:R}");
        }
    }

    /// <summary>A fresh temporary directory, deleted with everything in it when the test process exits.</summary>
    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "at-runtime-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        lock (TempDirs)
        {
            if (TempDirs.Count == 0) AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteTempDirs();
            TempDirs.Add(d);
        }
        return d;
    }

    private static readonly List<string> TempDirs = new();

    private static void DeleteTempDirs()
    {
        lock (TempDirs)
            foreach (var d in TempDirs)
                try { Directory.Delete(d, recursive: true); }
                catch (IOException) { /* still in use: the OS's temp cleanup takes it */ }
                catch (UnauthorizedAccessException) { /* a test made it read-only on purpose */ }
    }
}

/// <summary>Records callbacks; optionally cancels a token at a given (epoch, step) or requests a stop after an epoch.</summary>
internal sealed class RecordingObserver(CancellationTokenSource? cancel = null, int cancelEpoch = -1, int cancelStep = -1,
    int stopAfterEpoch = -1) : Callback
{
    public readonly List<(int Epoch, int Steps)> Begins = new();
    public readonly List<(int Epoch, int Step, double Loss)> Batches = new();
    public readonly List<EpochLogs> Ends = new();
    private int _epoch;

    public override void OnEpochBegin(int epoch, int stepsInEpoch)
    {
        _epoch = epoch;
        lock (Batches) Begins.Add((epoch, stepsInEpoch));
    }

    public override void OnTrainBatchEnd(int stepInEpoch, IReadOnlyDictionary<string, double> logs)
    {
        lock (Batches) Batches.Add((_epoch, stepInEpoch, logs["loss"]));
        if (_epoch == cancelEpoch && stepInEpoch == cancelStep) cancel?.Cancel();
    }

    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        double? Get(string k) => logs.TryGetValue(k, out var v) ? v : null;
        Ends.Add(new EpochLogs(epoch, logs["loss"], logs["accuracy"], Get("val_loss"), Get("val_accuracy"), 0, null));
        if (epoch == stopAfterEpoch) Model.StopTraining = true;
    }
}
