using System.Net;
using ActorTrainer.Runtime.Clustering;
using ActorTrainer.Runtime.DataPlane;
using Akka.Actor;
using Akka.Configuration;
using ActorTrainer.Runtime.Remoting;

namespace ActorTrainer.Runtime.Tests;

/// <summary>A coordinator and worker nodes as separate cluster members of this test process, on 127.0.0.1 (each node
/// its own ActorSystem, remoting and data-plane server): what `train` with cluster.* and `worker` start.</summary>
internal sealed class ClusterTestNodes : IDisposable
{
    private readonly List<(ActorSystem System, WorkerNodeServer Server)> _nodes = new();

    public ClusterTestNodes(RemotingTls? coordinatorTls = null)
    {
        Coordinator = Create("coordinator", coordinatorTls);
        Akka.Cluster.Cluster.Get(Coordinator).Join(Akka.Cluster.Cluster.Get(Coordinator).SelfAddress);
    }

    public ActorSystem Coordinator { get; }

    public List<string> Log { get; } = new();

    public IReadOnlyList<(ActorSystem System, WorkerNodeServer Server)> Nodes => _nodes;

    /// <summary>Starts a worker node offering `workers` workers of `threads` GEMM threads and joins it to the coordinator
    /// (syncRefusal: the node refuses sync jobs with this reason, as a GPU node does; compute: the node's shard computation,
    /// as a GPU node's, null = the CPU engine).</summary>
    public WorkerNodeServer AddNode(int workers, int threads = 1, DataPlaneOptions? options = null, RemotingTls? tls = null, string? syncRefusal = null,
        ShardComputeFactory? compute = null, bool hostsSlices = false)
    {
        var system = hostsSlices ? Create([RemoteWorkers.WorkerRole, RemoteWorkers.PsRole], tls) : Create(RemoteWorkers.WorkerRole, tls);
        options ??= new DataPlaneOptions();
        var server = new WorkerNodeServer(IPAddress.Loopback, 0, options, workers, threads, m => { lock (Log) Log.Add(m); },
            compute, syncRefusal, hostsSlices);
        var info = hostsSlices
            ? new WorkerNodeInfo("127.0.0.1", server.Endpoint.Port, Guid.NewGuid().ToString("N"), workers, threads, options.MaxFrameBytes, HostsSlices: true)
            : new WorkerNodeInfo("127.0.0.1", server.Endpoint.Port, Guid.NewGuid().ToString("N"), workers, threads);
        system.ActorOf(WorkerNodeActor.Props(info), WorkerNodeActor.Name);
        Akka.Cluster.Cluster.Get(system).Join(Akka.Cluster.Cluster.Get(Coordinator).SelfAddress);
        _nodes.Add((system, server));
        return server;
    }

    /// <summary>Starts a parameter-server node (role ps, no gradient workers; what `ps` starts) and joins it to the coordinator.</summary>
    public WorkerNodeServer AddPsNode(DataPlaneOptions? options = null)
    {
        var system = Create(RemoteWorkers.PsRole);
        options ??= new DataPlaneOptions();
        var server = new WorkerNodeServer(IPAddress.Loopback, 0, options, 0, 0, m => { lock (Log) Log.Add(m); }, hostsSlices: true);
        var info = new WorkerNodeInfo("127.0.0.1", server.Endpoint.Port, Guid.NewGuid().ToString("N"), 0, 0, options.MaxFrameBytes, HostsSlices: true);
        system.ActorOf(WorkerNodeActor.Props(info), WorkerNodeActor.Name);
        Akka.Cluster.Cluster.Get(system).Join(Akka.Cluster.Cluster.Get(Coordinator).SelfAddress);
        _nodes.Add((system, server));
        return server;
    }

    /// <summary>A node as `train` / `worker` start it: ClusterSettings (strict serialization, loopback, ephemeral port).</summary>
    private static ActorSystem Create(string role, RemotingTls? tls = null) => Create([role], tls);

    private static ActorSystem Create(string[] roles, RemotingTls? tls) =>
        ClusterNode.Create(new ClusterSettings { Roles = roles, Tls = tls },
            ConfigurationFactory.ParseString("akka.loglevel = WARNING").WithFallback(ActorTrainingRunner.RuntimeDefaults));

    public void Dispose()
    {
        foreach (var (system, server) in _nodes)
        {
            server.Dispose();
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
        }
        Coordinator.Terminate().Wait(TimeSpan.FromSeconds(10));
    }
}
