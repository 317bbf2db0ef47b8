using ActorTrainer.Runtime.Clustering;
using ActorTrainer.Runtime.DataPlane;
using ActorTrainer.Runtime.Remoting;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Mutual TLS across the whole cluster path (Akka remoting and the data plane, certificates made by the test):
/// a node whose certificate chains to the cluster's CA trains; one without such a certificate can neither join nor
/// take work, and a coordinator without one cannot open a node's data plane.</summary>
public sealed class ClusterTlsTests : IDisposable
{
    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task Only_nodes_with_a_certificate_from_the_cluster_CA_join_and_compute()
    {
        var (ca, caPem) = _pki.CreateCa("cluster-ca");
        string coordinatorPfx = _pki.CreateLeaf("coordinator", ca), goodPfx = _pki.CreateLeaf("good-node", ca),
            roguePfx = _pki.CreateLeaf("rogue-node", null);
        RemotingTls Remoting(string pfx) => new(pfx, TestPki.Password, caPem);
        DataPlaneOptions Plane(string pfx) => new(IoTimeout: TimeSpan.FromSeconds(10), Tls: TestPki.Tls(pfx, caPem));

        using var cluster = new ClusterTestNodes(Remoting(coordinatorPfx));
        var good = cluster.AddNode(1, options: Plane(goodPfx), tls: Remoting(goodPfx));
        var rogue = cluster.AddNode(1, options: Plane(roguePfx), tls: Remoting(roguePfx));
        // the trusted node becomes a member; the rogue one never does (checked for 3 s after the trusted one is up)
        var members = Akka.Cluster.Cluster.Get(cluster.Coordinator);
        int goodPort = Akka.Cluster.Cluster.Get(cluster.Nodes[0].System).SelfAddress.Port!.Value;
        int roguePort = Akka.Cluster.Cluster.Get(cluster.Nodes[1].System).SelfAddress.Port!.Value;
        var until = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < until && !members.State.Members.Any(m => m.Address.Port == goodPort && m.Status == Akka.Cluster.MemberStatus.Up))
            await Task.Delay(20);
        Assert.Contains(members.State.Members, m => m.Address.Port == goodPort);
        for (var quiet = DateTime.UtcNow.AddSeconds(3); DateTime.UtcNow < quiet; await Task.Delay(50))
            Assert.DoesNotContain(members.State.Members, m => m.Address.Port == roguePort);
        var options = new RuntimeOptions(Workers: 1, ShardsPerBatch: 2, Remote: new RemoteWorkers(Plane(coordinatorPfx), 1,
            WaitForWorkers: TimeSpan.FromSeconds(30), ProbeInterval: TimeSpan.FromMilliseconds(200)));
        var job = Fixtures.Job(1024, options);
        var (expected, _) = Fixtures.Reference(job);
        var result = await ActorTrainingRunner.RunAsync(job, [], CancellationToken.None, cluster.Coordinator);
        Fixtures.AssertBitIdentical(expected, result.Weights);
        Assert.True(good.ShardsComputed > 0, "the trusted node computed shards");
        Assert.Equal(0, rogue.ShardsComputed);
        Assert.DoesNotContain(members.State.Members, m => m.Address.Port == roguePort);

        // a coordinator whose certificate the node does not trust cannot open the node's data plane
        using var intruder = new RemoteShardCompute("127.0.0.1", good.Endpoint.Port, Fixtures.Plan, 64, 1, Plane(roguePfx));
        Assert.Throws<WorkerNodeLostException>(intruder.Open);
        // the node logs the refusal from its accept thread, which may finish after the client gave up
        bool Logged() { lock (cluster.Log) return cluster.Log.Any(l => l.Contains("refused", StringComparison.OrdinalIgnoreCase)); }
        for (var limit = DateTime.UtcNow.AddSeconds(10); !Logged() && DateTime.UtcNow < limit;) await Task.Delay(20);
        Assert.True(Logged(), "the node logged the refused connection");
    }
}
