using System.Net;
using ActorTrainer.Core;
using ActorTrainer.Runtime;
using ActorTrainer.Runtime.Clustering;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Cuda.Tests;

/// <summary>A worker node that computes on its GPU (`worker` with worker.backend = cuda): the same data-plane
/// protocol, one coordinator connection at a time on the device, async jobs only.</summary>
[Collection("cpu-device")]
public sealed class GpuNodeTests(CpuDevice cpu)
{
    private const string Refusal = "GPU node: async jobs only";

    private static ModelPlan Plan() =>
        new(20, [PlanLayer.NewDense(20, 16, true, Activation.Relu), PlanLayer.NewDense(16, 5, true, Activation.Softmax)], Loss.SparseCategoricalCrossentropy);

    private WorkerNodeServer Node() =>
        new(IPAddress.Loopback, 0, new DataPlaneOptions(), 1, 1, _ => { }, CudaShardCompute.Exclusive(cpu.Runtime), Refusal);

    [Fact]
    public void A_gpu_node_computes_an_async_shard_like_the_cpu_engine()
    {
        using var node = Node();
        var plan = Plan();
        var w = plan.WeightShapes.Select((s, i) => Data.Random(s.Aggregate(1, (a, b) => a * b), 40 + i, 0.5f)).ToArray();
        var d = Data.Clusters(12, 20, 5, seed: 3);
        using var remote = new RemoteShardCompute("127.0.0.1", node.Endpoint.Port, plan, 16, 1, new DataPlaneOptions(), sync: false);
        remote.Open();
        var grads = w.Select(a => new float[a.Length]).ToArray();
        var want = w.Select(a => new float[a.Length]).ToArray();
        var st = remote.Compute(w, 1, d.X, d.Labels, default, 12, 32, 9, grads);
        var sc = new LocalShardCompute(plan, 16, 1).Compute(w, 1, d.X, d.Labels, default, 12, 32, 9, want);
        for (int i = 0; i < w.Length; i++) Data.Close(want[i], grads[i], 2e-5, 1e-7, $"gradient {i}");
        Assert.Equal(sc.Correct, st.Correct);
        Assert.Equal(1, node.ShardsComputed);

        // the device serves one connection at a time
        using var second = new RemoteShardCompute("127.0.0.1", node.Endpoint.Port, plan, 16, 1, new DataPlaneOptions(), sync: false);
        var busy = Assert.Throws<WorkerNodeLostException>(second.Open);      // for now only: not WorkerNodeRefusedException
        Assert.Contains("already serving a coordinator connection", busy.Message);
    }

    [Fact]
    public void A_gpu_node_refuses_a_sync_job_naming_why()
    {
        using var node = Node();
        using var remote = new RemoteShardCompute("127.0.0.1", node.Endpoint.Port, Plan(), 16, 1, new DataPlaneOptions(), sync: true);
        var e = Assert.Throws<WorkerNodeRefusedException>(remote.Open);      // for good: the coordinator does not ask again
        Assert.Contains(Refusal, e.Message);
        // and the device is free again for an async job
        using var next = new RemoteShardCompute("127.0.0.1", node.Endpoint.Port, Plan(), 16, 1, new DataPlaneOptions(), sync: false);
        next.Open();
    }
}
