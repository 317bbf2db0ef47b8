using ActorTrainer.Core;
using ActorTrainer.Runtime;

namespace ActorTrainer.Cuda.Tests;

/// <summary>A GPU gradient worker behind the actor runtime's worker protocol (RuntimeOptions.LocalCompute): the same
/// parameter server, generator and fit loop, the shard gradients computed on the device (ILGPU's CPU accelerator).</summary>
[Collection("cpu-device")]
public sealed class GpuWorkerTests(CpuDevice cpu)
{
    private static readonly ArrayData Train = Data.Clusters(256, 20, 5, seed: 1);

    private static Sequential Model()
    {
        var m = new Sequential([new Dense(24, "relu"), new Dropout(0.2), new Dense(5, "softmax")], "gpu-worker", [20], seed: 4);
        m.Compile(new RMSprop(0.002), "sparse_categorical_crossentropy", ["accuracy"]);
        m.Build([20]);
        return m;
    }

    private static FitOptions Options(IStepRuntime runtime, string mode = "sync") => new()
    {
        Epochs = 2, BatchSize = 32, Seed = 9, ShardsPerBatch = 2, Verbose = 0, Runtime = runtime,
    };

    [Fact]
    public void A_gpu_worker_trains_like_the_cpu_and_identically_run_to_run()
    {
        var onCpu = Model();
        var rc = onCpu.FitWith(Train, Options(InProcessRuntime.Instance));
        var runs = new List<float[][]>();
        for (int run = 0; run < 2; run++)
        {
            var m = Model();
            var rt = new ActorStepRuntime(new RuntimeOptions(Workers: 1, ShardsPerBatch: 2, LocalCompute: CudaShardCompute.Factory(cpu.Runtime)));
            var r = m.FitWith(Train, Options(rt));
            Assert.Equal(rc.Steps, r.Steps);
            Assert.Equal(1, r.Workers);
            Assert.Equal(rc.Epochs[1].Loss, r.Epochs[1].Loss, 2e-3);
            runs.Add(m.GetWeights());
        }
        var wc = onCpu.GetWeights();
        for (int i = 0; i < wc.Length; i++) Data.Close(wc[i], runs[0][i], 2e-3, 1e-5, $"weight {i}");
        Data.BitIdentical(runs[0], runs[1]);
    }

    [Fact]
    public void A_shard_on_the_gpu_worker_matches_the_cpu_engine()
    {
        var m = Model();
        var plan = m.Plan;
        var w = m.GetWeights();
        using var gpu = new CudaShardCompute(cpu.Runtime, plan, 16);
        var grads = w.Select(a => new float[a.Length]).ToArray();
        var expected = w.Select(a => new float[a.Length]).ToArray();
        var x = Train.X.AsMemory(0, 13 * 20);
        var labels = Train.Labels.AsMemory(0, 13);
        var st = gpu.Compute(w, 0, x, labels, default, 13, 32, 77, grads);
        var sc = new LocalShardCompute(plan, 16, 1).Compute(w, 0, x, labels, default, 13, 32, 77, expected);
        for (int i = 0; i < w.Length; i++) Data.Close(expected[i], grads[i], 2e-5, 1e-7, $"gradient {i}");
        Assert.Equal(sc.LossSum, st.LossSum, 1e-4);
        Assert.Equal(sc.Correct, st.Correct);
        Assert.StartsWith("GPU ILGPU CPU accelerator", gpu.Where);
    }
}

/// <summary>One process offers its GPU and its cores: async, worker 0 on the device, worker 1 on the CPU engine.</summary>
[Collection("cpu-device")]
public sealed class MixedWorkerTests(CpuDevice cpu)
{
    /// <summary>Counts each worker's shards. The CPU worker's first shard waits (at most a minute) until the GPU worker
    /// has started one: async workers pull work as soon as they are built, and building the GPU worker (device buffers,
    /// kernels) can take longer on a loaded machine than the CPU worker needs for the whole run.</summary>
    private sealed class Counting(IShardCompute inner, int[] calls, int worker, ManualResetEventSlim gpuStarted) : IShardCompute
    {
        public string Where => inner.Where;
        public void Open() => inner.Open();
        public ShardStats Compute(float[][] w, long key, ReadOnlyMemory<float> x, ReadOnlyMemory<int> l, ReadOnlyMemory<float> t,
            int rows, int batchRows, long seed, float[][] g)
        {
            if (Interlocked.Increment(ref calls[worker]) == 1)
            {
                if (worker == 0) gpuStarted.Set();
                else if (!gpuStarted.Wait(TimeSpan.FromMinutes(1))) throw new TimeoutException("the GPU worker computed no shard within a minute");
            }
            return inner.Compute(w, key, x, l, t, rows, batchRows, seed, g);
        }
        public void Dispose() => inner.Dispose();
    }

    [Fact]
    public void Async_training_uses_the_gpu_worker_and_a_cpu_worker_together()
    {
        var calls = new int[2];
        using var gpuStarted = new ManualResetEventSlim();
        var factory = CudaShardCompute.Factory(cpu.Runtime);
        var wheres = new string[2];
        var counting = new ShardComputeFactory((worker, plan, rows, threads) =>
        {
            var c = factory.Invoke(worker, plan, rows, threads);
            wheres[worker] = c.Where;
            return new Counting(c, calls, worker, gpuStarted);
        });
        var m = new Sequential([new Dense(24, "relu"), new Dense(5, "softmax")], "mixed", [20], seed: 4);
        m.Compile(new SGD(0.1), "sparse_categorical_crossentropy", ["accuracy"]);
        m.Build([20]);
        var train = Data.Clusters(512, 20, 5, seed: 1);
        var rt = new ActorStepRuntime(new RuntimeOptions(Workers: 2, Mode: "async", ThreadsPerWorker: 1, LocalCompute: counting));
        var r = m.FitWith(train, new FitOptions { Epochs = 3, BatchSize = 16, Seed = 9, Verbose = 0, Runtime = rt });
        Assert.Equal(2, r.Workers);
        Assert.StartsWith("GPU ", wheres[0]);
        Assert.Equal("this process", wheres[1]);
        Assert.True(calls[0] > 0 && calls[1] > 0, $"both workers computed shards: GPU {calls[0]}, CPU {calls[1]}");
        Assert.True(m.EvaluateArrays(train, 64)["accuracy"] > 0.9, "the mixed run learns the clusters");
    }
}
