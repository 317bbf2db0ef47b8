using ActorTrainer.Core;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>Compiles a CPU worker node's shard path before its first job. .NET compiles a method on its first call and
/// recompiles it optimised (tier 1) after about 30 calls, on a background thread; on a node that is first asked for
/// work, both fall into the cluster's first training steps, and every node's step waits for the slowest. A worker
/// process runs this once at start, while it joins the cluster: `rounds` shard gradients of `plan` (an MNIST-like
/// sparse input, then a dense one) and block-sparse codes of their size, on its own buffers and made-up weights, so
/// it never touches a job's state. Kernels are shape-generic, so a plan other than the job's still compiles most of
/// what the job runs.</summary>
public static class NodeWarmup
{
    /// <summary>Runs the warm-up (`rows` ≥ 1 rows per shard, `threads` GEMM threads, 0 = the process default):
    /// `passes` passes of `rounds` shards each, with a pause of `pause` after each pass. .NET counts calls towards tier 1
    /// only once no new method has been compiled for 100 ms, so one pass compiles the path, later ones get it recompiled
    /// optimised in the background during the pauses.</summary>
    public static void Run(ModelPlan plan, int rows, int threads, int rounds = 40, int passes = 1, TimeSpan pause = default)
    {
        for (int p = 0; p < passes; p++)
        {
            Pass(plan, rows, threads, rounds);
            if (pause > TimeSpan.Zero) Thread.Sleep(pause);
        }
    }

    private static void Pass(ModelPlan plan, int rows, int threads, int rounds)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        var sizes = plan.WeightSizes;
        // small made-up weights (values only need to be finite and varied)
        var weights = sizes.Select(n => Enumerable.Range(0, n).Select(i => (i * 37 % 101 - 50) * 0.002f).ToArray()).ToArray();
        var grads = sizes.Select(n => new float[n]).ToArray();
        var held = sizes.Select(n => new float[n]).ToArray();
        var codes = sizes.Select(n => new CodedTensor(n)).ToArray();
        var labels = Enumerable.Range(0, rows).Select(r => r % Math.Max(1, plan.OutputDim)).ToArray();
        var targets = new float[rows * plan.OutputDim];
        for (int r = 0; r < rows; r++) targets[r * plan.OutputDim + labels[r]] = 1;
        using var compute = new LocalShardCompute(plan, rows, threads);
        foreach (bool dense in new[] { false, true })
        {
            var x = Enumerable.Range(0, rows * plan.InputDim).Select(i => dense || i % 5 == 0 ? (i % 251) / 251f : 0f).ToArray();
            var xCode = new CodedTensor(x.Length);
            for (int round = 0; round < rounds; round++)
            {
                xCode.Encode(x);
                xCode.DecodeInto(x);
                compute.Compute(weights, round, x, plan.Loss.SparseTargets ? (ReadOnlyMemory<int>)labels : ReadOnlyMemory<int>.Empty,
                    plan.Loss.SparseTargets ? ReadOnlyMemory<float>.Empty : (ReadOnlyMemory<float>)targets, rows, rows, round, grads);
                for (int i = 0; i < sizes.Length; i++)
                {
                    codes[i].Encode(grads[i]);
                    codes[i].DecodeInto(grads[i]);
                    codes[i].EncodeXor(weights[i], held[i]);
                    codes[i].DecodeXorInto(grads[i]);
                }
            }
        }
    }
}
