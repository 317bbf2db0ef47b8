using ActorTrainer.Runtime.Remoting;

namespace ActorTrainer.Runtime.Tests;

public class RemotingSettingsTests
{
    [Fact]
    public void Defaults_render_a_loopback_cluster_node_with_strict_serialization()
    {
        var s = new ClusterSettings
        {
            Roles = ["coordinator"], SeedNodes = ["akka.tcp://actor-trainer@10.0.0.1:4053"], Port = 4053,
            PublicHostname = "node-1.example",
        };
        var c = s.ToConfig();
        Assert.Equal("cluster", c.GetString("akka.actor.provider"));
        Assert.Equal("127.0.0.1", c.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal(4053, c.GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal("node-1.example", c.GetString("akka.remote.dot-netty.tcp.public-hostname"));
        Assert.Equal(4L * 1024 * 1024, c.GetByteSize("akka.remote.dot-netty.tcp.maximum-frame-size"));
        Assert.False(c.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"));
        Assert.False(c.GetBoolean("akka.remote.log-remote-lifecycle-events"));
        Assert.Equal(["akka.tcp://actor-trainer@10.0.0.1:4053"], c.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal(["coordinator"], c.GetStringList("akka.cluster.roles"));
        Assert.Equal(TimeSpan.FromSeconds(1), c.GetTimeSpan("akka.cluster.failure-detector.heartbeat-interval"));
        Assert.Equal(TimeSpan.FromSeconds(3), c.GetTimeSpan("akka.cluster.failure-detector.acceptable-heartbeat-pause"));
        Assert.Equal("Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster", c.GetString("akka.cluster.downing-provider-class"));
        Assert.Equal("keep-oldest", c.GetString("akka.cluster.split-brain-resolver.active-strategy"));
        Assert.Equal(TimeSpan.FromSeconds(7), c.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal(TimeSpan.FromSeconds(1), c.GetTimeSpan("akka.cluster.seed-node-timeout"));
        Assert.Equal(TimeSpan.FromSeconds(1), c.GetTimeSpan("akka.remote.retry-gate-closed-for"));
        Assert.False(c.GetBoolean("akka.cluster.split-brain-resolver.keep-oldest.down-if-alone"));
        Assert.Equal("coordinator", c.GetString("akka.cluster.split-brain-resolver.keep-oldest.role"));
        Assert.False(c.GetBoolean("akka.actor.serialization-settings.allow-unregistered-types"));
        Assert.StartsWith("ActorTrainer.Runtime.Remoting.RefusedJsonSerializer,", c.GetString("akka.actor.serializers.json"));
        Assert.StartsWith("ActorTrainer.Runtime.Remoting.RefusedProtobufSerializer,", c.GetString("akka.actor.serializers.proto"));
        Assert.StartsWith("ActorTrainer.Runtime.Remoting.RefusedRemoteDeploymentSerializer,", c.GetString("akka.actor.serializers.daemon-create"));
    }

    [Fact]
    public void Strings_are_quoted_so_they_cannot_inject_hocon()
    {
        var pfx = Path.GetTempFileName();
        try
        {
            const string password = "p\"w\\\n } akka.actor.provider = local #";
            var c = new ClusterSettings { Tls = new RemotingTls(pfx, password) }.ToConfig();
            Assert.Equal(password, c.GetString("akka.remote.dot-netty.tcp.ssl.certificate.password"));
            Assert.Equal("cluster", c.GetString("akka.actor.provider"));
        }
        finally { File.Delete(pfx); }
    }

    public static TheoryData<string, Func<ClusterSettings, ClusterSettings>> Invalid => new()
    {
        { "cluster.port", s => s with { Port = 70000 } },
        { "cluster.port", s => s with { Port = -1 } },
        { "cluster.system-name", s => s with { SystemName = "bad name/x" } },
        { "cluster.hostname", s => s with { Hostname = "" } },
        { "cluster.public-hostname", s => s with { PublicHostname = "not a host" } },
        { "cluster.public-hostname", s => s with { Hostname = "0.0.0.0" } },
        { "cluster.roles[1]", s => s with { Roles = ["worker", ""] } },
        { "cluster.seed-nodes[1]", s => s with { SeedNodes = ["akka.tcp://actor-trainer@h:1", "nonsense"] } },
        { "cluster.seed-nodes[0]", s => s with { SeedNodes = ["akka.tcp://other@h:1"] } },
        { "cluster.seed-nodes[0]", s => s with { SeedNodes = ["akka.ssl.tcp://actor-trainer@h:1"] } },
        { "cluster.maximum-frame-size", s => s with { MaximumFrameSize = 1000 } },
        { "cluster.heartbeat-interval", s => s with { HeartbeatInterval = TimeSpan.Zero } },
        { "cluster.acceptable-heartbeat-pause", s => s with { AcceptableHeartbeatPause = TimeSpan.FromSeconds(-1) } },
        { "cluster.stable-after", s => s with { StableAfter = TimeSpan.Zero } },
        { "cluster.join-retry", s => s with { JoinRetry = TimeSpan.Zero } },
        { "cluster.split-brain.strategy", s => s with { SplitBrain = new SplitBrainSettings("static-quorum") } },
        { "cluster.tls.certificate-path", s => s with { Tls = new RemotingTls("/nonexistent/node.pfx") } },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Validate_names_the_offending_key(string key, Func<ClusterSettings, ClusterSettings> change)
    {
        var s = change(new ClusterSettings());
        var ex = Assert.Throws<ArgumentException>(s.Validate);
        Assert.StartsWith(key + ":", ex.Message);
        Assert.Throws<ArgumentException>(() => s.ToConfig());
    }

    [Fact]
    public void A_missing_ca_file_is_named()
    {
        var pfx = Path.GetTempFileName();
        try
        {
            var s = new ClusterSettings { Tls = new RemotingTls(pfx, null, "/nonexistent/ca.cer") };
            Assert.StartsWith("cluster.tls.ca-certificate-path:", Assert.Throws<ArgumentException>(s.Validate).Message);
        }
        finally { File.Delete(pfx); }
    }
}
