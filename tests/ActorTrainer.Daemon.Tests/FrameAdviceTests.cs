using System.Text.RegularExpressions;
using ActorTrainer.Daemon.Configuration;
using ActorTrainer.Daemon.Runs;
using ActorTrainer.Runtime;
using ActorTrainer.Runtime.Clustering;
using Xunit;

namespace ActorTrainer.Daemon.Tests;

/// <summary>The cluster.data-plane.max-frame-mib a user is told to set: the coordinator's own check before a run
/// (ResourceCheck.ClusterFrames) and its refusal of a worker node (NodeFrames.Refusal) give the same bytes and the same
/// figure for the same model (NodeFrames.Largest, NodeFrames.MinimumMib). Before, the coordinator counted the weights
/// alone and advised (MiB floor) + 2 — 3 for the reference model where a node was told 2, 5 for 874,510 weights where a
/// node was told 4, and 3 again for batches of 4096 rows whose frames need 8 (a coordinator set to 3 then failed at its
/// first send).</summary>
public sealed class FrameAdviceTests
{
    private const long OneMiB = 1L << 20;

    private static TrainSettings Cluster(params string[] sets) => TrainSettings.From(ConfigLoader.LoadText(null, "test",
        ["trainer.runtime=actors", "cluster.enabled=on", "cluster.port=4091", ClusterCliTests.Seed(4091), "cluster.data-plane.max-frame-mib=1", .. sets]));

    private static long Figure(string message, string pattern) => long.Parse(Regex.Match(message, pattern).Groups[1].Value);

    [Theory]
    [InlineData(60000, 2L, new string[0])]                                                  // the reference model, batches of 128
    [InlineData(1000, 2L, new[] { "trainer.mode=async" })]                                  // a whole batch per worker
    [InlineData(60000, 8L, new[] { "trainer.batch-size=4096" })]                            // 2049 rows a shard: 6.4 MB of them
    [InlineData(60000, 4L, new[] { "model.layers.0.units=1100", "trainer.batch-size=64" })] // 874,510 weights: 3.5 MB
    public void The_coordinator_and_a_refused_worker_node_advise_the_same_max_frame_mib(int trainCount, long mib, string[] sets)
    {
        var s = Cluster(sets);
        var coordinator = Assert.Throws<ConfigException>(() => ResourceCheck.ClusterFrames(s, trainCount)).Message;
        // the node's side, as the coordinator decides it when the node joins: the plan its job carries (the built model's)
        var rows = JobValidation.WorkerRows(s.BatchSize, trainCount, s.ShardsPerBatch, s.Mode == "async");
        var node = new WorkerNodeInfo("127.0.0.1", 4092, "incarnation", 1, 1, MaxFrameBytes: OneMiB);
        var worker = NodeFrames.Refusal(node, s.BuildModel().Plan, rows);
        Assert.NotNull(worker);
        Assert.Equal(mib, Figure(coordinator, @"set it to at least (\d+) on the coordinator"));
        Assert.Equal(mib, Figure(worker, @"cluster\.data-plane\.max-frame-mib = (\d+) or more"));
        Assert.Equal(Figure(worker, @"need up to (\d+) bytes"), Figure(coordinator, @"need up to (\d+) bytes"));
    }

    [Fact]
    public void The_advised_value_is_enough_and_one_less_is_not()
    {
        var s = Cluster("trainer.batch-size=4096");
        var need = NodeFrames.Largest(s.PlanOfLayers(), s.BatchSize, 60000, s.ShardsPerBatch, async: false);
        Assert.Equal(need, NodeFrames.Largest(s.BuildModel().Plan, s.BatchSize, 60000, s.ShardsPerBatch, async: false));
        var mib = NodeFrames.MinimumMib(need);
        Assert.True(mib * OneMiB >= need && (mib - 1) * OneMiB < need, $"{mib} MiB for {need} bytes");
        ResourceCheck.ClusterFrames(Cluster("trainer.batch-size=4096", $"cluster.data-plane.max-frame-mib={mib}"), 60000);   // no throw
        Assert.Throws<ConfigException>(() => ResourceCheck.ClusterFrames(Cluster("trainer.batch-size=4096", $"cluster.data-plane.max-frame-mib={mib - 1}"), 60000));
        Assert.Equal(1, NodeFrames.MinimumMib(1));
        Assert.Equal(1, NodeFrames.MinimumMib(OneMiB));
        Assert.Equal(2, NodeFrames.MinimumMib(OneMiB + 1));
    }
}
