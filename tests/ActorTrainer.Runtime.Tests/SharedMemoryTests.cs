using System.Net;
using System.Text;
using ActorTrainer.Runtime.Clustering;
using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Tests;

/// <summary>The same-host fast path of the data plane: a coordinator offers a worker node on a loopback address a
/// shared-memory file; rows, weights and gradients pass through it, with the same bits as over the socket.</summary>
public class SharedMemoryTests
{
    private static string[] Regions() =>
        Directory.Exists("/dev/shm") ? Directory.GetFiles("/dev/shm", "actortrainer-dp-*") : [];

    private static (float[][] Got, ShardStats Stats, bool Shared) Shard(DataPlaneOptions options, int port, float[][] weights, long key, int rows,
        RemoteShardCompute? remote = null)
    {
        var d = Fixtures.Train(rows);
        remote ??= new RemoteShardCompute("127.0.0.1", port, Fixtures.Plan, 64, 1, options);
        var got = weights.Select(w => new float[w.Length]).ToArray();
        var stats = remote.Compute(weights, key, d.X, d.Labels!, ReadOnlyMemory<float>.Empty, rows, 64, 42, got);
        return (got, stats, remote.UsesSharedMemory);
    }

    [Fact]
    public void A_node_on_the_same_host_gets_its_tensors_through_shared_memory_with_the_same_bits()
    {
        if (!SharedRegion.Supported) return;   // Linux with /dev/shm only; elsewhere the socket path is the only one
        var logs = new List<string>();
        using var server = new WorkerNodeServer(IPAddress.Loopback, 0, new DataPlaneOptions(), 1, 1, l => { lock (logs) logs.Add(l); });
        var before = Regions();
        using var remote = new RemoteShardCompute("127.0.0.1", server.Endpoint.Port, Fixtures.Plan, 64, 1, new DataPlaneOptions());
        remote.Open();
        Assert.True(remote.UsesSharedMemory);
        Assert.Equal(before, Regions());   // the file's name is gone once both ends mapped it
        var w1 = Fixtures.InitialWeights(7);
        var w2 = Fixtures.InitialWeights(8);
        foreach (var (weights, key, rows) in new[] { (w1, 1L, 8), (w1, 1L, 5), (w2, 2L, 64), (w1, 3L, 1) })
        {
            var d = Fixtures.Train(rows);
            var want = weights.Select(w => new float[w.Length]).ToArray();
            var expected = new LocalShardCompute(Fixtures.Plan, 64, 1).Compute(weights, key, d.X, d.Labels!, ReadOnlyMemory<float>.Empty, rows, 64, 42, want);
            var (got, stats, shared) = Shard(new DataPlaneOptions(), 0, weights, key, rows, remote);
            Assert.True(shared);
            Fixtures.AssertBitIdentical(want, got);
            Assert.Equal(expected, stats);
        }
        lock (logs) Assert.Contains(logs, l => l.Contains("first shard computed (tensors through shared memory)"));
    }

    [Fact]
    public void Shared_memory_off_sends_the_tensors_over_the_socket()
    {
        using var server = new WorkerNodeServer(IPAddress.Loopback, 0, new DataPlaneOptions(), 1, 1, _ => { });
        var off = new DataPlaneOptions { SharedMemory = false };
        using var remote = new RemoteShardCompute("127.0.0.1", server.Endpoint.Port, Fixtures.Plan, 64, 1, off);
        remote.Open();
        Assert.False(remote.UsesSharedMemory);
        var weights = Fixtures.InitialWeights();
        var d = Fixtures.Train(8);
        var want = weights.Select(w => new float[w.Length]).ToArray();
        new LocalShardCompute(Fixtures.Plan, 64, 1).Compute(weights, 5, d.X, d.Labels!, ReadOnlyMemory<float>.Empty, 8, 64, 42, want);
        var (got, _, shared) = Shard(off, 0, weights, 5, 8, remote);
        Assert.False(shared);
        Fixtures.AssertBitIdentical(want, got);
    }

    [Fact]
    public void A_region_the_node_cannot_map_falls_back_to_the_socket_and_a_bad_name_is_refused()
    {
        var logs = new List<string>();
        using var server = new WorkerNodeServer(IPAddress.Loopback, 0, new DataPlaneOptions(IoTimeout: TimeSpan.FromSeconds(10)), 1, 1,
            l => { lock (logs) logs.Add(l); });
        int port = server.Endpoint.Port;
        // a name of the right form that does not exist here (as for a coordinator on another host): Ready without it
        using (var c = TensorConnection.Connect("127.0.0.1", port, new DataPlaneOptions()))
        {
            var missing = $"/dev/shm/actortrainer-dp-{Guid.NewGuid():N}";
            c.Send(NodeProtocol.Job, 64, 1, 4, 0, PlanCodec.Encode(Fixtures.Plan), Encoding.UTF8.GetBytes(missing));
            var h = c.ReceiveHeader();
            Assert.Equal(NodeProtocol.Ready, h.Kind);
            Assert.Equal(0, h.B);
            var weights = Fixtures.InitialWeights();
            var d = Fixtures.Train(4);
            var sections = new List<Section> { Section.Of(d.X.AsMemory(0, 4 * 784)), Section.Of(d.Labels!.AsMemory(0, 4)) };
            sections.AddRange(weights.Select(w => Section.Of(w)));
            c.Send(NodeProtocol.Work, 1, 9, 4L | (64L << 32), 42, sections.ToArray());
            var r = c.ReceiveHeader();
            Assert.Equal(NodeProtocol.Result, r.Kind);
            Assert.Equal(weights.Length, r.SectionCount);
            c.SkipSections();
        }
        // any other name is refused outright, naming it
        foreach (var bad in new[] { "/etc/passwd", "/dev/shm/../../etc/passwd", "/dev/shm/actortrainer-dp-XYZ" })
        {
            using var c = TensorConnection.Connect("127.0.0.1", port, new DataPlaneOptions());
            c.Send(NodeProtocol.Job, 64, 1, 4, 0, PlanCodec.Encode(Fixtures.Plan), Encoding.UTF8.GetBytes(bad));
            var h = c.ReceiveHeader();
            Assert.Equal(NodeProtocol.Error, h.Kind);
            Assert.Contains($"shared-memory path '{bad}'", NodeProtocol.ReadError(c, h));
        }
        lock (logs) Assert.Contains(logs, l => l.Contains("shared memory offered but not usable") && l.Contains("does not exist here"));
    }

    [Fact]
    public void A_region_of_the_wrong_size_is_not_used()
    {
        if (!SharedRegion.Supported) return;
        var layout = SharedLayout.For(Fixtures.Plan.WeightShapes.Sum(s => s.Aggregate(1L, (a, b) => a * b)), 64, 784, 10);
        using var region = SharedRegion.Create(layout.Bytes - 64);
        Assert.Null(SharedRegion.TryOpen(region.Path, layout.Bytes, out var why));
        Assert.Contains("expected", why);
        using var right = SharedRegion.Create(layout.Bytes);
        using var mapped = SharedRegion.TryOpen(right.Path, layout.Bytes, out why);
        Assert.NotNull(mapped);
        right.At<float>(layout.Gradient, 3).Fill(2.5f);
        Assert.Equal([2.5f, 2.5f, 2.5f], mapped!.At<float>(layout.Gradient, 3).ToArray());   // one memory, two views
        Assert.Throws<ArgumentOutOfRangeException>(() => mapped.At<float>(layout.Bytes - 4, 2));
        right.Dispose();
        Assert.False(File.Exists(right.Path));
    }
}
