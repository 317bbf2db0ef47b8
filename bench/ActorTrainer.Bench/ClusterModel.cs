using System.Globalization;

namespace ActorTrainer.Bench;

/// <summary>
/// `cluster --model`: a written model of weak scaling across 8–512 worker nodes (one shard per node per step), for the
/// layouts the cluster has or could have, next to Horovod's ring allreduce (Sergeev &amp; Del Balso 2018: ~90 %
/// efficiency at 512 GPUs for Inception V3 / ResNet-101 on 25 Gb/s RoCE). Per step, with P = gradient bytes, R = one
/// shard's input bytes, B = NIC bytes/s per node, α = per-message latency, t_c = one shard's compute:
/// <list type="bullet">
/// <item>sync, PS in the coordinator (today): the coordinator's NIC carries N·(2P + R): t = t_c + N·(2P+R)/B + 2α.</item>
/// <item>sync, PS slices on S = N `ps` nodes (cluster.ps-nodes = N, a `ps` process beside each worker; Li et al. 2014): every NIC carries 2P + R/N
/// spread over N peers: t = t_c + (2P + R)/B + 2·N·α' (α' = α / 8: the N messages of a node overlap).</item>
/// <item>async, PS in the coordinator: no barrier; throughput is bounded by the coordinator's NIC: E = min(1,
/// B·t_c / (N·(2P+R))).</item>
/// <item>Horovod ring allreduce: t = t_c + R/B + 2(N−1)/N·P/B + 2(N−1)·α.</item>
/// </list>
/// "overlapped": the gradient traffic runs during the backward pass (2/3 of t_c), as Horovod does: t = t_c +
/// max(0, comm − 2/3·t_c). Our sync steps do not overlap yet (a node sends its gradient when the shard is done).
/// Efficiency E = t_c / t (per-node throughput relative to a node without communication).
/// </summary>
public static class ClusterModel
{
    private sealed record Workload(string Name, double GradientBytes, double ShardInputBytes, double ComputeSeconds);

    public static int Run(double bandwidth, double latency)
    {
        var workloads = new[]
        {
            // reference MLP: 407,050 float32; 128 rows × (784 floats + label); one shard of 128 on one 16-core node ≈ 1 ms
            new Workload("reference MLP, shard of 128 on a 16-core node (t_c 1 ms)", 4 * 407_050, 128 * 785 * 4, 1e-3),
            new Workload("reference MLP, shard of 128 on one Zen 3 core (t_c 8 ms)", 4 * 407_050, 128 * 785 * 4, 8e-3),
            // the same on the wire with the data plane's block-sparse codes: `bench -- cluster` measured 5.02 MB per step
            // for 2 shards of 128 (2.51 MB per shard instead of 3.66); split as weights/gradients ≈ 1.2 MB, rows ≈ 0.11 MB
            new Workload("reference MLP, block-sparse codes as measured, 16-core node (t_c 1 ms)", 1.2e6, 0.11e6, 1e-3),
            // ResNet-101-class: 44.5 M float32, 64 images 224×224×3 uint8 per GPU, ≈ 0.25 s per step (Horovod's setting)
            new Workload("ResNet-101-class, 64 images per GPU (t_c 250 ms)", 4 * 44.5e6, 64 * 224 * 224 * 3, 0.25),
        };
        Console.WriteLine($"cluster scaling model: NIC {bandwidth * 8 / 1e9:F0} Gb/s per node, latency {latency * 1e6:F0} µs; efficiency per layout");
        foreach (var w in workloads)
        {
            Console.WriteLine();
            Console.WriteLine($"{w.Name}: gradient {w.GradientBytes / 1e6:F2} MB, shard input {w.ShardInputBytes / 1e6:F2} MB");
            Console.WriteLine("| nodes | sync, PS in coordinator (today) | async, PS in coordinator (today) | sync, PS slices on every node | same, overlapped | Horovod ring | ring, overlapped | coordinator NIC per step today |");
            Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
            foreach (int n in new[] { 8, 16, 32, 64, 128, 256, 512 })
            {
                double p = w.GradientBytes, r = w.ShardInputBytes, tc = w.ComputeSeconds, b = bandwidth;
                double central = tc / (tc + n * (2 * p + r) / b + 2 * latency);   // today's layout
                double slicedComm = (2 * p + r) / b + 2 * n * latency / 8;
                double ringComm = r / b + 2.0 * (n - 1) / n * p / b + 2 * (n - 1) * latency;
                double async = Math.Min(1, b * tc / (n * (2 * p + r)));
                double Plain(double comm) => tc / (tc + comm);
                double Overlapped(double comm) => tc / (tc + Math.Max(0, comm - 2.0 / 3 * tc));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {n} | {central:P0} | {async:P0} | {Plain(slicedComm):P0} | {Overlapped(slicedComm):P0} | {Plain(ringComm):P0} | {Overlapped(ringComm):P0} | {n * (2 * p + r) / 1e6:F0} MB |"));
            }
        }
        return 0;
    }
}
