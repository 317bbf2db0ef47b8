using ActorTrainer.Core;
using ILGPU;
using ILGPU.Runtime;

namespace ActorTrainer.Cuda.Tests;

/// <summary>The device forward/backward passes (run on ILGPU's CPU accelerator) against Core's GradientEngine, the
/// independent CPU path: every activation, every loss form (fused and Keras' clipped probability forms), dropout
/// (the same masks), layers without bias, an Activation layer last; inference (predict/evaluate) too.</summary>
[Collection("cpu-device")]
public sealed class DeviceModelTests(CpuDevice cpu)
{
    private static PlanLayer D(int i, int u, string act, bool bias = true) => PlanLayer.NewDense(i, u, bias, Activation.Parse(act));

    public static TheoryData<string> Plans() => new(Cases.Keys);

    private static readonly Dictionary<string, ModelPlan> Cases = new()
    {
        ["relu-softmax-sparse"] = new(12, [D(12, 16, "relu"), D(16, 5, "softmax")], Loss.SparseCategoricalCrossentropy),
        ["tanh-dropout-sigmoid-binary"] = new(12, [D(12, 8, "tanh"), PlanLayer.NewDropout(0.3), D(8, 4, "sigmoid")], Loss.BinaryCrossentropy),
        ["sigmoid-linear-act-softmax-categorical"] = new(12, [D(12, 8, "sigmoid"), D(8, 3, "linear"), PlanLayer.NewActivation(Activation.Softmax)], Loss.CategoricalCrossentropy),
        ["nobias-relu-linear-mse"] = new(12, [D(12, 6, "relu", bias: false), D(6, 2, "linear")], Loss.MeanSquaredError),
        ["sigmoid-categorical-probability-form"] = new(12, [D(12, 7, "relu"), D(7, 4, "sigmoid")], Loss.CategoricalCrossentropy),
        ["sigmoid-sparse-probability-form"] = new(12, [D(12, 7, "tanh"), D(7, 3, "sigmoid")], Loss.SparseCategoricalCrossentropy),
        ["softmax-binary-probability-form"] = new(12, [D(12, 7, "relu"), PlanLayer.NewDropout(0.5), D(7, 3, "softmax")], Loss.BinaryCrossentropy),
        ["act-relu-after-dense"] = new(12, [D(12, 9, "linear"), PlanLayer.NewActivation(Activation.Relu), D(9, 4, "softmax")], Loss.SparseCategoricalCrossentropy),
    };

    private static (float[][] W, float[] X, int[] Labels, float[] Targets) Inputs(ModelPlan plan, int rows)
    {
        var w = plan.WeightShapes.Select((s, i) => Data.Random(s.Aggregate(1, (a, b) => a * b), 100 + i, 0.5f)).ToArray();
        var x = Data.Random(rows * plan.InputDim, 7);
        int ow = plan.OutputDim;
        var rng = new Random(3);
        var labels = Enumerable.Range(0, rows).Select(_ => rng.Next(ow)).ToArray();
        var targets = plan.Loss.IsMeanSquaredError ? Data.Random(rows * ow, 9)
            : Enumerable.Range(0, rows * ow).Select(i => i % ow == labels[i / ow] ? 1f : 0f).ToArray();
        return (w, x, labels, targets);
    }

    [Theory]
    [MemberData(nameof(Plans))]
    public void Gradients_and_statistics_match_the_cpu_engine(string name)
    {
        var plan = Cases[name];
        const int rows = 11, batch = 16;
        const long seed = 12345;
        var (w, x, labels, targets) = Inputs(plan, rows);
        var engine = new GradientEngine(plan, rows);
        var expected = w.Select(a => new float[a.Length]).ToArray();
        var st = engine.ComputeGradients(w, x, plan.Loss.SparseTargets ? labels : default, plan.Loss.SparseTargets ? default : targets, rows, batch, seed, expected);

        var dev = cpu.Device;
        using var model = new DeviceModel(dev, dev.Kernels, plan, rows);
        using var wd = CudaInference.UploadWeights(dev, model, w);
        using var xd = Upload(x);
        using var ld = UploadInts(labels);
        using var td = Upload(targets);
        using var gd = dev.Accelerator.Allocate1D<float>(model.ParameterCount);
        model.Flag.MemSetToZero();
        model.Forward(wd.View, xd.View, rows, true, [seed]);
        model.Loss(xd.View, rows, batch, ld.View, td.View, true);
        model.Backward(wd.View, xd.View, rows, gd.View);
        var g = gd.GetAsArray1D();
        var stats = model.ReadStats(model.NewStatsBuffer(), rows, out var flag);

        for (int i = 0; i < expected.Length; i++)
            Data.Close(expected[i], g.AsSpan(model.Offsets[i], model.Sizes[i]).ToArray(), 2e-5, 1e-7, $"{name} gradient {i}");
        Assert.Equal(st.LossSum, stats.LossSum, 1e-4 * Math.Max(1, Math.Abs(st.LossSum)));
        Assert.Equal(st.Correct, stats.Correct);
        Assert.Equal(0, flag);
    }

    [Theory]
    [MemberData(nameof(Plans))]
    public void Predict_and_evaluate_match_the_cpu_engine(string name)
    {
        var plan = Cases[name];
        const int rows = 23;
        var (w, x, labels, targets) = Inputs(plan, rows);
        var engine = new GradientEngine(plan, rows);
        var expected = engine.Predict(w, x, rows).ToArray();
        var actual = cpu.Runtime.Predict(plan, w, x, rows, 5);         // chunks of 5 rows: the last one partial
        Data.Close(expected, actual, 1e-5, 1e-7, $"{name} predict");

        var data = plan.Loss.SparseTargets ? ArrayData.OfLabels(x, plan.InputDim, labels) : new ArrayData(x, plan.InputDim, null, targets, rows);
        var cpuStats = new Evaluator(plan, 7).Run(w, data);
        var gpuStats = cpu.Runtime.Evaluate(plan, w, data, 7);
        Assert.Equal(cpuStats.LossSum, gpuStats.LossSum, 1e-4 * Math.Max(1, Math.Abs(cpuStats.LossSum)));
        Assert.Equal(cpuStats.Correct, gpuStats.Correct);
        Assert.Equal(rows, gpuStats.Count);
    }

    [Fact]
    public void The_step_with_the_ilgpu_gemm_kernel_matches_the_cpu_engine_too()
    {
        // the CPU accelerator's default GEMM is the host's; this runs the device model on the GPU's own GEMM kernel
        using var dev = DeviceContext.OpenCpu(gemmKernel: true);
        Assert.Equal("ILGPU GEMM kernel", dev.Blas.Name);
        var plan = Cases["tanh-dropout-sigmoid-binary"];
        const int rows = 9;
        var (w, x, labels, targets) = Inputs(plan, rows);
        var expected = w.Select(a => new float[a.Length]).ToArray();
        new GradientEngine(plan, rows).ComputeGradients(w, x, default, targets, rows, rows, 5, expected);
        using var model = new DeviceModel(dev, dev.Kernels, plan, rows);
        using var wd = CudaInference.UploadWeights(dev, model, w);
        using var xd = dev.Accelerator.Allocate1D(x);
        using var ld = dev.Accelerator.Allocate1D(labels);
        using var td = dev.Accelerator.Allocate1D(targets);
        using var gd = dev.Accelerator.Allocate1D<float>(model.ParameterCount);
        model.Flag.MemSetToZero();
        model.Forward(wd.View, xd.View, rows, true, [5]);
        model.Loss(xd.View, rows, rows, ld.View, td.View, true);
        model.Backward(wd.View, xd.View, rows, gd.View);
        var g = gd.GetAsArray1D();
        for (int i = 0; i < expected.Length; i++)
            Data.Close(expected[i], g.AsSpan(model.Offsets[i], model.Sizes[i]).ToArray(), 2e-5, 1e-7, $"kernel-GEMM gradient {i}");
    }

    [Fact]
    public void A_non_finite_loss_sets_the_flag()
    {
        var plan = Cases["relu-softmax-sparse"];
        var (w, x, labels, targets) = Inputs(plan, 4);
        w[0][0] = float.NaN;
        var dev = cpu.Device;
        using var model = new DeviceModel(dev, dev.Kernels, plan, 4);
        using var wd = CudaInference.UploadWeights(dev, model, w);
        using var xd = Upload(x);
        using var ld = UploadInts(labels);
        using var td = Upload(targets);
        model.Flag.MemSetToZero();
        model.Forward(wd.View, xd.View, 4, false, null);
        model.Loss(xd.View, 4, 4, ld.View, td.View, false);
        Assert.Equal(1, FlagOf(model) & 1);
    }

    [Fact]
    public void Labels_outside_the_classes_are_refused_naming_the_sample()
    {
        var plan = Cases["relu-softmax-sparse"];
        var d = ArrayData.OfLabels(new float[3 * 12], 12, [0, 4, 5]);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DeviceDataset(cpu.Device, plan, d, "the training set"));
        Assert.Contains("label 5 of sample 2 is outside [0, 5)", e.Message);
    }

    private static int FlagOf(DeviceModel m)
    {
        var h = new int[1];
        m.Flag.CopyToCPU(h);
        return h[0];
    }

    [Fact]
    public void A_user_defined_layer_is_refused_naming_it()
    {
        var scale = new TapePlanLayer("scale", [12], [12], [], (x, _) => x * 2.0);
        var plan = new ModelPlan(12, [PlanLayer.NewCustom(scale), D(12, 3, "softmax")], Loss.SparseCategoricalCrossentropy);
        var e = Assert.Throws<NotSupportedException>(() => new DeviceModel(cpu.Device, cpu.Device.Kernels, plan, 4));
        Assert.Contains("layer 'scale'", e.Message);
        Assert.Contains("built-in layers only", e.Message);
    }

    private MemoryBuffer1D<float, Stride1D.Dense> Upload(float[] a) => cpu.Device.Accelerator.Allocate1D(a);
    private MemoryBuffer1D<int, Stride1D.Dense> UploadInts(int[] a) => cpu.Device.Accelerator.Allocate1D(a);
}
