using System.Diagnostics;
using System.Text.Json;
using ActorTrainer.Core;
using ActorTrainer.Core.Data;
using ActorTrainer.Cuda;
using ActorTrainer.Cuda.Blas;
using ILGPU;
using ILGPU.Runtime;

namespace ActorTrainer.Bench;

/// <summary>
/// The GPU backend on the device at hand (issue 13's targets; run side by side with bench/cuda/torch_peer.py by
/// bench/cuda/device-bench.sh): the reference model (784-512-10, RMSprop, batch 128, 5 epochs) — device open and
/// kernel compilation, every epoch's seconds, the whole run, test accuracy; inference of the 10k test images (resident
/// on the device, and through predict with the copies); a large MLP (784-4096-4096-10, batch 4096, fp32) training
/// throughput against an SGEMM 4096³ in the same run. Prints SUMMARY lines (JSON).
/// Usage: cuda [--accelerator cuda|cpu] [--epochs 5] [--tf32] [--quick] (quick: small sizes, for the CPU accelerator)
/// </summary>
public static class CudaBench
{
    private sealed record Args(DeviceKind Accelerator, int Epochs, bool Tf32, bool Quick);

    private static Args Parse(string[] a)
    {
        var acc = DeviceKind.Cuda; int epochs = 5; bool tf32 = false, quick = false;
        for (int i = 0; i < a.Length; i++)
            switch (a[i])
            {
                case "--accelerator": acc = CudaOptions.ParseAccelerator(a[++i]); break;
                case "--epochs": epochs = int.Parse(a[++i]); break;
                case "--tf32": tf32 = true; break;
                case "--quick": quick = true; break;
                default: throw new ArgumentException($"cuda: unknown option '{a[i]}' (--accelerator cuda|cpu, --epochs N, --tf32, --quick)");
            }
        return new Args(acc, epochs, tf32, quick);
    }

    public static int Run(string[] argv)
    {
        var a = Parse(argv);
        var open = Stopwatch.StartNew();
        using var rt = new CudaRuntime(new CudaOptions(a.Accelerator, 0, a.Tf32));
        var openSeconds = open.Elapsed.TotalSeconds;
        Console.WriteLine($"# cuda bench — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {rt.DeviceName}, {rt.BlasName}, {Environment.ProcessorCount} cores, " +
                          $"loadavg {File.ReadAllText("/proc/loadavg").Trim()}; device opened in {openSeconds:0.000} s");
        Reference(rt, a, openSeconds);
        Large(rt, a);
        return 0;
    }

    private static void Reference(CudaRuntime rt, Args a, double openSeconds)
    {
        var (train, test) = Mnist.LoadBundled();
        int n = a.Quick ? 512 : train.Count;
        var data = ArrayData.OfLabels(train.Images.AsSpan(0, n * 784).ToArray(), 784, train.Labels.AsSpan(0, n).ToArray());
        int nt = a.Quick ? 256 : test.Count;
        var testData = ArrayData.OfLabels(test.Images.AsSpan(0, nt * 784).ToArray(), 784, test.Labels.AsSpan(0, nt).ToArray());
        var compile = Stopwatch.StartNew();
        _ = rt.Device.Kernels;          // compiled on first use: timed apart from the fit, counted in its total
        var compileSeconds = compile.Elapsed.TotalSeconds;
        var (model, r, fitSeconds) = Fit(rt, data, a.Epochs);
        var trainSeconds = compileSeconds + fitSeconds;
        var logs = model.EvaluateArrays(testData, nt, rt);
        var epochs = r.Epochs.Select(e => e.Seconds).ToArray();
        var steady = SteadyEpoch(r);
        var (_, waiting, _) = Fit(rt, data, a.Epochs, new WaitForEachStep());
        var (resident, withCopies) = Inference(rt, model, testData, a.Quick ? 3 : 20);
        Summary("reference", new()
        {
            ["device_open_s"] = openSeconds, ["train_s_including_compilation"] = trainSeconds, ["epoch_s"] = epochs,
            ["kernels_compile_s"] = compileSeconds, ["fit_outside_epochs_s"] = fitSeconds - epochs.Sum(),
            ["steady_epoch_ms_median"] = steady * 1000, ["steady_epoch_ms_waiting_for_each_step"] = SteadyEpoch(waiting) * 1000,
            ["steps_per_epoch"] = r.Steps / Math.Max(1, epochs.Length),
            ["test_accuracy"] = logs["accuracy"], ["test_loss"] = logs["loss"], ["weights_sha256"] = Weights.sha256(model.GetWeights()),
            ["infer_resident_ms"] = resident, ["infer_predict_with_copies_ms"] = withCopies, ["test_samples"] = nt, ["samples"] = n,
        });
    }

    /// <summary>The reference model (seed 1, RMSprop) fitted on the device: the model, the result and the fit's seconds.</summary>
    private static (Sequential, FitResult, double) Fit(CudaRuntime rt, ArrayData data, int epochs, params Callback[] callbacks)
    {
        var model = new Sequential([new Dense(512, "relu"), new Dense(10, "softmax")], seed: 1);
        model.Compile(new RMSprop(), "sparse_categorical_crossentropy", ["accuracy"]);
        var sw = Stopwatch.StartNew();
        var r = model.FitWith(data, new FitOptions { Epochs = epochs, BatchSize = 128, Seed = 1, Verbose = 0, Runtime = rt }, callbacks);
        return (model, r, sw.Elapsed.TotalSeconds);
    }

    /// <summary>Median seconds of epochs 2.. (the first when there is one).</summary>
    private static double SteadyEpoch(FitResult r)
    {
        var e = r.Epochs.Select(x => x.Seconds).ToArray();
        return e.Skip(1).DefaultIfEmpty(e[0]).Order().ElementAt(Math.Max(0, e.Length - 1) / 2);
    }

    /// <summary>Median ms of the 10k-image forward pass with the images already on the device, and of predict (copies included).</summary>
    private static (double Resident, double WithCopies) Inference(CudaRuntime rt, Sequential model, ArrayData test, int reps)
    {
        var dev = rt.Device;
        using var m = new DeviceModel(dev, dev.Kernels, model.Plan, test.Count);
        using var w = CudaInference.UploadWeights(dev, m, model.GetWeights());
        using var d = new DeviceDataset(dev, model.Plan, test, "test set");
        var resident = new List<double>();
        var copies = new List<double>();
        for (int i = 0; i < reps + 2; i++)
        {
            dev.Accelerator.Synchronize();
            var sw = Stopwatch.StartNew();
            m.Forward(w.View, d.X, test.Count, false, null);
            dev.Accelerator.Synchronize();
            if (i >= 2) resident.Add(sw.Elapsed.TotalMilliseconds);
            sw.Restart();
            model.PredictArrays(test.X, 784, test.Count, rt);
            if (i >= 2) copies.Add(sw.Elapsed.TotalMilliseconds);
        }
        return (Median(resident), Median(copies));
    }

    private static void Large(CudaRuntime rt, Args a)
    {
        int width = a.Quick ? 64 : 4096, batch = a.Quick ? 64 : 4096, n = a.Quick ? 256 : 65536;
        var rng = new Random(7);
        var x = new float[(long)n * 784];
        for (long i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        var y = Enumerable.Range(0, n).Select(_ => rng.Next(10)).ToArray();
        var data = ArrayData.OfLabels(x, 784, y);
        var model = new Sequential([new Dense(width, "relu"), new Dense(width, "relu"), new Dense(10, "softmax")], seed: 1);
        model.Compile(new RMSprop(), "sparse_categorical_crossentropy", ["accuracy"]);
        var r = model.FitWith(data, new FitOptions { Epochs = 2, BatchSize = batch, Seed = 1, Verbose = 0, Shuffle = true, Runtime = rt });
        double steps = (double)r.Steps / 2, secs = r.Epochs[1].Seconds;
        double flopsPerStep = 6.0 * batch * (784.0 * width + (double)width * width + width * 10.0);
        double train = flopsPerStep * steps / secs / 1e12;
        double peak = SgemmPeak(rt, a.Quick ? 128 : 4096);
        Summary("large_mlp", new()
        {
            ["layers"] = $"784-{width}-{width}-10", ["batch"] = batch, ["steady_epoch_s"] = secs, ["steps"] = steps,
            ["samples_per_s"] = steps * batch / secs, ["train_tflops"] = train, ["sgemm_peak_tflops"] = peak,
            ["train_over_peak"] = train / peak, ["tf32"] = a.Tf32,
        });
    }

    /// <summary>TFLOP/s of an s³ SGEMM through the backend's GEMM (median of 10 after 3 warm-ups).</summary>
    private static double SgemmPeak(CudaRuntime rt, int s)
    {
        var acc = rt.Device.Accelerator;
        using var A = acc.Allocate1D<float>((long)s * s);
        using var B = acc.Allocate1D<float>((long)s * s);
        using var C = acc.Allocate1D<float>((long)s * s);
        A.MemSetToZero(); B.MemSetToZero();
        var times = new List<double>();
        for (int i = 0; i < 13; i++)
        {
            acc.Synchronize();
            var sw = Stopwatch.StartNew();
            DeviceGemm.RowMajor(rt.Device.Blas, false, false, s, s, s, 1f, A.View, s, B.View, s, 0f, C.View, s);
            acc.Synchronize();
            if (i >= 3) times.Add(sw.Elapsed.TotalSeconds);
        }
        return 2.0 * s * s * s / Median(times) / 1e12;
    }

    private static double Median(List<double> v) => v.Count == 0 ? double.NaN : v.Order().ElementAt(v.Count / 2);

    private static void Summary(string what, Dictionary<string, object> fields)
    {
        fields["bench"] = what;
        Console.WriteLine("SUMMARY " + JsonSerializer.Serialize(fields));
    }
}
