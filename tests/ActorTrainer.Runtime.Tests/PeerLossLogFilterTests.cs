using System.Net.Sockets;
using ActorTrainer.Runtime.Remoting;
using Akka.Event;

namespace ActorTrainer.Runtime.Tests;

/// <summary>Akka.Remote's stack traces about a node that went away (killed worker node) are dropped; the same kinds of
/// event about a node that did not go away, and real errors, are kept.</summary>
public class PeerLossLogFilterTests
{
    private const string Lost = "akka.tcp://actor-trainer@127.0.0.1:40111";
    private const string Source = "akka.tcp://actor-trainer@127.0.0.1:4053/system/endpointManager/reliableEndpointWriter-1";

    private static readonly Type AkkaClass = typeof(global::Akka.Remote.RemoteTransport);   // events of Akka's own classes

    private static bool Kept(PeerLossLogFilter f, LogEvent e) => f.ShouldKeepMessage(e) == LogFilterDecision.Keep;

    private static Warning Warn(string text) => new(Source, AkkaClass, text);

    [Fact]
    public void A_killed_nodes_disassociation_reset_and_refused_reconnects_are_dropped()
    {
        var f = new PeerLossLogFilter();
        Assert.False(Kept(f, Warn($"Association with remote system {Lost} has failed; address is now gated for 1000 ms. Reason is: [Akka.Remote.EndpointDisassociatedException: Disassociated\n   at Akka.Remote.EndpointWriter.PublishAndThrow(Exception reason, LogLevel level, Boolean needToThrow)]")));
        Assert.False(Kept(f, new Error(new SocketException((int)SocketError.ConnectionReset), Source, AkkaClass,
            $"Error caught channel [[::ffff:127.0.0.1]:4053->[::ffff:127.0.0.1]:40111](Id=abc)")));
        // the node is gone now: Akka's retries to reach it fail with "connection refused" until it is back
        string refused = $"Tried to associate with unreachable remote address [{Lost}]. Address is now gated for 1000 ms, all messages to this address will be delivered to dead letters. Reason: [Association failed with {Lost}] Caused by: [System.AggregateException: One or more errors occurred. (Connection refused 127.0.0.1:40111)\n   at Akka.Remote.Transport.DotNetty.TcpTransport.AssociateInternal()]";
        Assert.False(Kept(f, Warn(refused)));
        Assert.False(Kept(f, new Error(new AggregateException(new SocketException((int)SocketError.ConnectionRefused)), Source, AkkaClass,
            $"AssociationError [akka.tcp://actor-trainer@127.0.0.1:4053] -> {Lost}: Error [Association failed with {Lost}] []")));
        f.Back(Lost);   // it rejoined at the same address: its failures count again
        Assert.True(Kept(f, Warn(refused)));
    }

    [Fact]
    public void Refused_associations_of_a_node_never_lost_and_real_errors_are_kept()
    {
        var f = new PeerLossLogFilter();
        // a worker node waiting for its coordinator (README: shown once per 30 s by the RepeatedLogFilter)
        Assert.True(Kept(f, Warn("Tried to associate with unreachable remote address [akka.tcp://actor-trainer@127.0.0.1:4053]. Address is now gated for 1000 ms, all messages to this address will be delivered to dead letters. Reason: [Association failed with akka.tcp://actor-trainer@127.0.0.1:4053] Caused by: [Connection refused]")));
        Assert.True(Kept(f, new Error(new InvalidOperationException("boom"), Source, AkkaClass, "Serialization failed for message [X]")));
        Assert.True(Kept(f, new Error(new SocketException((int)SocketError.AddressAlreadyInUse), Source, AkkaClass, "bind failed")));
        Assert.True(Kept(f, Warn($"Association to [{Lost}] having UID [1] is irrecoverably failed. UID is now quarantined")));
        Assert.True(Kept(f, new Debug(Source, AkkaClass, "Disassociated")));
        // the trainer's own line about the lost node quotes its socket error: kept
        Assert.True(Kept(f, new Warning(Source, typeof(GradientWorker), "worker 0 (node 127.0.0.1:40111) lost: Connection reset by peer; its shards go to the other gradient workers")));
        f.Gone(Lost);   // unreachable, as the cluster's failure detector says
        Assert.False(Kept(f, Warn($"Tried to associate with unreachable remote address [{Lost}]. Address is now gated for 1000 ms")));
        Assert.True(Kept(f, Warn($"Cluster Node [akka.tcp://actor-trainer@127.0.0.1:4053] - Marking node(s) as UNREACHABLE [Member(address = {Lost}, Status = Up)]")));
    }
}
