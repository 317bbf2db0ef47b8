using Akka.Configuration;

namespace ActorTrainer.Runtime.Remoting;

/// <summary>Settings of a node of a training cluster (Akka.Cluster over Akka.Remote's DotNetty TCP transport). Each
/// property maps to the config key <c>cluster.&lt;kebab-case name&gt;</c> (<see cref="Validate"/> names keys that
/// way). Akka carries membership and small control messages only; bulk tensors travel over the trainer's own data
/// plane. <see cref="ToConfig"/> renders the HOCON, <see cref="ClusterNode.Create"/> starts a node.</summary>
public sealed record ClusterSettings
{
    /// <summary>Default <see cref="MaximumFrameSize"/>: 4 MiB. Control messages are a few hundred bytes; the cap
    /// leaves room for a small model's weights (about a million floats) while bounding what one frame from a peer
    /// can make the receiver allocate. Akka's own default is 128000 bytes, its minimum 32000.</summary>
    public const int DefaultMaximumFrameSize = 4 * 1024 * 1024;

    /// <summary>Key <c>cluster.system-name</c>: the actor system's name; every node and seed address must use it.</summary>
    public string SystemName { get; init; } = "actor-trainer";

    /// <summary>Key <c>cluster.roles</c>: this node's roles, e.g. <c>coordinator</c> or <c>worker</c>.</summary>
    public string[] Roles { get; init; } = [];

    /// <summary>Key <c>cluster.hostname</c>: the address remoting binds to; loopback unless configured.</summary>
    public string Hostname { get; init; } = "127.0.0.1";

    /// <summary>Key <c>cluster.port</c>: the TCP port remoting binds to; 0 = an ephemeral port (read the bound one
    /// from <c>Cluster.Get(system).SelfAddress</c>).</summary>
    public int Port { get; init; }

    /// <summary>Key <c>cluster.public-hostname</c>: the host name other nodes use to reach this one (behind NAT or
    /// when binding 0.0.0.0); null = <see cref="Hostname"/> (then Hostname must not be 0.0.0.0 or ::).</summary>
    public string? PublicHostname { get; init; }

    /// <summary>Key <c>cluster.seed-nodes</c>: addresses <c>akka.tcp://SystemName@host:port</c>
    /// (<c>akka.ssl.tcp://…</c> with <see cref="Tls"/>); the coordinator is the first. Empty = join later through
    /// <c>Cluster.Join</c>.</summary>
    public string[] SeedNodes { get; init; } = [];

    /// <summary>Key <c>cluster.maximum-frame-size</c>: the largest remoting frame in bytes (at least 32000). A larger
    /// outgoing message is not sent: Akka.Remote's EndpointWriter logs an Error naming the message type and its size;
    /// a larger incoming frame is discarded with an Error on the receiver.</summary>
    public int MaximumFrameSize { get; init; } = DefaultMaximumFrameSize;

    /// <summary>Key <c>cluster.heartbeat-interval</c>: how often the cluster failure detector sends heartbeats.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Key <c>cluster.acceptable-heartbeat-pause</c>: how long heartbeats may be missing before a node is
    /// marked unreachable: with 1 s / 3 s a dead node is unreachable within about four seconds.</summary>
    public TimeSpan AcceptableHeartbeatPause { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Key <c>cluster.join-retry</c>: how often a node that is not a member yet retries its seed nodes
    /// (Akka's <c>seed-node-timeout</c>), and how long a failed connection to a node blocks the next attempt (Akka's
    /// <c>retry-gate-closed-for</c>). Akka's 5 s for both kept worker nodes started before their coordinator waiting
    /// 5–10 s to join it.</summary>
    public TimeSpan JoinRetry { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Keys <c>cluster.split-brain.*</c>: the split-brain resolver (see <see cref="SplitBrainSettings"/>).</summary>
    public SplitBrainSettings SplitBrain { get; init; } = new();

    /// <summary>Key <c>cluster.stable-after</c>: how long membership must be stable before the split-brain resolver
    /// downs unreachable nodes (Akka's guideline for clusters under ten nodes: 7 s; its default is 20 s).</summary>
    public TimeSpan StableAfter { get; init; } = TimeSpan.FromSeconds(7);

    /// <summary>Keys <c>cluster.tls.*</c>: mutual TLS of the remoting connections; null = plain TCP.</summary>
    public RemotingTls? Tls { get; init; }

    /// <summary>The address scheme of this configuration: <c>akka.ssl.tcp</c> with TLS, otherwise <c>akka.tcp</c>.</summary>
    public string Protocol => Tls is null ? "akka.tcp" : "akka.ssl.tcp";

    /// <summary>Throws ArgumentException naming the first invalid key (<c>cluster.port</c>,
    /// <c>cluster.seed-nodes[1]</c>, <c>cluster.tls.certificate-path</c>, …).</summary>
    public void Validate() => ClusterSettingsValidation.Validate(this);

    /// <summary>The Akka configuration of this node: cluster provider, DotNetty TCP transport (with TLS when set), seed
    /// nodes, roles, failure detector, split-brain resolver, and <see cref="StrictSerialization"/>. Validates first.</summary>
    public Config ToConfig()
    {
        Validate();
        return ConfigurationFactory.ParseString(ClusterHocon.Render(this));
    }
}
