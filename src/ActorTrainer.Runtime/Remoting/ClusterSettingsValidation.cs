using System.Net;
using Akka.Actor;

namespace ActorTrainer.Runtime.Remoting;

/// <summary><see cref="ClusterSettings.Validate"/>: each check throws ArgumentException whose message starts with the
/// config key (<c>cluster.…</c>) of the offending value.</summary>
internal static class ClusterSettingsValidation
{
    /// <summary>Akka.Remote's minimum of <c>maximum-frame-size</c> (DotNettyTransportSettings.Validate).</summary>
    public const int MinimumFrameSize = 32000;

    public static void Validate(ClusterSettings s)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (string.IsNullOrWhiteSpace(s.SystemName) || !ActorPath.IsValidPathElement(s.SystemName) || s.SystemName.Contains('/'))
            Fail("cluster.system-name", $"'{s.SystemName}' is not a valid actor system name");
        ValidateNames(s.Roles, "cluster.roles");
        ValidateHost(s.Hostname, "cluster.hostname");
        if (s.PublicHostname is not null) ValidateHost(s.PublicHostname, "cluster.public-hostname");
        if (s.PublicHostname is null && IPAddress.TryParse(s.Hostname, out var bound) && (bound.Equals(IPAddress.Any) || bound.Equals(IPAddress.IPv6Any)))
            Fail("cluster.public-hostname", $"required when cluster.hostname binds all interfaces ({s.Hostname}): peers cannot reach that address");
        if (s.Port is < 0 or > 65535) Fail("cluster.port", $"{s.Port} is not a TCP port (0 = ephemeral, 1-65535)");
        ValidateSeedNodes(s);
        if (s.MaximumFrameSize < MinimumFrameSize)
            Fail("cluster.maximum-frame-size", $"{s.MaximumFrameSize} bytes is below Akka's minimum of {MinimumFrameSize}");
        Positive(s.HeartbeatInterval, "cluster.heartbeat-interval");
        Positive(s.AcceptableHeartbeatPause, "cluster.acceptable-heartbeat-pause");
        Positive(s.StableAfter, "cluster.stable-after");
        Positive(s.JoinRetry, "cluster.join-retry");
        ValidateSplitBrain(s.SplitBrain);
        if (s.Tls is { } tls) ValidateTls(tls);
    }

    private static void ValidateNames(string[]? names, string key)
    {
        if (names is null) Fail(key, "must not be null");
        for (int i = 0; i < names!.Length; i++)
            if (string.IsNullOrWhiteSpace(names[i]) || names[i].Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '"' or ','))
                Fail($"{key}[{i}]", $"'{names[i]}' is not a valid name");
    }

    private static void ValidateHost(string? host, string key)
    {
        if (string.IsNullOrWhiteSpace(host)) Fail(key, "must be a host name or IP address");
        if (!IPAddress.TryParse(host, out _) && Uri.CheckHostName(host) != UriHostNameType.Dns)
            Fail(key, $"'{host}' is not a host name or IP address");
    }

    private static void ValidateSeedNodes(ClusterSettings s)
    {
        if (s.SeedNodes is null) Fail("cluster.seed-nodes", "must not be null");
        for (int i = 0; i < s.SeedNodes!.Length; i++)
        {
            string key = $"cluster.seed-nodes[{i}]";
            if (!Address.TryParse(s.SeedNodes[i] ?? "", out var a) || a.Host is null || a.Port is null)
                Fail(key, $"'{s.SeedNodes[i]}' is not an address {s.Protocol}://{s.SystemName}@host:port");
            if (a!.Protocol != s.Protocol) Fail(key, $"'{s.SeedNodes[i]}' must use the scheme {s.Protocol} (TLS {(s.Tls is null ? "off" : "on")})");
            if (a.System != s.SystemName) Fail(key, $"'{s.SeedNodes[i]}' names system '{a.System}', not '{s.SystemName}'");
            if (a.Port is <= 0 or > 65535) Fail(key, $"'{s.SeedNodes[i]}' has no valid port");
        }
    }

    private static void ValidateSplitBrain(SplitBrainSettings? sbr)
    {
        if (sbr is null) Fail("cluster.split-brain", "must not be null");
        if (!SplitBrainSettings.Strategies.Contains(sbr!.Strategy))
            Fail("cluster.split-brain.strategy", $"'{sbr.Strategy}' is not one of {string.Join(", ", SplitBrainSettings.Strategies)}");
        if (sbr.Role is { Length: > 0 } role) ValidateNames([role], "cluster.split-brain.role");
    }

    private static void ValidateTls(RemotingTls tls)
    {
        if (string.IsNullOrWhiteSpace(tls.CertificatePath) || !File.Exists(tls.CertificatePath))
            Fail("cluster.tls.certificate-path", $"certificate file '{tls.CertificatePath}' does not exist");
        if (tls.CaCertificatePath is not null && !File.Exists(tls.CaCertificatePath))
            Fail("cluster.tls.ca-certificate-path", $"CA certificate file '{tls.CaCertificatePath}' does not exist");
        if (tls.RevocationListPath is not null && tls.CaCertificatePath is null)
            Fail("cluster.tls.revocation-list", "needs cluster.tls.ca-certificate-path (the list must be that CA's)");
        if (tls.RevocationListPath is not null && !File.Exists(tls.RevocationListPath))
            Fail("cluster.tls.revocation-list", $"revocation list file '{tls.RevocationListPath}' does not exist");
    }

    private static void Positive(TimeSpan t, string key)
    {
        if (t <= TimeSpan.Zero || t.TotalMilliseconds < 1) Fail(key, $"{t} must be at least 1 ms");
    }

    private static void Fail(string key, string problem) => throw new ArgumentException($"{key}: {problem}", key);
}
