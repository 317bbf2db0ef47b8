using ActorTrainer.Runtime.DataPlane;

namespace ActorTrainer.Runtime.Clustering;

/// <summary>Cluster options of a coordinator (config keys cluster.*): gradient workers on the cluster's `worker`
/// nodes, found through Akka.Cluster membership, compute shards over the data plane (DataPlane: TLS, limits; its
/// IoTimeout is the per-step deadline after which a silent node's shard is handed to another worker). Training starts
/// once MinWorkers workers (remote, plus local ones when LocalWorkers) are up, and fails when that has not happened
/// within WaitForWorkers, or when every worker has been lost for that long. ProbeInterval: how often known worker
/// nodes are asked to describe themselves (finds nodes that came back). Compress (cluster.data-plane.compress): "on" —
/// tensors travel as lossless block-sparse codes (<see cref="DataPlane.BlockSparse"/>), "off" — as they are, "auto" —
/// coded to nodes on other hosts, plain to nodes on this one (where the codes' extra passes over memory cost more
/// than the bytes they save). BusyRetryMax (cluster.busy-retry-max): a node that answers "busy" (its one device serves
/// another coordinator, <see cref="NodeProtocol.ErrorBusy"/>) is asked again after ProbeInterval, then after twice as
/// long each time it is still busy, up to this. PsNodes (cluster.ps-nodes): 0 — the parameter-server slices run in the
/// coordinator; N — they run on N `ps` nodes (contiguous groups of slices, <see cref="SliceHostLink"/>), and worker nodes
/// pull the weights from and push the gradients to them directly; training starts once all N took their slices.</summary>
/// <param name="DataPlane">Limits and TLS of the connections to worker nodes; its IoTimeout is the per-step deadline of a node's shard.</param>
/// <param name="MinWorkers">Workers (remote, plus local ones when LocalWorkers) that must be up before training starts (default 1).</param>
/// <param name="LocalWorkers">Also run gradient workers in this process (default false).</param>
/// <param name="WaitForWorkers">How long to wait for MinWorkers, or with every worker lost, before failing (null = 60 s).</param>
/// <param name="ProbeInterval">How often known worker nodes are asked to describe themselves (null = 1 s).</param>
/// <param name="Compress">Block-sparse coding of tensors: "on", "off" or "auto" (default: coded to other hosts only).</param>
/// <param name="BusyRetryMax">Longest wait between asks of a node that answered busy, doubling from ProbeInterval (null = 30 s).</param>
/// <param name="PsNodes">Parameter-server nodes hosting the slices (cluster.ps-nodes; 0 = slices run in the coordinator).</param>
public sealed record RemoteWorkers(DataPlaneOptions DataPlane, int MinWorkers = 1, bool LocalWorkers = false,
    TimeSpan? WaitForWorkers = null, TimeSpan? ProbeInterval = null, string Compress = "auto", TimeSpan? BusyRetryMax = null,
    int PsNodes = 0)
{
    /// <summary>The values of Compress.</summary>
    public static readonly string[] CompressModes = ["auto", "on", "off"];

    /// <summary>Whether the tensors to and from a node at `host` travel block-sparse.</summary>
    public bool CodesFor(string host) => Compress switch
    {
        "on" => true,
        "off" => false,
        _ => !LocalHost.Is(host),
    };

    /// <summary>The role of worker nodes.</summary>
    public const string WorkerRole = "worker";

    /// <summary>The role of parameter-server nodes (they host slices, <see cref="SliceHost"/>).</summary>
    public const string PsRole = "ps";

    /// <summary>Most ps nodes a run may use (each hosts at least one slice).</summary>
    public const int MaxPsNodes = 1024;

    /// <summary>WaitForWorkers, 60 s when unset.</summary>
    public TimeSpan EffectiveWait => WaitForWorkers ?? TimeSpan.FromSeconds(60);

    /// <summary>ProbeInterval, 1 s when unset.</summary>
    public TimeSpan EffectiveProbeInterval => ProbeInterval ?? TimeSpan.FromSeconds(1);

    /// <summary>BusyRetryMax, 30 s when unset (never below the probe interval).</summary>
    public TimeSpan EffectiveBusyRetryMax
    {
        get
        {
            var max = BusyRetryMax ?? TimeSpan.FromSeconds(30);
            return max < EffectiveProbeInterval ? EffectiveProbeInterval : max;
        }
    }

    /// <summary>How long to wait before asking a node again that answered busy `times` times in a row (>= 1):
    /// EffectiveProbeInterval × 2^(times − 1), at most EffectiveBusyRetryMax.</summary>
    public TimeSpan BusyRetryDelay(int times)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(times, 1);
        double ticks = EffectiveProbeInterval.Ticks * Math.Pow(2, Math.Min(times - 1, 40));
        return ticks >= EffectiveBusyRetryMax.Ticks ? EffectiveBusyRetryMax : TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>Throws ArgumentException naming the config key of the first invalid option.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(DataPlane, nameof(DataPlane));
        if (PsNodes < 0 || PsNodes > MaxPsNodes) throw new ArgumentException($"cluster.ps-nodes must be in 0..{MaxPsNodes} (0 = slices in the coordinator), got {PsNodes}", nameof(PsNodes));
        if (MinWorkers < 1) throw new ArgumentException($"cluster.min-workers must be >= 1, got {MinWorkers}", nameof(MinWorkers));
        if (WaitForWorkers is { } w && w <= TimeSpan.Zero) throw new ArgumentException($"cluster.wait-for-workers must be > 0, got {w}", nameof(WaitForWorkers));
        if (ProbeInterval is { } p && p <= TimeSpan.Zero) throw new ArgumentException($"cluster.probe-interval must be > 0, got {p}", nameof(ProbeInterval));
        if (BusyRetryMax is { } b && b <= TimeSpan.Zero) throw new ArgumentException($"cluster.busy-retry-max must be > 0, got {b}", nameof(BusyRetryMax));
        if (DataPlane.IoTimeout is { } t && t <= TimeSpan.Zero) throw new ArgumentException($"cluster.step-deadline must be > 0, got {t}", nameof(DataPlane));
        if (!CompressModes.Contains(Compress))
            throw new ArgumentException($"cluster.data-plane.compress must be one of {string.Join(", ", CompressModes)}, got '{Compress}'", nameof(Compress));
    }
}
