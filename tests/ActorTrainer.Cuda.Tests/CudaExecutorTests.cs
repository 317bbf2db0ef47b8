using ActorTrainer.Core;

namespace ActorTrainer.Cuda.Tests;

/// <summary>fit on the GPU runtime (ILGPU's CPU accelerator) against fit in-process: the same loop, callbacks,
/// validation, checkpoints and resume; weights close to the CPU path's (not the same bits: exp and GEMM summation
/// differ), identical run to run and across an interruption.</summary>
[Collection("cpu-device")]
public sealed class CudaExecutorTests(CpuDevice cpu)
{
    private static readonly ArrayData Train = Data.Clusters(300, 20, 5, seed: 1);
    private static readonly ArrayData Validation = Data.Clusters(90, 20, 5, seed: 2);

    private static Sequential Model(Optimizer optimizer, bool dropout = false)
    {
        Layer[] layers = dropout
            ? [new Dense(24, "relu"), new Dropout(0.25), new Dense(5, "softmax")]
            : [new Dense(24, "relu"), new Dense(5, "softmax")];
        var m = new Sequential(layers, "gpu", [20], seed: 4);
        m.Compile(optimizer, "sparse_categorical_crossentropy", ["accuracy"]);
        m.Build([20]);
        return m;
    }

    private FitOptions Options(bool gpu, int epochs = 3) => new()
    {
        Epochs = epochs, BatchSize = 32, Seed = 9, ShardsPerBatch = 2, Verbose = 0, Validation = Validation,
        Runtime = gpu ? cpu.Runtime : InProcessRuntime.Instance,
    };

    public static TheoryData<string> Optimizers() => new("sgd", "sgd-nesterov", "rmsprop", "rmsprop-centered-momentum", "adagrad", "adam", "adam-amsgrad");

    private static Optimizer Make(string name) => name switch
    {
        "sgd" => new SGD(0.05),
        "sgd-nesterov" => new SGD(0.05, momentum: 0.9, nesterov: true),
        "rmsprop" => new RMSprop(0.002),
        "rmsprop-centered-momentum" => new RMSprop(0.002, momentum: 0.5, centered: true),
        "adagrad" => new Adagrad(0.05),
        "adam" => new Adam(0.002),
        _ => new Adam(0.002, amsgrad: true),
    };

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void Fit_on_the_device_follows_the_cpu_run(string optimizer)
    {
        var onCpu = Model(Make(optimizer));
        var rc = onCpu.FitWith(Train, Options(gpu: false));
        var onGpu = Model(Make(optimizer));
        var rg = onGpu.FitWith(Train, Options(gpu: true));
        Assert.Equal(rc.Steps, rg.Steps);
        Assert.Equal(onCpu.Optimizer.Iterations, onGpu.Optimizer.Iterations);
        for (int e = 0; e < 3; e++)
        {
            Assert.Equal(rc.Epochs[e].Loss, rg.Epochs[e].Loss, 2e-3);
            Assert.Equal(rc.Epochs[e].ValLoss!.Value, rg.Epochs[e].ValLoss!.Value, 2e-3);
        }
        var wc = onCpu.GetWeights();
        var wg = onGpu.GetWeights();
        for (int i = 0; i < wc.Length; i++) Data.Close(wc[i], wg[i], 2e-3, 1e-5, $"{optimizer} weight {i}");
        // the optimizer's slots come back to the Core optimizer when fit ends, as on the CPU
        var (itc, sc) = onCpu.Optimizer.GetState();
        var (itg, sg) = onGpu.Optimizer.GetState();
        Assert.Equal(itc, itg);
        for (int i = 0; i < sc.Length; i++)
            for (int s = 0; s < sc[i].Length; s++) Data.Close(sc[i][s], sg[i][s], 5e-3, 1e-6, $"{optimizer} slot {s} of weight {i}");
    }

    [Fact]
    public void Dropout_draws_the_cpu_masks()
    {
        var onCpu = Model(new SGD(0.05), dropout: true);
        onCpu.FitWith(Train, Options(gpu: false, epochs: 2));
        var onGpu = Model(new SGD(0.05), dropout: true);
        onGpu.FitWith(Train, Options(gpu: true, epochs: 2));
        var wc = onCpu.GetWeights();
        var wg = onGpu.GetWeights();
        for (int i = 0; i < wc.Length; i++) Data.Close(wc[i], wg[i], 1e-4, 1e-6, $"dropout weight {i}");
    }

    [Fact]
    public void Runs_are_identical_run_to_run()
    {
        var a = Model(new RMSprop(0.002), dropout: true);
        a.FitWith(Train, Options(gpu: true, epochs: 2));
        var b = Model(new RMSprop(0.002), dropout: true);
        b.FitWith(Train, Options(gpu: true, epochs: 2));
        Data.BitIdentical(a.GetWeights(), b.GetWeights());
    }

    private sealed class MemorySink : ICheckpointSink
    {
        public FitCheckpoint? Last;
        public void Save(FitCheckpoint c) =>
            Last = new FitCheckpoint(c.Seed, c.Epoch, c.StepInEpoch, c.GlobalStep, c.EpochStats, c.Weights.Select(w => w.ToArray()).ToArray(),
                c.OptimizerName, c.OptimizerIterations, c.OptimizerSlots.Select(s => s.Select(x => x.ToArray()).ToArray()).ToArray(),
                c.History.ToArray(), c.StaleGradientsRejected);
    }

    private sealed class CancelAt(CancellationTokenSource cts, int epoch, int step) : Callback
    {
        private int _epoch;
        public override void OnEpochBegin(int e, int steps) => _epoch = e;
        public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
        {
            if (_epoch == epoch && batch == step) cts.Cancel();
        }
    }

    [Fact]
    public void Cancel_checkpoint_and_resume_give_the_uninterrupted_weights()
    {
        var full = Model(new Adam(0.002), dropout: true);
        var rf = full.FitWith(Train, Options(gpu: true));

        using var cts = new CancellationTokenSource();
        var sink = new MemorySink();
        var cut = Model(new Adam(0.002), dropout: true);
        var o = Options(gpu: true);
        o.Checkpoints = sink;
        o.Cancellation = cts.Token;
        var r = cut.FitWith(Train, o, [new CancelAt(cts, 1, 3)]);
        Assert.True(r.Interrupted);
        Assert.Equal((1, 4), (sink.Last!.Epoch, sink.Last.StepInEpoch));

        var resumed = Model(new Adam(0.002), dropout: true);
        var o2 = Options(gpu: true);
        o2.Resume = sink.Last;
        var r2 = resumed.FitWith(Train, o2);
        Assert.Equal(rf.Steps, r2.Steps);
        Data.BitIdentical(full.GetWeights(), resumed.GetWeights());
        Assert.Equal(rf.Epochs[2].Loss, r2.Epochs[2].Loss);
    }

    [Fact]
    public void A_diverging_step_applies_nothing_and_names_the_step()
    {
        var m = Model(new SGD(1e30));
        var before = new List<float[][]>();
        var o = Options(gpu: true, epochs: 1);
        var e = Assert.Throws<TrainingDivergedException>(() => m.FitWith(Train, o, [new Snapshot(m, before)]));
        Assert.Contains("training diverged in epoch 1, batch", e.Message);
        // the weights are those after the last good step
        Data.BitIdentical(before[^1], m.GetWeights());
        Assert.Equal(e.Step, m.Optimizer.Iterations);
    }

    private sealed class Snapshot(Sequential m, List<float[][]> into) : Callback
    {
        public override void OnTrainBegin() => into.Add(m.GetWeights());
        public override void OnTrainBatchEnd(int batch, IReadOnlyDictionary<string, double> logs)
        {
            if (!double.IsNaN(logs["loss"])) into.Add(m.GetWeights());
        }
    }

    [Fact]
    public void Predict_and_evaluate_through_the_model_use_the_device()
    {
        var m = Model(new RMSprop(0.002));
        m.FitWith(Train, Options(gpu: false, epochs: 1));
        var cpuLogs = m.EvaluateArrays(Validation, 16);
        var gpuLogs = m.EvaluateArrays(Validation, 16, cpu.Runtime);
        Assert.Equal(cpuLogs["loss"], gpuLogs["loss"], 1e-5);
        Assert.Equal(cpuLogs["accuracy"], gpuLogs["accuracy"]);
        Data.Close(m.PredictArrays(Validation.X, 20, 32), m.PredictArrays(Validation.X, 20, 32, cpu.Runtime), 1e-5, 1e-7, "predict");
    }

    [Fact]
    public void Without_a_gpu_the_cuda_accelerator_names_what_is_missing_and_the_fallback()
    {
        if (HasGpu()) return;   // a GPU machine: covered by the device checks
        var e = Assert.Throws<CudaUnavailableException>(() => new CudaRuntime(new CudaOptions()));
        Assert.Contains("no CUDA device", e.Message);
        Assert.Contains("--set trainer.backend=cpu", e.Message);
        Assert.Contains("in code: the CPU runtime, or new CudaOptions(DeviceKind.Cpu)", e.Message);   // a library caller has no --set
        Assert.DoesNotContain("\n", e.Message);
    }

    private static bool HasGpu()
    {
        try { using var r = new CudaRuntime(new CudaOptions()); return true; }
        catch (CudaUnavailableException) { return false; }
    }
}
