using System.Runtime.Serialization;
using ActorTrainer.Runtime.Remoting;
using Akka.Actor;
using Cluster = Akka.Cluster.Cluster;
using Akka.Event;
using static ActorTrainer.Runtime.Tests.RemotingFixtures;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Two processes' worth of nodes on loopback: strict serialization on the wire, local delivery unchanged.</summary>
public class RemotingSerializationTests
{
    private static ClusterSettings Node(params string[] roles) => new() { Roles = roles };

    [Fact]
    public async Task Two_cluster_nodes_form_a_cluster_and_exchange_training_messages()
    {
        ActorSystem? a = null, b = null;
        try
        {
            a = ClusterNode.Create(Node("coordinator"), Quiet);
            var addrA = AddressOf(a);
            Assert.Equal("akka.tcp", addrA.Protocol);
            Assert.True(addrA.Port > 0);
            var upA = new TaskCompletionSource();
            Cluster.Get(a).RegisterOnMemberUp(() => upA.TrySetResult());
            Cluster.Get(a).Join(addrA);
            b = ClusterNode.Create(Node("worker") with { SeedNodes = [addrA.ToString()] }, Quiet);
            var upB = new TaskCompletionSource();
            Cluster.Get(b).RegisterOnMemberUp(() => upB.TrySetResult());
            await Task.WhenAll(upA.Task, upB.Task).WaitAsync(Wait);
            var coordinator = Cluster.Get(b).State.Members.Single(m => m.Address == addrA);
            Assert.Contains("coordinator", coordinator.Roles);

            var atA = Target(a);
            var atB = Target(b);
            Select(b, addrA).Tell(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("canary", 7, "i", 1, 1));
            Assert.Equal(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("canary", 7, "i", 1, 1), Next(atA));
            var remoteB = await Select(a, AddressOf(b)).ResolveOne(Wait);
            remoteB.Tell(new ActorTrainer.Runtime.Clustering.DescribeWorkerNode());
            Assert.Equal(new ActorTrainer.Runtime.Clustering.DescribeWorkerNode(), Next(atB));
        }
        finally { Shutdown(a, b); }
    }

    [Fact]
    public void A_strict_node_delivers_every_type_locally()
    {
        var a = ClusterNode.Create(Node(), Quiet);
        try
        {
            var q = Target(a);
            var local = new HostilePayload { Text = "local" };
            a.ActorSelection("/user/target").Tell(local);
            Assert.Same(local, Next(q));
        }
        finally { Shutdown(a); }
    }

    [Fact]
    public void A_default_node_instantiates_what_a_peer_sends_as_json()
    {
        // Control: the attack the strict settings stop is real, and this test harness would see a delivery.
        ActorSystem? victim = null, peer = null;
        try
        {
            victim = DefaultNode();
            var q = Target(victim);
            peer = DefaultNode();
            Select(peer, AddressOf(victim)).Tell(new HostilePayload { Text = "json" });
            var got = Assert.IsType<HostilePayload>(Next(q));
            Assert.Equal("json", got.Text);
        }
        finally { Shutdown(victim, peer); }
    }

    [Fact]
    public async Task A_strict_node_refuses_json_from_a_default_peer_and_keeps_running()
    {
        ActorSystem? strict = null, peer = null;
        try
        {
            strict = ClusterNode.Create(Node("coordinator"), Quiet);
            var q = Target(strict);
            var warnings = new System.Collections.Concurrent.BlockingCollection<object>();
            var listener = strict.ActorOf(Props.Create(() => new RemotingCollector(warnings)));
            strict.EventStream.Subscribe(listener, typeof(Warning));
            peer = DefaultNode();
            var selection = Select(peer, AddressOf(strict));
            var direct = await selection.ResolveOne(Wait);
            int constructedBefore = HostilePayload.Constructed;
            selection.Tell(new HostilePayload { Text = "via selection" });
            direct.Tell(new HostilePayload { Text = "via reference" });
            selection.Tell(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("canary", 1, "i", 1, 1));
            direct.Tell(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("canary", 2, "i", 1, 1));
            // Messages from one sender arrive in order: once both node messages are in, the payloads were handled.
            Assert.Equal(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("canary", 1, "i", 1, 1), Next(q));
            Assert.Equal(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("canary", 2, "i", 1, 1), Next(q));
            Assert.Empty(q);
            Assert.Equal(constructedBefore + 2, HostilePayload.Constructed); // the sender's two, none on the receiver
            NextMatching<Warning>(warnings, w => w.ToString()!.Contains("serializer id [1]"), "deserialization warning for serializer id 1");
        }
        finally { Shutdown(strict, peer); }
    }

    [Fact]
    public async Task A_cluster_node_refuses_training_traffic_from_a_peer_and_keeps_running()
    {
        ActorSystem? strict = null, peer = null;
        try
        {
            strict = ClusterNode.Create(Node("worker"), Quiet);
            var serializer = strict.Serialization.FindSerializerForType(typeof(ReleaseGradients));
            var bytes = serializer.ToBinary(new ReleaseGradients(5, true));
            var refused = Assert.Throws<System.Runtime.Serialization.SerializationException>(() =>
                strict.Serialization.Deserialize(bytes, serializer.Identifier, "RG"));
            Assert.Contains("manifest 'RG'", refused.Message);
            Assert.Contains("DN, NI", refused.Message);

            var q = Target(strict);
            var warnings = new System.Collections.Concurrent.BlockingCollection<object>();
            var listener = strict.ActorOf(Props.Create(() => new RemotingCollector(warnings)));
            strict.EventStream.Subscribe(listener, typeof(Warning));
            peer = DefaultNode();                            // a peer that serializes every training message
            var direct = await Select(peer, AddressOf(strict)).ResolveOne(Wait);
            direct.Tell(new ReleaseGradients(6, true));      // parameter-server traffic: refused, dropped
            direct.Tell(new StartEpoch(1, 0, 0, true));
            direct.Tell(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("canary", 9, "i", 1, 1));
            Assert.Equal(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("canary", 9, "i", 1, 1), Next(q));
            Assert.Empty(q);
            NextMatching<Warning>(warnings, w => w.ToString()!.Contains("manifest 'RG'"), "the refusal of the RG message");
        }
        finally { Shutdown(strict, peer); }
    }

    [Fact]
    public void A_strict_node_refuses_to_send_an_unregistered_type()
    {
        ActorSystem? strict = null, peer = null;
        try
        {
            strict = ClusterNode.Create(Node(), Quiet);
            var ex = Assert.Throws<SerializationException>(() => strict.Serialization.FindSerializerFor(new HostilePayload()));
            Assert.Contains("allow-unregistered-types", ex.Message);
            Assert.Throws<SerializationException>(() => strict.Serialization.FindSerializerFor(new { Anonymous = 1 }));
            peer = DefaultNode();
            var json = peer.Serialization.FindSerializerFor(new HostilePayload());
            Assert.Equal(RefusedJsonSerializer.Id, json.Identifier);
            var bytes = json.ToBinary(new HostilePayload { Text = "x" });
            int before = HostilePayload.Constructed;
            var refused = Assert.Throws<SerializationException>(() =>
                strict.Serialization.Deserialize(bytes, RefusedJsonSerializer.Id, typeof(HostilePayload).AssemblyQualifiedName!));
            Assert.Contains("refused", refused.Message);
            Assert.Equal(before, HostilePayload.Constructed);
            var q = Target(peer);
            var errors = Errors(strict);
            Select(strict, AddressOf(peer)).Tell(new HostilePayload { Text = "must not leave" });
            Select(strict, AddressOf(peer)).Tell(new ReleaseGradients(3, true));
            Assert.Equal(new ReleaseGradients(3, true), Next(q));
            Assert.Empty(q);
            NextMatching<Error>(errors, e => e.ToString()!.Contains(nameof(HostilePayload)), "send-side serialization error naming the type");
        }
        finally { Shutdown(strict, peer); }
    }

    [Fact]
    public void A_message_above_the_frame_limit_is_logged_with_type_and_size_and_the_link_stays_up()
    {
        ActorSystem? a = null, b = null;
        try
        {
            var small = Node() with { MaximumFrameSize = 64_000 };
            a = ClusterNode.Create(small, Quiet);
            b = ClusterNode.Create(small, Quiet);
            var q = Target(b);
            var errors = Errors(a);
            var target = Select(a, AddressOf(b));
            target.Tell(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo(new string('h', 80_000), 1, "i", 1, 1)); // ≈ 80 KB
            target.Tell(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("canary", 4, "i", 1, 1));
            Assert.Equal(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("canary", 4, "i", 1, 1), Next(q));
            Assert.Empty(q);
            var error = NextMatching<Error>(errors, e => $"{e} {e.Cause}".Contains("oversized"), "oversized-payload error");
            var text = $"{error} {error.Cause}";
            Assert.Contains(nameof(ActorTrainer.Runtime.Clustering.WorkerNodeInfo), text);
            Assert.Contains("64000 bytes", text);
        }
        finally { Shutdown(a, b); }
    }
}
