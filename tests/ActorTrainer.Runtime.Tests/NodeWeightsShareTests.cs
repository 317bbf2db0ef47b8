using System.Net;
using ActorTrainer.Core;
using ActorTrainer.Runtime.Clustering;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Tests;

/// <summary>A worker node's connections of one sync run share one copy of the weights (NodeWeightsShare on the
/// coordinator, NodeWeightsGroup on the node): each step's weights cross the link once per node, every connection
/// computes with exactly those bits, and a copy that falls out of step is refused, never used.</summary>
public class NodeWeightsShareTests
{
    private static float[][] Step(float[][] w, int k)
    {
        var next = w.Select(a => (float[])a.Clone()).ToArray();
        for (int i = k; i < next[0].Length; i += 89) next[0][i] = MathF.BitIncrement(next[0][i]);
        next[^1][k % next[^1].Length] += 0.125f;
        return next;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Two_connections_get_each_steps_weights_once_and_compute_with_them(bool coded)
    {
        using var server = new WorkerNodeServer(IPAddress.Loopback, 0, new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(10)), 2, 1, _ => { });
        var share = new NodeWeightsShare(Fixtures.Plan.WeightSizes);
        var socket = new DataPlaneOptions { SharedMemory = false };   // the share is how weights travel on the socket
        using var a = new RemoteShardCompute("127.0.0.1", server.Endpoint.Port, Fixtures.Plan, 64, 1, socket, share, coded);
        using var b = new RemoteShardCompute("127.0.0.1", server.Endpoint.Port, Fixtures.Plan, 64, 1, socket, share, coded);
        a.Open();
        b.Open();
        var data = Fixtures.Train(16);
        var local = new LocalShardCompute(Fixtures.Plan, 64, 1);
        var weights = Fixtures.InitialWeights();
        for (int step = 0; step < 4; step++)
        {
            if (step > 0) weights = Step(weights, step);
            // both shards of the step at once, as two gradient workers send them
            var shards = new[] { (a, 0), (b, 8) }.Select(p => Task.Run(() =>
            {
                var got = weights.Select(w => new float[w.Length]).ToArray();
                var stats = p.Item1.Compute(weights, 100 + step, data.X.AsMemory(p.Item2 * 784, 8 * 784), data.Labels.AsMemory(p.Item2, 8),
                    ReadOnlyMemory<float>.Empty, 8, 16, 42 + p.Item2, got);
                return (got, stats, p.Item2);
            })).ToArray();
            foreach (var (got, stats, first) in await Task.WhenAll(shards))
            {
                var want = weights.Select(w => new float[w.Length]).ToArray();
                var expected = local.Compute(weights, 100 + step, data.X.AsMemory(first * 784, 8 * 784), data.Labels.AsMemory(first, 8),
                    ReadOnlyMemory<float>.Empty, 8, 16, 42 + first, want);
                Fixtures.AssertBitIdentical(want, got);
                Assert.Equal(expected, stats);
            }
            Assert.Equal(step + 1, server.WeightsReceived);
        }
        Assert.Equal(1, server.SharedCopies);
    }

    [Fact]
    public void Weights_coded_against_a_copy_the_node_does_not_hold_are_refused_and_the_waiting_sibling_fails_at_once()
    {
        using var server = new WorkerNodeServer(IPAddress.Loopback, 0, new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(30)), 2, 1, _ => { });
        long token = 12345, job = 1 | 2 | 4 | token << 8;   // sync, block-sparse, shared
        using var sender = TensorConnection.Connect("127.0.0.1", server.Endpoint.Port, new DataPlaneOptions());
        using var waiter = TensorConnection.Connect("127.0.0.1", server.Endpoint.Port, new DataPlaneOptions());
        foreach (var c in new[] { sender, waiter })
        {
            c.Send(NodeProtocol.Job, 64, 1, 4, job, PlanCodec.Encode(Fixtures.Plan));
            var ready = c.ReceiveHeader();
            Assert.Equal(NodeProtocol.Ready, ready.Kind);
            Assert.Equal(long.MinValue, ready.B);   // the node holds no weights for this share yet
        }
        var x = new Section[] { new byte[BlockSparse.MaskBytes(784)], new float[0], new int[1] };
        var started = DateTime.UtcNow;
        waiter.Send(NodeProtocol.Work, 1, 7, 1L | (2L << 32), 0, x);   // key 7, no weights: waits for the sibling's
        Thread.Sleep(200);
        var sections = new List<Section>(x) { new[] { 3, 0 } };         // coded against key 3, which the node never had
        foreach (var n in Fixtures.Plan.WeightSizes) sections.AddRange([new byte[BlockSparse.MaskBytes(n)], new float[0]]);
        sender.Send(NodeProtocol.Work, 1, 7, 1L | (2L << 32), 0, sections.ToArray());
        var h = sender.ReceiveHeader();
        Assert.Equal(NodeProtocol.Error, h.Kind);
        Assert.Contains("coded against key 3, but this node's copy holds key", NodeProtocol.ReadError(sender, h));
        h = waiter.ReceiveHeader();
        Assert.Equal(NodeProtocol.Error, h.Kind);
        Assert.Contains("weights for key 7 broke off", NodeProtocol.ReadError(waiter, h));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10), "the waiting session failed at once, not at the 30 s deadline");
    }

    [Fact]
    public void Work_without_weights_that_no_sibling_brings_fails_at_the_deadline_naming_the_key()
    {
        using var server = new WorkerNodeServer(IPAddress.Loopback, 0, new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(1)), 1, 1, _ => { });
        using var c = TensorConnection.Connect("127.0.0.1", server.Endpoint.Port, new DataPlaneOptions());
        c.Send(NodeProtocol.Job, 64, 1, 4, 1 | 4 | 99L << 8, PlanCodec.Encode(Fixtures.Plan));   // sync, plain, shared
        Assert.Equal(NodeProtocol.Ready, c.ReceiveHeader().Kind);
        c.Send(NodeProtocol.Work, 1, 5, 1L | (2L << 32), 0, new float[784], new int[1]);
        var h = c.ReceiveHeader();
        Assert.Equal(NodeProtocol.Error, h.Kind);
        Assert.Contains("weights key 5 carries no weights, and none arrived", NodeProtocol.ReadError(c, h));
        // a shared job must be sync and name a token
        using var d = TensorConnection.Connect("127.0.0.1", server.Endpoint.Port, new DataPlaneOptions());
        d.Send(NodeProtocol.Job, 64, 1, 4, 4 | 99L << 8, PlanCodec.Encode(Fixtures.Plan));
        h = d.ReceiveHeader();
        Assert.Equal(NodeProtocol.Error, h.Kind);
        Assert.Contains("is not a sync job", NodeProtocol.ReadError(d, h));
    }

    [Fact]
    public void The_share_sends_a_key_once_and_starts_over_from_zeros_after_a_failure_or_a_node_that_lost_its_copy()
    {
        var share = new NodeWeightsShare([3, 2]);
        Assert.True(share.Claim(1));
        Assert.False(share.Claim(1));   // a sibling: the node gets key 1 from the first sender
        share.Held[0][0] = 5f;
        share.HeldKey = 1;
        share.Sent();
        share.Opened(1);                 // a new connection; the node holds key 1: nothing changes
        Assert.False(share.Claim(1));
        share.Opened(long.MinValue);     // the node lost its copy (a new process): send again, against zeros
        Assert.Equal(long.MinValue, share.HeldKey);
        Assert.Equal(0f, share.Held[0][0]);
        Assert.True(share.Claim(1));
        share.HeldKey = 1;
        share.Opened(long.MinValue);     // a send is under way: a connection opening now does not reset it
        Assert.Equal(1, share.HeldKey);
        share.Failed();                  // … and it failed: start over
        Assert.Equal(long.MinValue, share.HeldKey);
        Assert.True(share.Claim(1));
    }
}
