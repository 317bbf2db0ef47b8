using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;

namespace ActorTrainer.Runtime.Remoting;

/// <summary>Certificate validation for Akka.Remote's TLS (a <see cref="CertificateValidationCallback"/> given to
/// <c>DotNettySslSetup</c>): a peer's certificate is accepted only if it chains to one private CA. Akka.Remote 1.5.74
/// calls the validator on both ends of a connection: on the client for the server's certificate, and, with
/// <c>require-mutual-authentication</c>, on the server for the client's (DotNettyTransport.SetClientPipeline /
/// SetServerPipeline).</summary>
public static class TrustedCaValidator
{
    /// <summary>A validator that accepts a certificate iff it builds a chain ending at `ca` (custom root trust: the
    /// operating system's roots do not count; any intermediates the peer sent are used) and, with `revocation`, no
    /// certificate of the chain that `ca` issued is on the CA's revocation list. With `requireHostname` the outbound
    /// server certificate must also match the host name it was reached at.
    /// A rejection is logged once per peer host and reason per `repeatInterval` (default
    /// <see cref="ClusterNode.RepeatInterval"/>; a peer retries its handshake every cluster.join-retry, each time from
    /// another port), the rejections meanwhile counted into the next line about it (<see cref="Clustering.RefusalLog"/>).</summary>
    public static CertificateValidationCallback Create(X509Certificate2 ca, bool requireHostname = false, RevocationSource? revocation = null,
        TimeSpan? repeatInterval = null, Func<DateTime>? clock = null)
    {
        ArgumentNullException.ThrowIfNull(ca);
        var refusals = new Clustering.RefusalLog(_ => { }, repeatInterval ?? ClusterNode.RepeatInterval, clock);
        void Reject(ILoggingAdapter log, string peer, string reason)
        {
            string host = Clustering.RefusalLog.Host(peer ?? "");
            if (refusals.Admit(host, reason, out int quiet))
                log.Error("TLS: {0}{1}", string.Format(System.Globalization.CultureInfo.InvariantCulture, reason, peer), Clustering.RefusalLog.Suffix(quiet, host));
        }
        return (cert, chain, peer, errors, log) =>
        {
            if (cert is null)
            {
                Reject(log, peer, "{0} presented no certificate; rejected");
                return false;
            }
            if (requireHostname && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            {
                Reject(log, peer, $"certificate {Escape(cert.Subject)} of {{0}} does not name the host it was reached at; rejected");
                return false;
            }
            // the peer checks this node's certificate too: say here why it will refuse it (TLS tells this side nothing)
            if (revocation?.OwnRevocation() is { } own) log.Error("TLS: {0}", own);   // one line: repeats are filtered
            string? problem = ChainProblem(ca, cert, chain, revocation);
            if (problem is null) return true;
            Reject(log, peer, $"certificate {Escape(cert.Subject)} of {{0}} {Escape(problem)}; rejected");
            return false;
        };
    }

    private static string Escape(string s) => s.Replace("{", "{{", StringComparison.Ordinal).Replace("}", "}}", StringComparison.Ordinal);

    /// <summary>The CA certificate in the PEM or DER file at `path` (the one loader of the cluster's CA: remoting, the
    /// data plane, the config check); ArgumentException naming the file when it cannot be read.</summary>
    public static X509Certificate2 LoadCa(string path)
    {
        try
        {
            var bytes = File.ReadAllBytes(path);
            var text = System.Text.Encoding.ASCII.GetString(bytes);
            return text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal)
                ? X509Certificate2.CreateFromPem(text)
                : X509CertificateLoader.LoadCertificate(bytes);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"cannot load the trusted CA certificate '{path}' (PEM or DER): {e.Message}", e);
        }
    }

    /// <summary>Null when `cert` chains to `ca` and (with `revocation`) nothing in the chain is revoked; otherwise why not,
    /// as a predicate of the certificate ("does not chain to the trusted CA '…' (…)", "is revoked by …"). The revocation
    /// list is the CA's own file: the operating system's revocation checks stay off.</summary>
    public static string? ChainProblem(X509Certificate2 ca, X509Certificate2 cert, X509Chain? presented = null, RevocationSource? revocation = null) =>
        ChainProblemWith(ca, cert, presented?.ChainElements.Select(e => e.Certificate), revocation);

    /// <summary>The same for a certificate with the intermediates `extra` (e.g. the other certificates of the node's own
    /// PKCS#12 file: checked at start, since every peer would refuse a certificate this check refuses).</summary>
    public static string? ChainProblemWith(X509Certificate2 ca, X509Certificate2 cert, IEnumerable<X509Certificate2>? extra, RevocationSource? revocation)
    {
        ArgumentNullException.ThrowIfNull(ca);
        ArgumentNullException.ThrowIfNull(cert);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        foreach (var c in extra ?? [])
            if (c.Thumbprint != cert.Thumbprint) chain.ChainPolicy.ExtraStore.Add(c);
        if (!chain.Build(cert))
            return $"does not chain to the trusted CA '{ca.Subject}' (" +
                   string.Join("; ", chain.ChainStatus.Select(s => $"{s.Status}: {s.StatusInformation.Trim()}")) + ")";
        var root = chain.ChainElements[^1].Certificate;
        if (!root.RawDataMemory.Span.SequenceEqual(ca.RawDataMemory.Span))
            return $"does not chain to the trusted CA '{ca.Subject}' (its chain ends at '{root.Subject}')";
        return revocation?.RevokedIn(chain);
    }
}
