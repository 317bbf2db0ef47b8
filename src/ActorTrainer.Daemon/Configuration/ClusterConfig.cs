using System.Security.Cryptography.X509Certificates;
using ActorTrainer.Runtime.Clustering;
using ActorTrainer.Runtime.DataPlane;
using ActorTrainer.Runtime.Remoting;

namespace ActorTrainer.Daemon.Configuration;

/// <summary>The cluster.* and worker.* keys: this process as a member of a training cluster (Akka.Cluster for
/// membership, the data plane for tensors). `train` with cluster.enabled = on is the coordinator; `worker` is a worker
/// node; `ps` a parameter-server node. Every value is checked here, errors name the key. NodeHostsSlices: a worker node
/// that hosts parameter-server slices too (worker.hosts-slices; its roles are then `worker` and `ps`).</summary>
public sealed record ClusterConfig(bool Enabled, ClusterSettings Settings, DataPlaneOptions DataPlane, int DataPlanePort,
    RemoteWorkers Remote, int NodeWorkers, int NodeThreads, bool NodeHostsSlices = false)
{
    /// <summary>Reads the keys for a node with `role` (coordinator, worker or ps).</summary>
    public static ClusterConfig From(ConfigReader r, string role)
    {
        var tls = ReadTls(r);
        bool hostsSlices = role == RemoteWorkers.WorkerRole && r.Bool("worker.hosts-slices");
        var settings = new ClusterSettings
        {
            SystemName = r.String("cluster.system-name"),
            Roles = hostsSlices ? [role, RemoteWorkers.PsRole] : [role],
            Hostname = r.String("cluster.hostname"),
            Port = r.Int("cluster.port", 0, 65535),
            PublicHostname = Optional(r.String("cluster.public-hostname")),
            SeedNodes = StringList(r, "cluster.seed-nodes"),
            MaximumFrameSize = r.Int("cluster.maximum-frame-size", 32000),
            HeartbeatInterval = r.Duration("cluster.heartbeat-interval"),
            AcceptableHeartbeatPause = r.Duration("cluster.acceptable-heartbeat-pause"),
            StableAfter = r.Duration("cluster.stable-after"),
            JoinRetry = r.Duration("cluster.join-retry"),
            SplitBrain = new SplitBrainSettings(r.OneOf("cluster.split-brain.strategy", [.. SplitBrainSettings.Strategies]),
                r.Bool("cluster.split-brain.down-if-alone"), Optional(r.String("cluster.split-brain.role"))),
            Tls = tls,
        };
        try { settings.Validate(); }
        catch (ArgumentException e)
        {
            throw new ConfigException("config: " + (e.ParamName is { } p ? e.Message.Replace($" (Parameter '{p}')", "") : e.Message));
        }
        CheckOwnAddress(settings, role, r.Bool("cluster.enabled"));
        var dataPlane = new DataPlaneOptions(MaxFrameBytes: r.Int("cluster.data-plane.max-frame-mib", 1, 65536) * (1L << 20),
            IoTimeout: r.Duration("cluster.step-deadline"),
            Tls: tls is null ? null : new DataPlaneTls(tls.CertificatePath, tls.Password, tls.CaCertificatePath!, tls.RevocationListPath))
        {
            UnixSockets = r.Bool("cluster.data-plane.unix-sockets"),
            SharedMemory = r.Bool("cluster.data-plane.shared-memory"),
        };
        var remote = new RemoteWorkers(dataPlane, r.Int("cluster.min-workers", 1), r.Bool("cluster.local-workers"),
            r.Duration("cluster.wait-for-workers"), r.Duration("cluster.probe-interval"),
            r.OneOf("cluster.data-plane.compress", RemoteWorkers.CompressModes), r.Duration("cluster.busy-retry-max"),
            r.Int("cluster.ps-nodes", 0, RemoteWorkers.MaxPsNodes));
        return new ClusterConfig(r.Bool("cluster.enabled"), settings, dataPlane, r.Int("cluster.data-plane.port", 0, 65535), remote,
            ReadNodeWorkers(r), r.Int("worker.threads-per-worker", 0, 4096), hostsSlices);
    }

    /// <summary>Where this node's address must stand among the seed nodes: a coordinator with seed nodes is the first of
    /// them (same host and port, as Akka compares addresses by their text), a worker is none of them (a worker that
    /// seeds itself forms a cluster without a coordinator). Else a <see cref="ConfigException"/> naming the keys.</summary>
    private static void CheckOwnAddress(ClusterSettings s, string role, bool enabled)
    {
        if (s.SeedNodes.Length == 0) return;
        var host = s.PublicHostname ?? s.Hostname;
        var seeds = s.SeedNodes.Select(a => Akka.Actor.Address.Parse(a)).ToArray();
        if (role == SplitBrainSettings.CoordinatorRole && enabled && (seeds[0].Host != host || seeds[0].Port != s.Port))
            throw new ConfigException($"config: the coordinator's address {host}:{s.Port} (cluster.hostname or cluster.public-hostname, " +
                                      $"cluster.port) is not the first of cluster.seed-nodes ({s.SeedNodes[0]}); the workers join that address, " +
                                      "so list the coordinator first, with the same host text and port");
        if (role is RemoteWorkers.WorkerRole or RemoteWorkers.PsRole && s.Port != 0 && seeds.FirstOrDefault(a => a.Host == host && a.Port == s.Port) is { } self)
            throw new ConfigException($"config: this worker's own address {host}:{s.Port} (cluster.port) is in cluster.seed-nodes ({self}); " +
                                      "a worker would form a cluster of its own without a coordinator — give it cluster.port = 0 and the coordinator's address as its seed");
    }

    /// <summary>The host other nodes reach this one at (public-hostname, else hostname).</summary>
    public string AdvertisedHost => Settings.PublicHostname ?? Settings.Hostname;

    private static RemotingTls? ReadTls(ConfigReader r)
    {
        var cert = r.String("cluster.tls.certificate-path");
        if (cert.Length == 0) return null;
        var ca = r.String("cluster.tls.ca-certificate-path");
        if (ca.Length == 0)
            throw new ConfigException("config: cluster.tls.ca-certificate-path must name the CA certificate that signed every node's certificate when cluster.tls.certificate-path is set");
        var crl = Optional(r.String("cluster.tls.revocation-list"));
        foreach (var (key, path) in new[] { ("cluster.tls.certificate-path", cert), ("cluster.tls.ca-certificate-path", ca), ("cluster.tls.revocation-list", crl) })
            if (path is not null && !File.Exists(path)) throw new ConfigException($"config: {key}: file '{path}' does not exist");
        var tls = new RemotingTls(cert, Optional(r.String("cluster.tls.password")), ca, r.Bool("cluster.tls.validate-certificate-hostname"), crl);
        CheckCertificates(tls);
        return tls;
    }

    private static int ReadNodeWorkers(ConfigReader r)
    {
        var raw = r.String("worker.workers").Trim();
        if (raw.Equals("auto", StringComparison.OrdinalIgnoreCase)) return Environment.ProcessorCount;
        return IntegerValue.TryParse(raw, out int n) && n >= 1
            ? n : throw new ConfigException($"config: worker.workers must be 'auto' (one per core) or an integer >= 1, got '{raw}'");
    }

    private static string[] StringList(ConfigReader r, string path)
    {
        var v = r.Config.GetValue(path);
        // HOCON's []; "" is how config.conf files rendered before the twenty-fourth session wrote it
        if (ConfigLoader.IsEmptyList(v) || v is not null && !v.IsArray() && !v.IsObject() && string.IsNullOrEmpty(v.GetString())) return [];
        if (v is null || !v.IsArray()) throw new ConfigException($"config: {path} must be a list such as [\"akka.tcp://actor-trainer@127.0.0.1:4053\"], got '{v?.GetString()}'");
        return v.GetArray().Select(e => e.GetString()).ToArray();
    }

    /// <summary>At start, what the peers would check at every handshake: the CA loads, the revocation list (when set)
    /// is the CA's, correctly signed and current, and this node's own certificate loads with its key, chains to the CA,
    /// is within its validity period and is not revoked — otherwise every peer would refuse the node with nothing
    /// on this side but a failed handshake. ConfigException naming the key and the file.</summary>
    private static void CheckCertificates(RemotingTls tls)
    {
        X509Certificate2 ca;
        try { ca = TrustedCaValidator.LoadCa(tls.CaCertificatePath!); }
        catch (ArgumentException e) { throw new ConfigException($"config: cluster.tls.ca-certificate-path: {e.Message}"); }
        using (ca)
        {
            RevocationSource? revocation;
            try { revocation = tls.RevocationListPath is { } crl ? new RevocationSource(crl, ca) : null; }
            catch (ArgumentException e) { throw new ConfigException($"config: cluster.tls.revocation-list: {e.Message}"); }
            var own = LoadOwn(tls);
            try
            {
                var node = own.FirstOrDefault(c => c.HasPrivateKey)
                    ?? throw new ConfigException($"config: cluster.tls.certificate-path: '{tls.CertificatePath}' holds no certificate with its private key");
                if (TrustedCaValidator.ChainProblemWith(ca, node, own, revocation) is { } problem)
                    throw new ConfigException($"config: cluster.tls.certificate-path: this node's certificate {node.Subject} in '{tls.CertificatePath}' {problem}, so every peer would refuse it");
            }
            finally { foreach (var c in own) c.Dispose(); }
        }
    }

    /// <summary>The certificates of the node's PKCS#12 file (its own and any intermediates).</summary>
    private static X509Certificate2Collection LoadOwn(RemotingTls tls)
    {
        var flags = OperatingSystem.IsWindows() ? X509KeyStorageFlags.DefaultKeySet : X509KeyStorageFlags.EphemeralKeySet;
        try { return X509CertificateLoader.LoadPkcs12CollectionFromFile(tls.CertificatePath, tls.Password, flags); }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new ConfigException($"config: cluster.tls.certificate-path: cannot read '{tls.CertificatePath}' as PKCS#12 with cluster.tls.password: {e.Message}");
        }
    }

    private static string? Optional(string s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
