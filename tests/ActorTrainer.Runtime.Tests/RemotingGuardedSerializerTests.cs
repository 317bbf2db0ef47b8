using System.Runtime.Serialization;
using ActorTrainer.Runtime.Remoting;
using Akka.Actor;
using Akka.Dispatch.SysMsg;
using Akka.Util;
using static ActorTrainer.Runtime.Tests.RemotingFixtures;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Akka's internal messages that carry a peer-chosen exception type are refused; the rest keep working.</summary>
public class RemotingGuardedSerializerTests
{
    [Fact]
    public void A_remote_status_failure_is_refused_and_the_link_stays_up()
    {
        ActorSystem? strict = null, peer = null;
        try
        {
            strict = ClusterNode.Create(new ClusterSettings(), Quiet);
            peer = DefaultNode();
            var failure = new Status.Failure(new InvalidOperationException("boom"));
            var misc = peer.Serialization.FindSerializerFor(failure);
            Assert.Equal(GuardedMiscMessageSerializer.Id, misc.Identifier);
            var bytes = misc.ToBinary(failure);
            var manifest = Akka.Serialization.Serialization.ManifestFor(misc, failure);
            Assert.IsType<Status.Failure>(peer.Serialization.Deserialize(bytes, misc.Identifier, manifest)); // control
            Assert.Throws<SerializationException>(() => strict.Serialization.Deserialize(bytes, misc.Identifier, manifest));

            var q = Target(strict);
            var target = Select(peer, AddressOf(strict));
            target.Tell(failure);
            target.Tell(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("canary", 21, "i", 1, 1));
            Assert.Equal(new ActorTrainer.Runtime.Clustering.WorkerNodeInfo("canary", 21, "i", 1, 1), Next(q));
            Assert.Empty(q);
        }
        finally { Shutdown(strict, peer); }
    }

    [Fact]
    public void A_system_message_carrying_an_exception_is_refused()
    {
        ActorSystem? strict = null, peer = null;
        try
        {
            strict = ClusterNode.Create(new ClusterSettings(), Quiet);
            peer = DefaultNode();
            var child = peer.ActorOf(Props.Empty, "child");
            var failed = new Failed(child, new InvalidOperationException("boom"), 42);
            var sys = peer.Serialization.FindSerializerFor(failed);
            Assert.Equal(GuardedSystemMessageSerializer.Id, sys.Identifier);
            var bytes = sys.ToBinary(failed);
            var manifest = typeof(Failed).TypeQualifiedName();
            Assert.IsType<Failed>(peer.Serialization.Deserialize(bytes, sys.Identifier, manifest)); // control
            var ex = Assert.Throws<SerializationException>(() => strict.Serialization.Deserialize(bytes, sys.Identifier, manifest));
            Assert.Contains("Failed", ex.Message);
        }
        finally { Shutdown(strict, peer); }
    }

    [Fact]
    public async Task Remote_death_watch_still_works_between_strict_nodes()
    {
        ActorSystem? a = null, b = null;
        try
        {
            a = ClusterNode.Create(new ClusterSettings(), Quiet);
            b = ClusterNode.Create(new ClusterSettings(), Quiet);
            Target(b, "watched");
            var watched = await Select(a, AddressOf(b), "watched").ResolveOne(Wait);
            var q = new System.Collections.Concurrent.BlockingCollection<object>();
            a.ActorOf(Props.Create(() => new RemotingWatcher(watched, q)));
            // The watch is a system message sent to b; a stop request round-trips only after it.
            await watched.GracefulStop(Wait);
            var terminated = Assert.IsType<Terminated>(Next(q));
            Assert.Equal(watched.Path, terminated.ActorRef.Path);
        }
        finally { Shutdown(a, b); }
    }
}
